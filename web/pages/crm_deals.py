"""Deals pages: the kanban board (pipeline, owner and title filters; drag and drop, with buttons as the keyboard
and no-JS path; a dialog asks for the lost reason), the new-deal form, and the deal card (fields with an edit form,
stage progress, stage history, audit history).

Every action carries the deal's ``version`` (If-Match semantics): a stale board or card is not written over, the
reader gets a clear message and the current state instead. Scripted requests (``HX-Request``) get the board
fragment back with the message; plain form posts get a redirect, or the page again with the errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import deals, pipelines
from backend.domains.crm.deals_models import Deal, PipelineStage
from backend.kit.errors import DomainError, Forbidden
from backend.kit.modules import NavItem, add_nav
from web import custom_inputs, i18n
from web.context import Page, tenant_page
from web.event_choice import event_options
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.pages.deal_views import (
    NEW_FIELDS,
    BoardFilters,
    board_context,
    card_context,
    card_error,
    changed_fields,
    current_values,
    new_deal_context,
    ticked,
)
from web.render import attempt, field_errors, form_version, redirect, render

Form = URLEncodedBody[dict[str, str]]
MultiForm = URLEncodedBody[dict[str, str | list[str]]]
add_nav("crm", NavItem("Deals", "deals"))
STALE_BOARD = i18n.lazy("“%(title)s” was changed by someone else meanwhile. The board now shows its current state; "
                        "try again if you still want to.")
STALE_CARD = i18n.lazy("This deal was changed by someone else meanwhile. The page now shows its current state; "
                       "try again if you still want to.")
Action = Callable[[int | None], Awaitable[Deal]]
Target = uuid.UUID | str | None  # the stage a move is for: its id, or its kind ("won")



def _scripted(pg: Page) -> bool:
    return bool(pg.request.headers.get("hx-request"))


class DealPages(Controller):
    path = "/t/{tenant_slug:str}/deals"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def board(
        self, pg: NamedDependency[Page],
        pipeline: FromQuery[str] = Parameter(default="", max_length=40),
        owner: FromQuery[str] = Parameter(default="all", max_length=10),
        q: FromQuery[str] = Parameter(default="", max_length=200),
    ) -> Template:
        filters = BoardFilters.parse({"pipeline": pipeline, "owner": owner, "q": q})
        context = await board_context(pg, crm_actor(pg), filters)
        template = "crm/_board.html" if _scripted(pg) else "crm/deals_board.html"
        return render(pg, template, **context)

    @get("/new", opt=CRM_PAGE)
    async def new(
        self, pg: NamedDependency[Page],
        account: FromQuery[str] = Parameter(default="", max_length=40),
        pipeline: FromQuery[str] = Parameter(default="", max_length=40),
    ) -> Template:
        """``account``, ``pipeline``: ids to start with (the account card and the board link here with them)."""
        _require_write(pg)
        values = {"account_id": account, "pipeline_id": pipeline}
        return render(pg, "crm/deal_form.html", errors={}, **await new_deal_context(pg, crm_actor(pg), values))

    @post("/new", opt=CRM_PAGE)
    async def create(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        _require_write(pg)
        values = {k: str(v) for k, v in data.items() if k != "_csrf_token"}
        body: dict[str, Any] = {name: values.get(name, "").strip() for name in NEW_FIELDS}
        definitions = await custom_inputs.active_definitions(pg.uow, "deal")
        body["custom"] = custom_inputs.submitted(values, definitions, create=True)
        created, error = await attempt(pg, lambda: deals.create(pg.uow, actor, body))
        if error is None and created is not None:
            return redirect(f"{pg.base}/deals/{created.id}", i18n.gettext("Deal created."))
        assert error is not None
        if error.status == 403:
            raise error
        return render(pg, "crm/deal_form.html", status=error.status, errors=field_errors(error),
                      **await new_deal_context(pg, actor, values))

    @get("/{deal_id:uuid}", opt=CRM_PAGE)
    async def card(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID],
                   target: FromQuery[uuid.UUID | None] = None) -> Template:
        """``target``: a stage the reader wants to move the deal to (the board links here when a move was refused);
        its checklist is shown."""
        context = await card_context(pg, crm_actor(pg), deal_id, target)
        return render(pg, "crm/deal_card.html", values=current_values(context["deal"]), errors={}, **context)

    @post("/{deal_id:uuid}/checklist", opt=CRM_PAGE)
    async def checklist(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID],
                        data: MultiForm) -> Template | Redirect:
        """Tick or untick the checklist items the card showed (``shown``; ticked ones in ``done``), with the version
        the card was rendered with."""
        actor = crm_actor(pg)
        _require_write(pg)
        deal = await deals.get(pg.uow, actor, deal_id)
        target = _uuid(data.get("target"))
        url = f"{pg.base}/deals/{deal_id}" + (f"?target={target}" if target else "") + "#checklist"
        stages = (await pipelines.get(pg.uow, actor, deal.pipeline_id)).stages
        done = ticked(deal, stages, _many(data, "shown"), _many(data, "done"))
        if done == list(deal.checklist_done or []):
            return redirect(url, i18n.gettext("Nothing to change."), "info")
        _, error = await attempt(pg, lambda: deals.update(pg.uow, actor, deal_id, {"checklist_done": done},
                                                          form_version(data)))
        if error is None:
            return redirect(url, i18n.gettext("Checklist saved."))
        _reraise_access(error)
        context = await card_context(pg, actor, deal_id, target)
        errors = {"__all__": i18n.gettext(STALE_CARD)} if error.code == "version_conflict" else field_errors(error)
        return render(pg, "crm/deal_card.html", status=error.status, values=current_values(context["deal"]),
                      errors=errors, **context)

    @post("/{deal_id:uuid}", opt=CRM_PAGE)
    async def edit(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        _require_write(pg)
        deal = await deals.get(pg.uow, actor, deal_id)
        changes: dict[str, Any] = dict(changed_fields(deal, data))
        definitions = await custom_inputs.active_definitions(pg.uow, "deal")
        custom = custom_inputs.changed(custom_inputs.submitted(data, definitions, create=False), deal.custom)
        if custom:
            changes["custom"] = custom
        if not changes:
            return redirect(f"{pg.base}/deals/{deal_id}", i18n.gettext("Nothing to change."), "info")
        _, error = await attempt(pg, lambda: deals.update(pg.uow, actor, deal_id, changes, form_version(data)))
        if error is None:
            return redirect(f"{pg.base}/deals/{deal_id}", i18n.gettext("Deal saved."))
        _reraise_access(error)
        context = await card_context(pg, actor, deal_id)
        submitted = {**current_values(context["deal"]), **{k: str(v) for k, v in data.items()}}
        context["event_options"] = await event_options(pg, actor, context["deal"].marketing_event_id,
                                                        submitted.get("marketing_event_id"))
        if error.code == "version_conflict":
            # show what is stored now; the reader's input stays in the form, sent again only if they choose to
            return render(pg, "crm/deal_card.html", status=error.status, values=submitted,
                          errors={"__all__": i18n.gettext(STALE_CARD)}, **context)
        return render(pg, "crm/deal_card.html", status=error.status, values=submitted, errors=field_errors(error),
                      **context)

    @post("/{deal_id:uuid}/move", opt=CRM_PAGE)
    async def move(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        try:
            stage_id = uuid.UUID(str(data.get("stage_id", "")))
        except ValueError:
            stage_id = uuid.UUID(int=0)  # no such stage: the service says so next to the field

        def done(deal: Deal, stage: PipelineStage | None, reopened: bool) -> str:
            text = i18n.gettext("“%(title)s” reopened in %(stage)s.") if reopened else i18n.gettext(
                "“%(title)s” moved to %(stage)s.")
            return text % {"title": deal.title, "stage": stage.name if stage else ""}

        return await _act(pg, deal_id, data, lambda v: deals.move_stage(pg.uow, actor, deal_id, stage_id, v), done,
                          stage_id)

    @post("/{deal_id:uuid}/win", opt=CRM_PAGE)
    async def win(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        return await _act(pg, deal_id, data, lambda v: deals.win(pg.uow, actor, deal_id, v),
                          lambda deal, _s, _r: i18n.gettext("“%(title)s” marked as won.") % {"title": deal.title},
                          "won")

    @post("/{deal_id:uuid}/lose", opt=CRM_PAGE)
    async def lose(self, pg: NamedDependency[Page], deal_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        reason = str(data.get("reason", ""))
        return await _act(pg, deal_id, data, lambda v: deals.lose(pg.uow, actor, deal_id, reason, v),
                          lambda deal, _s, _r: i18n.gettext("“%(title)s” marked as lost.") % {"title": deal.title},
                          "lost")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value and isinstance(value, str) else None
    except ValueError:
        return None


def _many(data: Mapping[str, Any], name: str) -> list[str]:
    """Every value of a repeated form field."""
    raw = data.get(name, [])
    return [raw] if isinstance(raw, str) else [str(v) for v in raw]


def _require_write(pg: Page) -> None:
    if not crm_actor(pg).may_write:
        raise Forbidden("Your role cannot change this record.", "crm_read_only")


def _reraise_access(error: DomainError) -> None:
    """Not found and not allowed are answered with the error page (403/404), not a form shown again."""
    if error.status in (403, 404):
        raise error


async def _act(pg: Page, deal_id: uuid.UUID, data: dict[str, str], action: Action,
               done: Callable[[Deal, PipelineStage | None, bool], str], target: Target) -> Template | Redirect:
    """Run a stage action for the board or the card, then answer the way the caller asked. A refused move shows
    the reasons on the card it concerns, and the card shows the checklist of the ``target`` stage."""
    _require_write(pg)
    actor = crm_actor(pg)
    on_card = data.get("return_to") == "card"
    filters = BoardFilters.parse(data)
    before = await deals.get(pg.uow, actor, deal_id)
    was_closed, title = before.won_at is not None or before.lost_at is not None, before.title
    deal, error = await attempt(pg, lambda: action(form_version(data)))
    if error is None and deal is not None:
        stage = await pg.uow.session.get(PipelineStage, deal.stage_id)
        message = done(deal, stage, was_closed and deal.won_at is None and deal.lost_at is None)
        if on_card:
            return redirect(f"{pg.base}/deals/{deal_id}", message)
        if _scripted(pg):
            context = await board_context(pg, actor, filters)
            return render(pg, "crm/_board.html", message=message, level="success", **context)
        return redirect(f"{pg.base}/deals/{filters.query()}", message)
    assert error is not None
    _reraise_access(error)
    stale = error.code == "version_conflict"
    if on_card:
        context = await card_context(pg, actor, deal_id, target)
        errors = {"__all__": i18n.gettext(STALE_CARD)} if stale else field_errors(error)
        return render(pg, "crm/deal_card.html", status=error.status, values=current_values(context["deal"]),
                      errors=errors, **context)
    message = i18n.gettext(STALE_BOARD) % {"title": title} if stale else i18n.gettext(error.detail)
    stage_id = target if isinstance(target, uuid.UUID) else next(
        (s.id for s in (await pipelines.get(pg.uow, actor, before.pipeline_id)).stages if s.kind == target), None)
    context = await board_context(pg, actor, filters, {deal_id: card_error(error, message, stage_id)})
    template = "crm/_board.html" if _scripted(pg) else "crm/deals_board.html"
    return render(pg, template, status=error.status, message=message, level="error", **context)

