"""Campaign attribution of accounts and deals: ``marketing_event_id`` must name an existing, unarchived event."""

from __future__ import annotations

import uuid

from backend.db.uow import UnitOfWork
from backend.domains.crm.marketing_models import MarketingEvent
from backend.domains.crm.validate import Fields

FIELD = "marketing_event_id"


async def check_event(uow: UnitOfWork, check: Fields, event_id: uuid.UUID | None,
                      current: uuid.UUID | None = None) -> None:
    """Note on ``check`` why ``event_id`` cannot be chosen; keeping the current event is always fine."""
    if event_id is None or event_id == current:
        return
    event = await uow.session.get(MarketingEvent, event_id)
    if event is None:
        check.fail(FIELD, "no such marketing event")
    elif event.archived_at is not None:
        check.fail(FIELD, "the marketing event is archived")
