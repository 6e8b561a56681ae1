"""/api/v1/t/{slug}/accounts: thin adapters over the accounts service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, etagged, expected_version, provided
from backend.api.crm_custom_fields import custom_filters
from backend.api.idempotency import idempotent
from backend.domains.crm import accounts
from backend.domains.crm.models import Account

UNSET = msgspec.UNSET
Text200 = Annotated[str, msgspec.Meta(max_length=200)]


class AccountIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Text200 | msgspec.UnsetType = UNSET
    kind: str | msgspec.UnsetType = UNSET
    status: str | msgspec.UnsetType = UNSET
    parent_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    owner_user_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    is_shared: bool | msgspec.UnsetType = UNSET
    tags: list[str] | msgspec.UnsetType = UNSET
    source_channel: str | msgspec.UnsetType | None = UNSET
    website: str | msgspec.UnsetType | None = UNSET
    notes: str | msgspec.UnsetType | None = UNSET
    marketing_event_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    custom: dict[str, Any] | msgspec.UnsetType | None = UNSET


class AccountOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    kind: str
    status: str
    parent_id: uuid.UUID | None
    owner_user_id: uuid.UUID | None
    is_shared: bool
    tags: list[str]
    source_channel: str | None
    website: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int
    marketing_event_id: uuid.UUID | None
    custom: dict[str, Any]
    merged_into_id: uuid.UUID | None = None  # set once merged into another account (which is the one to use)


class AccountPage(msgspec.Struct):
    items: list[AccountOut]
    next_cursor: str | None


def out(a: Account) -> AccountOut:
    return AccountOut(a.id, a.name, a.kind, a.status, a.parent_id, a.owner_user_id, a.is_shared, list(a.tags),
                      a.source_channel, a.website, a.notes, a.created_at, a.updated_at, a.archived_at, a.version,
                      a.marketing_event_id, dict(a.custom or {}), a.merged_into_id)


def with_etag(account: Account, status: int = 200) -> Response[AccountOut]:
    return etagged(out(account), account.version, status)


class AccountController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/accounts"
    tags = ["crm: accounts"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE,
         summary="Accounts you may see (filter, sort, cursor pages; custom fields: cf.<key>=v, cf.<key>.gte/.lte)")
    async def list_(
        self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        status: FromQuery[str | None] = None,
        owner: FromQuery[uuid.UUID | None] = None,
        tag: FromQuery[str | None] = Parameter(default=None, max_length=40),
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "name",
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> AccountPage:
        page = await accounts.list_accounts(ctx.uow, crm_actor(ctx), q=q, status=status, owner_user_id=owner,
                                            tag=tag, include_archived=archived, sort=sort, cursor=cursor,
                                            limit=limit, custom=custom_filters(request))
        return AccountPage([out(a) for a in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED, summary="Create an account (Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[AccountIn]) -> Response[AccountOut]:
        async def produce() -> Response[AccountOut]:
            return with_etag(await accounts.create(ctx.uow, crm_actor(ctx), provided(data)), HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{account_id:uuid}", opt=CRM_ROUTE, summary="One account (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext], account_id: FromPath[uuid.UUID]) -> Response[AccountOut]:
        return with_etag(await accounts.get(ctx.uow, crm_actor(ctx), account_id))

    @patch("/{account_id:uuid}", opt=CRM_ROUTE, summary="Change fields (If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     account_id: FromPath[uuid.UUID], data: JSONBody[AccountIn]) -> Response[AccountOut]:
        account = await accounts.update(ctx.uow, crm_actor(ctx), account_id, provided(data),
                                        expected_version(request))
        return with_etag(account)

    @delete("/{account_id:uuid}", opt=CRM_ROUTE, status_code=200, summary="Archive (accounts are never erased)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      account_id: FromPath[uuid.UUID]) -> Response[AccountOut]:
        return with_etag(await accounts.archive(ctx.uow, crm_actor(ctx), account_id, expected_version(request)))
