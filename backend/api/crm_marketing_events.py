"""/api/v1/t/{slug}/marketing-events: thin adapters over the marketing service. Money travels as strings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, etagged, expected_version, provided
from backend.api.idempotency import idempotent
from backend.domains.crm import marketing
from backend.domains.crm.marketing_models import MarketingEvent

UNSET = msgspec.UNSET


class MarketingEventIn(msgspec.Struct, forbid_unknown_fields=True):
    """``channel``: exhibition, seminar, webinar, ads, email, referral, other. ``archived: false`` restores."""

    name: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType | None = UNSET
    channel: str | msgspec.UnsetType | None = UNSET
    starts_on: date | msgspec.UnsetType | None = UNSET
    ends_on: date | msgspec.UnsetType | None = UNSET
    budget: Decimal | msgspec.UnsetType | None = UNSET
    currency: str | msgspec.UnsetType | None = UNSET
    notes: str | msgspec.UnsetType | None = UNSET
    archived: bool | msgspec.UnsetType = UNSET


class MarketingEventOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    channel: str
    starts_on: date | None
    ends_on: date | None
    budget: Decimal
    currency: str
    notes: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class MarketingEventPage(msgspec.Struct):
    items: list[MarketingEventOut]
    next_cursor: str | None


class CurrencyFiguresOut(msgspec.Struct):
    currency: str | None
    won_revenue: Decimal
    won_deals: int
    open_pipeline: Decimal
    open_deals: int


class RoiOut(msgspec.Struct):
    """``roi`` = won_revenue / budget (4 decimals; null when the budget is 0), all in the event's currency.
    Deals in other currencies are listed per currency, never added in. ``complete`` is false when the figures
    cover only the deals and accounts you may see (a rep's share)."""

    event_id: uuid.UUID
    currency: str
    budget: Decimal
    won_revenue: Decimal
    won_deals: int
    open_pipeline: Decimal
    open_deals: int
    attributed_accounts: int
    roi: Decimal | None
    complete: bool
    other_currencies: list[CurrencyFiguresOut]


def out(e: MarketingEvent) -> MarketingEventOut:
    return MarketingEventOut(e.id, e.name, e.channel, e.starts_on, e.ends_on, e.budget, e.currency, e.notes,
                             e.created_at, e.updated_at, e.archived_at, e.version)


def with_etag(event: MarketingEvent, status: int = 200) -> Response[MarketingEventOut]:
    return etagged(out(event), event.version, status)


def roi_out(r: marketing.Roi) -> RoiOut:
    return RoiOut(r.event.id, r.event.currency, r.event.budget, r.won_revenue, r.won_deals, r.open_pipeline,
                  r.open_deals, r.attributed_accounts, r.roi, r.complete,
                  [CurrencyFiguresOut(f.currency, f.won_revenue, f.won_deals, f.open_pipeline, f.open_deals)
                   for f in r.other_currencies])


class MarketingEventController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/marketing-events"
    tags = ["crm: marketing events"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Marketing events (filter by channel or name, sort, cursor pages)")
    async def list_(
        self, ctx: NamedDependency[TenantContext],
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        channel: FromQuery[str | None] = Parameter(default=None, max_length=16),
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "-created",
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> MarketingEventPage:
        page = await marketing.list_events(ctx.uow, crm_actor(ctx), q=q, channel=channel, include_archived=archived,
                                           sort=sort, cursor=cursor, limit=limit)
        return MarketingEventPage([out(e) for e in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED,
          summary="Create a marketing event (owner, admin, manager; Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[MarketingEventIn]) -> Response[MarketingEventOut]:
        async def produce() -> Response[MarketingEventOut]:
            return with_etag(await marketing.create(ctx.uow, crm_actor(ctx), provided(data)), HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{event_id:uuid}", opt=CRM_ROUTE,
         summary="One marketing event (ETag carries its version; its ROI is at /{event_id}/roi)")
    async def one(self, ctx: NamedDependency[TenantContext],
                  event_id: FromPath[uuid.UUID]) -> Response[MarketingEventOut]:
        return with_etag(await marketing.get(ctx.uow, crm_actor(ctx), event_id))

    @get("/{event_id:uuid}/roi", opt=CRM_ROUTE,
         summary="ROI = won revenue / budget in the event's currency; other currencies listed apart, never summed")
    async def roi(self, ctx: NamedDependency[TenantContext], event_id: FromPath[uuid.UUID]) -> RoiOut:
        return roi_out(await marketing.roi(ctx.uow, crm_actor(ctx), event_id))

    @patch("/{event_id:uuid}", opt=CRM_ROUTE,
           summary="Change fields or (un)archive (owner, admin, manager; If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     event_id: FromPath[uuid.UUID], data: JSONBody[MarketingEventIn]) -> Response[MarketingEventOut]:
        event = await marketing.update(ctx.uow, crm_actor(ctx), event_id, provided(data), expected_version(request))
        return with_etag(event)

    @delete("/{event_id:uuid}", opt=CRM_ROUTE, status_code=200,
            summary="Archive (attributions and ROI are kept; no new attributions)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      event_id: FromPath[uuid.UUID]) -> Response[MarketingEventOut]:
        return with_etag(await marketing.archive(ctx.uow, crm_actor(ctx), event_id, expected_version(request)))
