"""The "Marketing event" select of the account and deal forms (campaign attribution, ``marketing_event_id``).

It lists the tenant's events that can be chosen (not archived, by name) after an empty choice, and also the events
the form already holds (the record's current one, or the one the reader submitted) when they are archived: keeping
an archived event is allowed, so the form must be able to show it, marked as archived. The services decide what may
be saved (``backend/domains/crm/attribution.py``); an unknown id is refused next to the field.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from backend.domains.crm import marketing
from backend.domains.crm.marketing_models import MarketingEvent
from backend.domains.crm.visibility import CrmActor
from backend.kit.pagination import MAX_LIMIT
from web import i18n
from web.context import Page


def event_label(event: MarketingEvent) -> str:
    """The event's name, marked when it is archived."""
    if event.archived_at is None:
        return event.name
    return i18n.gettext("%(name)s (archived)") % {"name": event.name}


def _ids(values: tuple[uuid.UUID | str | None, ...]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for value in values:
        try:
            found.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value or "")))
        except ValueError:
            continue
    return found


async def event_options(pg: Page, actor: CrmActor, *held: uuid.UUID | str | None) -> list[tuple[str, str]]:
    """``(value, text)`` choices: none, the events that can be chosen, then those of ``held`` that cannot."""
    page = await marketing.list_events(pg.uow, actor, sort="name", limit=MAX_LIMIT)
    options = [("", i18n.gettext("No marketing event"))] + [(str(e.id), e.name) for e in page.items]
    listed = {value for value, _ in options}
    missing = {i for i in _ids(held) if str(i) not in listed}
    if missing:
        rows = await pg.uow.session.execute(
            select(MarketingEvent).where(MarketingEvent.id.in_(missing)).order_by(MarketingEvent.name))
        options += [(str(e.id), event_label(e)) for e in rows.scalars()]
    return options
