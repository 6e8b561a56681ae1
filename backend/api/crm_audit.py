"""/api/v1/t/{slug}/audit?record=type:id: a record's history, as visible as the record itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.domains.audit import service as audit
from backend.domains.crm import accounts, contacts, deals, interactions, legal_entities, tasks
from backend.kit.errors import FieldError, Invalid


class AuditOut(msgspec.Struct):
    id: int
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    action: str
    changes: dict[str, Any]


class AuditPage(msgspec.Struct):
    items: list[AuditOut]
    next_cursor: str | None


# record type → the service's reader, which raises 404 when the caller may not see the record
RECORD_READERS: dict[str, Any] = {
    "account": accounts.get,
    "legal_entity": legal_entities.get,
    "contact": contacts.get,
    "deal": deals.get,
    "interaction": interactions.get,
    "task": tasks.get,
}


class AuditController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/audit"
    tags = ["audit"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="A record's change history, newest first (record=account:<id>)")
    async def history(
        self, ctx: NamedDependency[TenantContext],
        record: FromQuery[str] = Parameter(max_length=100),
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=100),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> AuditPage:
        kind, _, raw_id = record.partition(":")
        reader = RECORD_READERS.get(kind)
        try:
            record_id = uuid.UUID(raw_id)
        except ValueError:
            reader = None
        if reader is None:
            raise Invalid("Unknown record.", [FieldError("record", "type:id, e.g. account:3f2b…")])
        await reader(ctx.uow, crm_actor(ctx), record_id)  # the history is as visible as the record (404 else)
        page = await audit.history(ctx.uow, kind, str(record_id), cursor=cursor, limit=limit)
        return AuditPage([AuditOut(e.id, e.occurred_at, e.actor_user_id, e.actor_api_key_id, e.action, e.changes)
                          for e in page.items], page.next_cursor)
