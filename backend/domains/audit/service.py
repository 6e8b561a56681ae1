"""Record and read the audit trail. Every domain calls ``record`` inside its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.audit.models import AuditEntry
from backend.kit.pagination import PageOf, clamp_limit, decode_cursor, encode_cursor

REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [from, to]} for every field whose value changed."""
    return {k: [_plain(before.get(k)), _plain(after.get(k))] for k in after if before.get(k) != after.get(k)}


async def record(uow: UnitOfWork, actor: Actor, record_type: str, record_id: object, action: str,
                 changes: dict[str, Any] | None = None) -> None:
    uow.session.add(AuditEntry(actor_user_id=actor.user_id, actor_api_key_id=actor.api_key_id,
                               record_type=record_type, record_id=str(record_id), action=action,
                               changes={k: _plain(v) for k, v in (changes or {}).items()}))


async def history(uow: UnitOfWork, record_type: str, record_id: str, *, cursor: str | None = None,
                  limit: int = 50) -> PageOf[AuditEntry]:
    """Newest first."""
    limit = clamp_limit(limit)
    query = select(AuditEntry).where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(AuditEntry.id < int(after[0]))
    rows = list((await uow.session.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return PageOf(rows, encode_cursor([rows[-1].id]) if more and rows else None)
