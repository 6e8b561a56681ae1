"""/api/v1/t/{slug}/pipelines and /deals: thin adapters over the pipelines and deals services.

Money and probabilities travel as strings (Decimal); input may be a string or a JSON number (decoded exactly).
"""

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
from backend.api.crm_custom_fields import custom_filters
from backend.api.idempotency import idempotent
from backend.domains.crm import deals, pipelines
from backend.domains.crm.deals_models import Deal, DealStageMove

UNSET = msgspec.UNSET
Text200 = Annotated[str, msgspec.Meta(max_length=200)]


# --- pipelines ---------------------------------------------------------------------------------------------------

class StageIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    kind: str = "open"
    id: uuid.UUID | None = None
    probability: Decimal | None = None
    required_fields: list[str] = []
    checklist: list[str] = []


class PipelineIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=120)] | msgspec.UnsetType = UNSET
    is_default: bool | msgspec.UnsetType = UNSET
    archived: bool | msgspec.UnsetType = UNSET
    stages: list[StageIn] | msgspec.UnsetType = UNSET


class StageOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    position: int
    probability: Decimal
    kind: str
    required_fields: list[str]
    checklist: list[str]


class PipelineOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    is_default: bool
    position: int
    archived_at: datetime | None
    created_at: datetime
    version: int
    stages: list[StageOut]


class PipelineList(msgspec.Struct):
    items: list[PipelineOut]


def pipeline_out(view: pipelines.PipelineView) -> PipelineOut:
    p = view.pipeline
    return PipelineOut(p.id, p.name, p.is_default, p.position, p.archived_at, p.created_at, p.version,
                       [StageOut(s.id, s.name, s.position, s.probability, s.kind, list(s.required_fields),
                                 list(s.checklist or []))
                        for s in view.stages])


def pipeline_response(view: pipelines.PipelineView, status: int = 200) -> Response[PipelineOut]:
    return etagged(pipeline_out(view), view.pipeline.version, status)


def _pipeline_data(body: PipelineIn) -> dict[str, Any]:
    data = provided(body)
    if "stages" in data:
        data["stages"] = [msgspec.structs.asdict(s) for s in body.stages]  # type: ignore[union-attr]
    return data


