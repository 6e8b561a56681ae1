"""Deals board: the default pipeline's stages as columns; move, win and lose with buttons."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from backend.domains.crm import deals, pipelines
from backend.domains.crm.deals_models import PipelineStage
from backend.domains.crm.models import Account
from backend.kit.modules import NavItem, add_nav
from web import i18n
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.render import attempt, redirect, render

Form = URLEncodedBody[dict[str, str]]
add_nav("crm", NavItem("Deals", "deals"))
PER_COLUMN = 100


class DealPages(Controller):
    path = "/t/{tenant_slug:str}/deals"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def board(self, pg: NamedDependency[Page]) -> Template:
        actor = crm_actor(pg)
        pipeline = await pipelines.ensure_default(pg.uow)
        stages = list((await pg.uow.session.execute(
            select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id)
            .order_by(PipelineStage.position, PipelineStage.id))).scalars())
        columns = []
        for stage in stages:
            page = await deals.list_deals(pg.uow, actor, pipeline_id=pipeline.id, stage_id=stage.id, limit=PER_COLUMN)
            columns.append((stage, page.items, page.next_cursor is not None))
        account_ids = {d.account_id for _, items, _ in columns for d in items}
        names: dict[uuid.UUID, str] = {}
        if account_ids:
            rows = await pg.uow.session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids)))
            names = {r.id: r.name for r in rows}
        open_stages = [s for s in stages if s.kind == "open"]
        return render(pg, "crm/deals_board.html", pipeline=pipeline, columns=columns, names=names,
                      open_stages=open_stages, may_write=actor.may_write)

    @post("/{deal_id:uuid}/move", opt=CRM_PAGE)
    async def move(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID], data: Form) -> Redirect:
        try:
            stage_id = uuid.UUID(str(data.get("stage_id", "")))
        except ValueError:
            return redirect(f"{pg.base}/deals/", i18n.gettext("Choose a stage."), "error")
        return await _outcome(pg, lambda: deals.move_stage(pg.uow, crm_actor(pg), deal_id, stage_id),
                              i18n.gettext("Deal moved."))

    @post("/{deal_id:uuid}/win", opt=CRM_PAGE)
    async def win(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID]) -> Redirect:
        return await _outcome(pg, lambda: deals.win(pg.uow, crm_actor(pg), deal_id), i18n.gettext("Deal won."))

    @post("/{deal_id:uuid}/lose", opt=CRM_PAGE)
    async def lose(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID], data: Form) -> Redirect:
        reason = str(data.get("reason", "")).strip()
        return await _outcome(pg, lambda: deals.lose(pg.uow, crm_actor(pg), deal_id, reason),
                              i18n.gettext("Deal marked as lost."))


async def _outcome(pg: Page, action: Any, done: str) -> Redirect:
    _, error = await attempt(pg, action)
    if error is not None:
        reasons = "; ".join(i18n.gettext(e.reason) for e in error.errors)
        text = i18n.gettext(error.detail) + (f" ({reasons})" if reasons else "")
        return redirect(f"{pg.base}/deals/", text, "error")
    return redirect(f"{pg.base}/deals/", done)
