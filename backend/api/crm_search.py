"""GET /api/v1/t/{slug}/search?q=: one ranked list over accounts, legal entities and contacts."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.domains.crm import search


class HitOut(msgspec.Struct):
    kind: str
    id: uuid.UUID
    title: str
    subtitle: str | None
    account_id: uuid.UUID | None
    score: float


class SearchOut(msgspec.Struct):
    query: str
    items: list[HitOut]


class SearchController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/search"
    tags = ["crm: search"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Typo-tolerant search over accounts, legal entities and contacts")
    async def find(
        self, ctx: NamedDependency[TenantContext],
        q: FromQuery[str] = Parameter(max_length=100),
        kinds: FromQuery[str] = Parameter(default="account,legal_entity,contact", max_length=60),
        limit: FromQuery[int] = Parameter(default=20, ge=1, le=50),
    ) -> SearchOut:
        wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
        hits = await search.search(ctx.uow, crm_actor(ctx), q, kinds=wanted, limit=limit)
        return SearchOut(q, [HitOut(h.kind, h.id, h.title, h.subtitle, h.account_id, round(h.score, 4))
                             for h in hits])
