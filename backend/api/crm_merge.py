"""POST /api/v1/t/{slug}/accounts/{id}/merge and /contacts/{id}/merge: fold a duplicate into this record."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from backend.api import crm_accounts, crm_contacts
from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, expected_version
from backend.api.idempotency import idempotent
from backend.domains.crm import merge


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    """``keep``: per field, whose value survives (``survivor`` or ``duplicate``); a field not named keeps the
    survivor's value unless it is empty. Tags (roles) are united; every related record moves to the survivor."""

    duplicate_id: uuid.UUID
    keep: dict[str, str] = msgspec.field(default_factory=dict)


class MergeController(Controller):
    path = "/api/v1/t/{tenant_slug:str}"
    tags = ["crm: merge"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @post("/accounts/{account_id:uuid}/merge", opt=CRM_ROUTE, status_code=200,
          summary="Merge a duplicate account into this one (If-Match on this one; the duplicate is archived)")
    async def accounts_(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                        account_id: FromPath[uuid.UUID],
                        data: JSONBody[MergeIn]) -> Response[crm_accounts.AccountOut]:
        async def produce() -> Response[crm_accounts.AccountOut]:
            survivor = await merge.merge_accounts(ctx.uow, crm_actor(ctx), account_id, data.duplicate_id, data.keep,
                                                  expected_version(request))
            return crm_accounts.with_etag(survivor)

        return await idempotent(request, ctx, produce)

    @post("/contacts/{contact_id:uuid}/merge", opt=CRM_ROUTE, status_code=200,
          summary="Merge a duplicate contact into this one (If-Match on this one; the duplicate is archived)")
    async def contacts_(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                        contact_id: FromPath[uuid.UUID],
                        data: JSONBody[MergeIn]) -> Response[crm_contacts.ContactOut]:
        async def produce() -> Response[crm_contacts.ContactOut]:
            survivor = await merge.merge_contacts(ctx.uow, crm_actor(ctx), contact_id, data.duplicate_id, data.keep,
                                                  expected_version(request))
            return crm_contacts.with_etag(survivor)

        return await idempotent(request, ctx, produce)
