"""GET /api/v1/t/{slug}/accounts.csv, contacts.csv, deals.csv: the list views as streamed CSV files."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter
from litestar.response import Stream

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.db.uow import UnitOfWork
from backend.domains.crm import export
from backend.domains.crm.visibility import CrmActor
from backend.kit.clock import utcnow
from tenants.registry import TenantRef
from tenants.scope import tenant_scope

CSV = "text/csv"  # Litestar adds "; charset=utf-8"


def scopes(tenant: TenantRef) -> Callable[[], AbstractAsyncContextManager[UnitOfWork]]:
    return lambda: tenant_scope(tenant)


async def csv_stream(uow: UnitOfWork, tenant: TenantRef, actor: CrmActor, entity: str,
                     filters: dict[str, Any]) -> Stream:
    """The export as a streamed attachment; the first page (and the audit row) belong to the request."""
    prepared = await export.prepare(uow, actor, entity, filters)
    name = f"{entity}-{utcnow():%Y%m%d-%H%M}.csv"
    return Stream(export.chunks(prepared, actor, scopes(tenant)), media_type=CSV,
                  headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


class ExportController(Controller):
    path = "/api/v1/t/{tenant_slug:str}"
    tags = ["crm: export"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/accounts.csv", opt=CRM_ROUTE, summary="Accounts as CSV: the list's filters and sort, UTF-8 with BOM")
    async def accounts_csv(
        self, ctx: NamedDependency[TenantContext],
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        status: FromQuery[str | None] = None,
        owner: FromQuery[uuid.UUID | None] = None,
        tag: FromQuery[str | None] = Parameter(default=None, max_length=40),
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "name",
    ) -> Stream:
        filters = {"q": q, "status": status, "owner_user_id": owner, "tag": tag, "include_archived": archived,
                   "sort": sort}
        return await csv_stream(ctx.uow, ctx.tenant, crm_actor(ctx), "accounts", filters)

    @get("/contacts.csv", opt=CRM_ROUTE, summary="Contacts as CSV: the list's filters and sort, UTF-8 with BOM")
    async def contacts_csv(
        self, ctx: NamedDependency[TenantContext],
        account_id: FromQuery[uuid.UUID | None] = None,
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        role: FromQuery[str | None] = Parameter(default=None, max_length=40),
        email_consent: FromQuery[bool | None] = None,
        sms_consent: FromQuery[bool | None] = None,
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "name",
    ) -> Stream:
        filters = {"account_id": account_id, "q": q, "role": role, "email_consent": email_consent,
                   "sms_consent": sms_consent, "include_archived": archived, "sort": sort}
        return await csv_stream(ctx.uow, ctx.tenant, crm_actor(ctx), "contacts", filters)

    @get("/deals.csv", opt=CRM_ROUTE, summary="Deals as CSV: the list's filters and sort, UTF-8 with BOM")
    async def deals_csv(
        self, ctx: NamedDependency[TenantContext],
        pipeline_id: FromQuery[uuid.UUID | None] = None,
        stage_id: FromQuery[uuid.UUID | None] = None,
        account_id: FromQuery[uuid.UUID | None] = None,
        owner: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[str | None] = None,
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "-created",
    ) -> Stream:
        filters = {"pipeline_id": pipeline_id, "stage_id": stage_id, "account_id": account_id, "owner_user_id": owner,
                   "status": status, "include_archived": archived, "sort": sort}
        return await csv_stream(ctx.uow, ctx.tenant, crm_actor(ctx), "deals", filters)
