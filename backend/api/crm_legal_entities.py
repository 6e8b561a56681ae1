"""/api/v1/t/{slug}/legal-entities: thin adapters over the CRM legal-entity service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, etag, etagged, expected_version, provided
from backend.domains.crm import legal_entities
from backend.domains.crm.models import LegalEntity

UNSET = msgspec.UNSET


class LegalEntityIn(msgspec.Struct, forbid_unknown_fields=True):
    """Fields are checked by the service (all problems at once, named by path such as ``bank.iban``).

    ``address`` and ``bank`` replace the stored object as a whole; ``null`` clears it.
    """

    account_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    registered_name: str | msgspec.UnsetType | None = UNSET
    tax_id: str | msgspec.UnsetType | None = UNSET
    country: str | msgspec.UnsetType | None = UNSET
    address: dict[str, Any] | msgspec.UnsetType | None = UNSET
    bank: dict[str, Any] | msgspec.UnsetType | None = UNSET


class LegalEntityOut(msgspec.Struct):
    id: uuid.UUID
    account_id: uuid.UUID
    registered_name: str
    tax_id: str | None
    country: str | None
    address: dict[str, Any]
    bank: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class WarningOut(msgspec.Struct):
    field: str
    reason: str
    existing_id: uuid.UUID | None


class LegalEntityCreated(LegalEntityOut):
    """The created entity plus warnings (e.g. another entity with the same tax id and country)."""

    warnings: list[WarningOut] = msgspec.field(default_factory=list)


class LegalEntityPage(msgspec.Struct):
    items: list[LegalEntityOut]
    next_cursor: str | None


def _fields(e: LegalEntity) -> tuple[Any, ...]:
    return (e.id, e.account_id, e.registered_name, e.tax_id, e.country, dict(e.address or {}), dict(e.bank or {}),
            e.created_at, e.updated_at, e.archived_at, e.version)


def out(e: LegalEntity) -> LegalEntityOut:
    return LegalEntityOut(*_fields(e))


def with_etag(entity: LegalEntity) -> Response[LegalEntityOut]:
    return etagged(out(entity), entity.version)


class LegalEntityController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/legal-entities"
    tags = ["crm: legal entities"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Legal entities of accounts you may see (by registered name, cursor pages)")
    async def list_(
        self, ctx: NamedDependency[TenantContext],
        account: FromQuery[uuid.UUID | None] = None,
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        archived: FromQuery[bool] = False,
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> LegalEntityPage:
        page = await legal_entities.list_entities(ctx.uow, crm_actor(ctx), account_id=account, q=q,
                                                  include_archived=archived, cursor=cursor, limit=limit)
        return LegalEntityPage([out(e) for e in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED,
          summary="Create a legal entity (201 even with warnings such as a duplicate tax id)")
    async def create(self, ctx: NamedDependency[TenantContext],
                     data: JSONBody[LegalEntityIn]) -> Response[LegalEntityCreated]:
        created = await legal_entities.create(ctx.uow, crm_actor(ctx), provided(data))
        warnings = [WarningOut(w.field, w.reason, w.existing_id) for w in created.warnings]
        body = LegalEntityCreated(**msgspec.structs.asdict(out(created.entity)), warnings=warnings)
        return Response(body, status_code=HTTP_201_CREATED, headers={"ETag": etag(created.entity.version)})

    @get("/{entity_id:uuid}", opt=CRM_ROUTE, summary="One legal entity (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext],
                  entity_id: FromPath[uuid.UUID]) -> Response[LegalEntityOut]:
        return with_etag(await legal_entities.get(ctx.uow, crm_actor(ctx), entity_id))

    @patch("/{entity_id:uuid}", opt=CRM_ROUTE,
           summary="Change fields or move to another account (If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     entity_id: FromPath[uuid.UUID], data: JSONBody[LegalEntityIn]) -> Response[LegalEntityOut]:
        entity = await legal_entities.update(ctx.uow, crm_actor(ctx), entity_id, provided(data),
                                             expected_version(request))
        return with_etag(entity)

    @delete("/{entity_id:uuid}", opt=CRM_ROUTE, status_code=200, summary="Archive (legal entities are never erased)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      entity_id: FromPath[uuid.UUID]) -> Response[LegalEntityOut]:
        entity = await legal_entities.archive(ctx.uow, crm_actor(ctx), entity_id, expected_version(request))
        return with_etag(entity)
