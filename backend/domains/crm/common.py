"""Small types shared by the CRM services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm.visibility import CrmActor
from backend.kit.clock import utcnow


@dataclass(frozen=True, slots=True)
class DuplicateWarning:
    """The record was created, but looks like one that exists (``existing_id`` is None if hidden from you)."""

    field: str
    reason: str
    existing_id: uuid.UUID | None


class Archivable(Protocol):
    id: uuid.UUID
    archived_at: datetime | None
    version: int


async def mark_archived(uow: UnitOfWork, actor: CrmActor, record: Archivable, record_type: str) -> None:
    """Archive once (idempotent): stamp, bump the version, audit. CRM records are never erased."""
    if record.archived_at is None:
        record.archived_at = utcnow()
        record.version += 1
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), record_type, record.id, "archive")
        await uow.flush()