class PipelineController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/pipelines"
    tags = ["crm: deals"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Pipelines with their ordered stages (the default one is made on first use)")
    async def list_(self, ctx: NamedDependency[TenantContext], archived: FromQuery[bool] = False) -> PipelineList:
        views = await pipelines.list_pipelines(ctx.uow, crm_actor(ctx), include_archived=archived)
        return PipelineList([pipeline_out(v) for v in views])

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED, summary="Create a pipeline (owner, admin, manager)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[PipelineIn]) -> Response[PipelineOut]:
        async def produce() -> Response[PipelineOut]:
            view = await pipelines.create(ctx.uow, crm_actor(ctx), _pipeline_data(data))
            return pipeline_response(view, HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{pipeline_id:uuid}", opt=CRM_ROUTE, summary="One pipeline with its stages")
    async def one(self, ctx: NamedDependency[TenantContext],
                  pipeline_id: FromPath[uuid.UUID]) -> Response[PipelineOut]:
        return pipeline_response(await pipelines.get(ctx.uow, crm_actor(ctx), pipeline_id))

    @patch("/{pipeline_id:uuid}", opt=CRM_ROUTE,
           summary="Rename, make default, archive, or change and reorder stages (the list is the new order)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     pipeline_id: FromPath[uuid.UUID], data: JSONBody[PipelineIn]) -> Response[PipelineOut]:
        view = await pipelines.update_pipeline(ctx.uow, crm_actor(ctx), pipeline_id, _pipeline_data(data),
                                               expected_version(request))
        return pipeline_response(view)


# --- deals -------------------------------------------------------------------------------------------------------

class DealIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Text200 | msgspec.UnsetType = UNSET
    account_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    pipeline_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    stage_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    amount: Decimal | msgspec.UnsetType | None = UNSET
    currency: str | msgspec.UnsetType | None = UNSET
    probability: Decimal | msgspec.UnsetType | None = UNSET
    expected_close_date: date | msgspec.UnsetType | None = UNSET
    owner_user_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    next_action: str | msgspec.UnsetType | None = UNSET
    next_action_due: date | msgspec.UnsetType | None = UNSET
    source_channel: str | msgspec.UnsetType | None = UNSET
    marketing_event_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    products_of_interest: list[str] | msgspec.UnsetType | None = UNSET
    checklist_done: list[str] | msgspec.UnsetType | None = UNSET
    custom: dict[str, Any] | msgspec.UnsetType | None = UNSET


class StageMoveIn(msgspec.Struct, forbid_unknown_fields=True):
    stage_id: uuid.UUID


class LoseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class DealOut(msgspec.Struct):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    account_id: uuid.UUID
    title: str
    amount: Decimal | None
    currency: str | None
    probability: Decimal
    expected_close_date: date | None
    owner_user_id: uuid.UUID | None
    next_action: str | None
    next_action_due: date | None
    source_channel: str | None
    status: str
    lost_reason: str | None
    won_at: datetime | None
    lost_at: datetime | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int
    marketing_event_id: uuid.UUID | None
    products_of_interest: list[str]
    custom: dict[str, Any]
    checklist_done: list[str]


class DealPage(msgspec.Struct):
    items: list[DealOut]
    next_cursor: str | None


class MoveOut(msgspec.Struct):
    id: int
    from_stage_id: uuid.UUID | None
    to_stage_id: uuid.UUID | None
    moved_at: datetime
    moved_by_user_id: uuid.UUID | None
    moved_by_api_key_id: uuid.UUID | None


class MoveList(msgspec.Struct):
    items: list[MoveOut]


def deal_out(d: Deal) -> DealOut:
    status = "won" if d.won_at else "lost" if d.lost_at else "open"
    return DealOut(d.id, d.pipeline_id, d.stage_id, d.account_id, d.title, d.amount, d.currency, d.probability,
                   d.expected_close_date, d.owner_user_id, d.next_action, d.next_action_due, d.source_channel,
                   status, d.lost_reason, d.won_at, d.lost_at, d.created_at, d.updated_at, d.archived_at, d.version,
                   d.marketing_event_id, list(d.products_of_interest or []), dict(d.custom or {}),
                   list(d.checklist_done or []))


def deal_response(deal: Deal, status: int = 200) -> Response[DealOut]:
    return etagged(deal_out(deal), deal.version, status)


def move_out(m: DealStageMove) -> MoveOut:
    return MoveOut(m.id, m.from_stage_id, m.to_stage_id, m.moved_at, m.moved_by_user_id, m.moved_by_api_key_id)




class DealController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/deals"
    tags = ["crm: deals"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE,
         summary="Deals you may see (filters, cursor pages; custom fields: cf.<key>=v, cf.<key>.gte/.lte)")
    async def list_(
        self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
        pipeline_id: FromQuery[uuid.UUID | None] = None,
        stage_id: FromQuery[uuid.UUID | None] = None,
        account_id: FromQuery[uuid.UUID | None] = None,
        owner: FromQuery[uuid.UUID | None] = None,
        marketing_event_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[str | None] = None,
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "-created",
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> DealPage:
        page = await deals.list_deals(ctx.uow, crm_actor(ctx), pipeline_id=pipeline_id, stage_id=stage_id,
                                      account_id=account_id, owner_user_id=owner, status=status,
                                      include_archived=archived, sort=sort, cursor=cursor, limit=limit,
                                      marketing_event_id=marketing_event_id, custom=custom_filters(request))
        return DealPage([deal_out(d) for d in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED, summary="Create a deal (Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[DealIn]) -> Response[DealOut]:
        async def produce() -> Response[DealOut]:
            return deal_response(await deals.create(ctx.uow, crm_actor(ctx), provided(data)), HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{deal_id:uuid}", opt=CRM_ROUTE, summary="One deal (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext], deal_id: FromPath[uuid.UUID]) -> Response[DealOut]:
        return deal_response(await deals.get(ctx.uow, crm_actor(ctx), deal_id))

    @patch("/{deal_id:uuid}", opt=CRM_ROUTE, summary="Change fields (If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     deal_id: FromPath[uuid.UUID], data: JSONBody[DealIn]) -> Response[DealOut]:
        deal = await deals.update(ctx.uow, crm_actor(ctx), deal_id, provided(data), expected_version(request))
        return deal_response(deal)

    @delete("/{deal_id:uuid}", opt=CRM_ROUTE, status_code=200, summary="Archive (deals are never erased)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      deal_id: FromPath[uuid.UUID]) -> Response[DealOut]:
        return deal_response(await deals.archive(ctx.uow, crm_actor(ctx), deal_id, expected_version(request)))

    @post("/{deal_id:uuid}/stage", opt=CRM_ROUTE, status_code=200,
          summary="Move to a stage (its required fields must be filled); an open stage reopens a closed deal")
    async def stage(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                    deal_id: FromPath[uuid.UUID], data: JSONBody[StageMoveIn]) -> Response[DealOut]:
        deal = await deals.move_stage(ctx.uow, crm_actor(ctx), deal_id, data.stage_id, expected_version(request))
        return deal_response(deal)

    @post("/{deal_id:uuid}/win", opt=CRM_ROUTE, status_code=200, summary="Mark won (moves to the won stage)")
    async def win(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                  deal_id: FromPath[uuid.UUID]) -> Response[DealOut]:
        return deal_response(await deals.win(ctx.uow, crm_actor(ctx), deal_id, expected_version(request)))

    @post("/{deal_id:uuid}/lose", opt=CRM_ROUTE, status_code=200, summary="Mark lost (a reason is required)")
    async def lose(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                   deal_id: FromPath[uuid.UUID], data: JSONBody[LoseIn]) -> Response[DealOut]:
        deal = await deals.lose(ctx.uow, crm_actor(ctx), deal_id, data.reason, expected_version(request))
        return deal_response(deal)

    @get("/{deal_id:uuid}/history", opt=CRM_ROUTE, summary="Stage moves, oldest first, with who and when")
    async def history(self, ctx: NamedDependency[TenantContext], deal_id: FromPath[uuid.UUID]) -> MoveList:
        return MoveList([move_out(m) for m in await deals.history(ctx.uow, crm_actor(ctx), deal_id)])
