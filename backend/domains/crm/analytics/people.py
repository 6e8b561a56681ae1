"""Display names of the people (and API keys) that reports and the activity feed mention, never raw ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.identity.models import ApiKey, User


async def user_names(uow: UnitOfWork, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Full name, else e-mail, per user id (ids taken from this tenant's own records)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await uow.session.execute(select(User.id, User.full_name, User.email).where(User.id.in_(wanted)))
    return {r.id: (r.full_name or r.email) for r in rows}


async def api_key_names(uow: UnitOfWork, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The names of this tenant's API keys."""
    wanted = {i for i in ids if i is not None}
    if not wanted or uow.tenant_id is None:
        return {}
    rows = await uow.session.execute(select(ApiKey.id, ApiKey.name).where(
        ApiKey.id.in_(wanted), ApiKey.tenant_id == uuid.UUID(uow.tenant_id)))
    return {r.id: r.name for r in rows}
