"""/api/v1/t/{slug}/interactions: thin adapters over the interactions service.

Coordinates travel as strings (Decimal); input may be a string or a JSON number (decoded exactly).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, etagged, expected_version, provided
from backend.api.idempotency import idempotent
from backend.domains.crm import interactions
from backend.domains.crm.activity_models import Interaction
from backend.domains.crm.activity_time import caller_zone, period

UNSET = msgspec.UNSET
Period = Annotated[str | None, QueryParameter(max_length=40)]


class InteractionIn(msgspec.Struct, forbid_unknown_fields=True):
    """``kind``: meeting, call, sms, email, visit, note. ``direction`` (inbound/outbound) is required for calls and
    allowed for SMS and email; ``duration_seconds`` is for calls; ``latitude``/``longitude`` (together) and
    ``address`` are for visits; a note needs a ``body``. ``occurred_at`` (with an offset) defaults to now, at most
    a day ahead. ``source`` (web, api, bot, email) defaults to ``api`` here."""

    kind: str | msgspec.UnsetType = UNSET
    account_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    contact_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    deal_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    occurred_at: datetime | msgspec.UnsetType | None = UNSET
    subject: str | msgspec.UnsetType | None = UNSET
    body: str | msgspec.UnsetType | None = UNSET
    direction: str | msgspec.UnsetType | None = UNSET
    duration_seconds: int | msgspec.UnsetType | None = UNSET
    latitude: Decimal | msgspec.UnsetType | None = UNSET
    longitude: Decimal | msgspec.UnsetType | None = UNSET
    address: str | msgspec.UnsetType | None = UNSET
    source: str | msgspec.UnsetType | None = UNSET


class InteractionOut(msgspec.Struct):
    id: uuid.UUID
    account_id: uuid.UUID
    contact_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    kind: str
    occurred_at: datetime
    subject: str | None
    body: str | None
    direction: str | None
    duration_seconds: int | None
    latitude: Decimal | None
    longitude: Decimal | None
    address: str | None
    source: str
    author_user_id: uuid.UUID | None
    author_api_key_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class InteractionPage(msgspec.Struct):
    items: list[InteractionOut]
    next_cursor: str | None


def interaction_out(i: Interaction) -> InteractionOut:
    return InteractionOut(i.id, i.account_id, i.contact_id, i.deal_id, i.kind, i.occurred_at, i.subject, i.body,
                          i.direction, i.duration_seconds, i.latitude, i.longitude, i.address, i.source,
                          i.author_user_id, i.author_api_key_id, i.created_at, i.updated_at, i.archived_at,
                          i.version)


def interaction_response(item: Interaction, status: int = 200) -> Response[InteractionOut]:
    return etagged(interaction_out(item), item.version, status)


class InteractionController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/interactions"
    tags = ["crm: activities"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Interactions on accounts you may see, newest first (filters, cursor pages)",
         description="`from`/`to`: a day (local to your profile's time zone, both inclusive) or an instant.")
    async def list_(
        self, ctx: NamedDependency[TenantContext],
        account_id: FromQuery[uuid.UUID | None] = None,
        contact_id: FromQuery[uuid.UUID | None] = None,
        deal_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[str | None] = Parameter(default=None, max_length=16),
        author: FromQuery[uuid.UUID | None] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        to: Period = None,
        archived: FromQuery[bool] = False,
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> InteractionPage:
        since, until = period(from_, to, await caller_zone(ctx.uow, ctx.user.timezone if ctx.user else None))
        page = await interactions.list_interactions(
            ctx.uow, crm_actor(ctx), account_id=account_id, contact_id=contact_id, deal_id=deal_id, kind=kind,
            author_user_id=author, since=since, until=until, include_archived=archived, cursor=cursor, limit=limit)
        return InteractionPage([interaction_out(i) for i in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED,
          summary="Log an interaction (Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[InteractionIn]) -> Response[InteractionOut]:
        async def produce() -> Response[InteractionOut]:
            body = provided(data)
            if body.get("source") is None:
                body["source"] = "api"
            item = await interactions.create(ctx.uow, crm_actor(ctx), body)
            return interaction_response(item, HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{interaction_id:uuid}", opt=CRM_ROUTE, summary="One interaction (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext],
                  interaction_id: FromPath[uuid.UUID]) -> Response[InteractionOut]:
        return interaction_response(await interactions.get(ctx.uow, crm_actor(ctx), interaction_id))

    @patch("/{interaction_id:uuid}", opt=CRM_ROUTE,
           summary="Change fields: the author or a manager (If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     interaction_id: FromPath[uuid.UUID], data: JSONBody[InteractionIn]) -> Response[InteractionOut]:
        item = await interactions.update(ctx.uow, crm_actor(ctx), interaction_id, provided(data),
                                         expected_version(request))
        return interaction_response(item)

    @delete("/{interaction_id:uuid}", opt=CRM_ROUTE, status_code=200,
            summary="Archive: the author or a manager (interactions are never erased)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      interaction_id: FromPath[uuid.UUID]) -> Response[InteractionOut]:
        item = await interactions.archive(ctx.uow, crm_actor(ctx), interaction_id, expected_version(request))
        return interaction_response(item)
