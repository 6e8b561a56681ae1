"""/api/v1/t/{slug}/accounts/{id}/timeline: one account's feed (interactions, deal changes, tasks), newest first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.domains.crm import timeline


class LinkOut(msgspec.Struct):
    type: str
    id: str


class ActorOut(msgspec.Struct):
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    name: str | None


class FeedItemOut(msgspec.Struct):
    kind: str
    event: str
    occurred_at: datetime
    title: str | None
    summary: str | None
    actor: ActorOut
    record_type: str
    record_id: str
    links: list[LinkOut]
    detail: dict[str, Any]


class FeedPage(msgspec.Struct):
    items: list[FeedItemOut]
    next_cursor: str | None


def item_out(i: timeline.FeedItem) -> FeedItemOut:
    return FeedItemOut(i.kind, i.event, i.occurred_at, i.title, i.summary,
                       ActorOut(i.actor_user_id, i.actor_api_key_id, i.actor_name), i.record_type, i.record_id,
                       [LinkOut(link.type, link.id) for link in i.links], i.detail)


class TimelineController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/accounts/{account_id:uuid}/timeline"
    tags = ["crm: activities"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="The account's feed, newest first (cursor pages)",
         description="kind: interaction, deal_stage, task_created, task_done (and sources later domains add); "
                     "event: the interaction kind, deal_created/moved/won/lost/reopened, task_created/done. "
                     "Filter with kind=… (repeatable).")
    async def feed(
        self, ctx: NamedDependency[TenantContext], account_id: FromPath[uuid.UUID],
        kind: FromQuery[list[str] | None] = None,
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> FeedPage:
        page = await timeline.feed(ctx.uow, crm_actor(ctx), account_id, cursor=cursor, limit=limit, kinds=kind)
        return FeedPage([item_out(i) for i in page.items], page.next_cursor)
