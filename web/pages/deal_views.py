"""What the deals board and the deal card show: filters, columns with totals, names to display, form values.

The page handlers (``crm_deals.py``) call one service per action; these builders only read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.domains.audit import service as audit
from backend.domains.crm import accounts, deals, pipelines
from backend.domains.crm.deals import StageTotal
from backend.domains.crm.deals_models import Deal, DealStageMove, PipelineStage
from backend.domains.crm.marketing_models import MarketingEvent
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor, can_see
from backend.domains.identity import access
from backend.kit.clock import utcnow
from backend.kit.errors import DomainError
from web import custom_inputs, i18n
from web.context import Page
from web.event_choice import event_options
from web.history import DEAL_FIELDS, history_rows

PER_COLUMN = 100
OWNER_FILTERS = ("all", "mine")
# The deal fields of the card's edit form, in the order shown.
FORM_FIELDS = ("title", "account_id", "amount", "currency", "probability", "expected_close_date", "owner_user_id",
               "next_action", "next_action_due", "source_channel", "marketing_event_id")
# The fields of the new-deal form (the deal starts in the first open stage of the chosen pipeline, owned by its
# creator).
NEW_FIELDS = ("title", "account_id", "pipeline_id", "amount", "currency", "expected_close_date", "source_channel",
              "marketing_event_id")


@dataclass(frozen=True, slots=True)
class BoardFilters:
    pipeline_id: uuid.UUID | None = None
    owner: str = "all"
    q: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> BoardFilters:
        try:
            pipeline_id = uuid.UUID(str(data.get("pipeline") or ""))
        except ValueError:
            pipeline_id = None
        owner = str(data.get("owner") or "all")
        return cls(pipeline_id, owner if owner in OWNER_FILTERS else "all", str(data.get("q") or "").strip()[:200])

    def query(self) -> str:
        """The filters as a query string (``?…``), empty when all are defaults."""
        params = {"pipeline": str(self.pipeline_id) if self.pipeline_id else "",
                  "owner": "" if self.owner == "all" else self.owner, "q": self.q}
        kept = {k: v for k, v in params.items() if v}
        return f"?{urlencode(kept)}" if kept else ""


@dataclass(slots=True)
class Column:
    stage: PipelineStage
    deals: list[Deal]
    more: bool
    total: StageTotal
    sums: list[str]


@dataclass(frozen=True, slots=True)
class CardError:
    """A refused move, shown on the card it concerns."""

    message: str
    reasons: list[str] = field(default_factory=list)
    fill_in: bool = False  # link to the deal card to fill in what a stage requires
    checklist: bool = False  # ... and to tick the stage's checklist there
    target: uuid.UUID | None = None  # the stage the deal was to enter


@dataclass(frozen=True, slots=True)
class Checklist:
    """A stage's checklist on the deal card: ``role`` is current (the deal's stage), next (the one after it) or
    target (a stage the reader tried to move to); ``items`` pairs each item with whether the deal ticked it."""

    stage: PipelineStage
    role: str
    items: list[tuple[str, bool]]

    @property
    def complete(self) -> bool:
        return all(done for _, done in self.items)


def today() -> date:
    """The reader's today (their time zone decides what is overdue)."""
    try:
        zone = ZoneInfo(i18n.current_timezone.get())
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return utcnow().astimezone(zone).date()


CHECKLIST_ERROR = "checklist_done["


def checklist_item(name: str) -> str | None:
    """The item of a ``checklist_done[<item>]`` error field (None for other fields)."""
    return name[len(CHECKLIST_ERROR):-1] if name.startswith(CHECKLIST_ERROR) and name.endswith("]") else None


def field_label(name: str) -> str:
    item = checklist_item(name)
    if item is not None:
        return i18n.gettext("Checklist item “%(item)s”") % {"item": item}
    spec = DEAL_FIELDS.get(name)
    return i18n.gettext(spec.label) if spec else name


def card_error(error: DomainError, message: str, target: uuid.UUID | None = None) -> CardError:
    reasons = [f"{field_label(e.field)}: {i18n.gettext(e.reason)}" for e in error.errors]
    return CardError(message, reasons, fill_in=error.code == "stage_requirements",
                     checklist=any(checklist_item(e.field) is not None for e in error.errors), target=target)


async def _account_names(pg: Page, actor: CrmActor, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await pg.uow.session.execute(
        select(Account.id, Account.name, Account.owner_user_id, Account.is_shared).where(Account.id.in_(ids)))
    return {r.id: r.name for r in rows if can_see(actor, r.owner_user_id, r.is_shared)}


async def board_context(pg: Page, actor: CrmActor, filters: BoardFilters,
                        card_errors: dict[uuid.UUID, CardError] | None = None) -> dict[str, Any]:
    assert pg.tenant is not None
    views = await pipelines.list_pipelines(pg.uow, actor)
    view = next((v for v in views if v.pipeline.id == filters.pipeline_id), None)
    view = view or next((v for v in views if v.pipeline.is_default), views[0])
    owner_id = actor.user_id if filters.owner == "mine" else None
    totals = await deals.stage_totals(pg.uow, actor, view.pipeline.id, owner_user_id=owner_id, q=filters.q or None)
    currency = pg.company.base_currency if pg.company else "USD"
    columns = []
    for stage in view.stages:
        page = await deals.list_deals(pg.uow, actor, pipeline_id=view.pipeline.id, stage_id=stage.id,
                                      owner_user_id=owner_id, q=filters.q or None, limit=PER_COLUMN)
        total = totals.get(stage.id, StageTotal())
        columns.append(Column(stage, page.items, page.next_cursor is not None, total, _sums(total.sums, currency)))
    shown = [d for c in columns for d in c.deals]
    return {
        "pipelines": [v.pipeline for v in views], "pipeline": view.pipeline, "columns": columns,
        "open_stages": [s for s in view.stages if s.kind == "open"],
        "names": await _account_names(pg, actor, {d.account_id for d in shown}),
        "owners": await access.member_names(pg.uow, pg.tenant.id, {d.owner_user_id for d in shown}),
        "filters": BoardFilters(view.pipeline.id, filters.owner, filters.q), "may_write": actor.may_write,
        "today": today(), "card_errors": card_errors or {},
    }


# --- the deal card -----------------------------------------------------------------------------------------------

def form_value(value: Any) -> str:
    """A stored value as an input shows it."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def current_values(deal: Deal) -> dict[str, str]:
    return {name: form_value(getattr(deal, name)) for name in FORM_FIELDS} | custom_inputs.form_values(deal.custom)


def changed_fields(deal: Deal, data: Mapping[str, Any]) -> dict[str, str]:
    """The submitted form fields that differ from the stored deal (PATCH semantics: nothing else is sent)."""
    now = current_values(deal)
    return {name: str(data[name]).strip() for name in FORM_FIELDS
            if name in data and str(data[name]).strip() != now[name]}


def _reopen_stage(stages: list[PipelineStage], moves: list[DealStageMove], deal: Deal) -> PipelineStage | None:
    """Where a closed deal goes back to: the open stage it was closed from, else the first open stage."""
    open_stages = {s.id: s for s in stages if s.kind == "open"}
    for move in reversed(moves):
        if move.to_stage_id == deal.stage_id and move.from_stage_id in open_stages:
            return open_stages[move.from_stage_id]
    return next(iter(open_stages.values()), None)


async def _owner_options(pg: Page, actor: CrmActor, deal: Deal) -> list[tuple[str, str]]:
    assert pg.tenant is not None
    options: list[tuple[str, str]] = [("", i18n.gettext("Nobody"))]
    if actor.edits_all:
        members = await access.list_members(pg.uow, pg.tenant.id, limit=200)
        options += [(str(u.id), u.full_name or u.email) for _, u in members]
    else:
        wanted = {actor.user_id, deal.owner_user_id}
        names = await access.member_names(pg.uow, pg.tenant.id, wanted)
        options += [(str(uid), name) for uid, name in names.items()]
    if deal.owner_user_id is not None and all(v != str(deal.owner_user_id) for v, _ in options):
        options.append((str(deal.owner_user_id), i18n.gettext("Former member")))
    return options


async def _account_options(pg: Page, actor: CrmActor, deal: Deal, account_name: str) -> list[tuple[str, str]]:
    page = await accounts.list_accounts(pg.uow, actor, sort="name", limit=200)
    options = [(str(a.id), a.name) for a in page.items]
    if all(v != str(deal.account_id) for v, _ in options):
        options.insert(0, (str(deal.account_id), account_name))
    return options


def checklists(stages: list[PipelineStage], deal: Deal, target: uuid.UUID | str | None = None) -> list[Checklist]:
    """The checklists the card shows: the current stage's, and the one the deal would enter next — the stage
    after the current one (the won stage after the last open one), or ``target`` (a stage id or kind) when the
    reader tried to move there. Stages without items are left out."""
    done = set(deal.checklist_done or [])
    position = next((n for n, s in enumerate(stages) if s.id == deal.stage_id), None)
    current = stages[position] if position is not None else None
    ahead: tuple[PipelineStage, str] | None = None
    wanted = next((s for s in stages if target in (s.id, s.kind)), None) if target is not None else None
    if wanted is not None and wanted.id != deal.stage_id:
        ahead = (wanted, "target")
    elif current is not None and current.kind == "open" and position is not None:
        following = next((s for s in stages[position + 1:] if s.kind != "lost"), None)
        ahead = (following, "next") if following is not None else None
    shown = [(current, "current")] if current is not None else []
    shown += [ahead] if ahead is not None else []
    return [Checklist(stage, role, [(item, item in done) for item in stage.checklist or []])
            for stage, role in shown if stage.checklist]


def ticked(deal: Deal, stages: list[PipelineStage], shown: list[str], ticks: list[str]) -> list[str]:
    """The deal's new ``checklist_done`` after a checklist form: the ``shown`` items are ticked as ``ticks`` say,
    the items of other stages keep their state, and items no stage of the pipeline lists any more are dropped."""
    listed = {item for stage in stages for item in stage.checklist or []}
    wanted = set(ticks) & set(shown)
    kept = [i for i in deal.checklist_done or [] if i in listed and (i not in shown or i in wanted)]
    return kept + [i for i in dict.fromkeys(shown) if i in wanted and i not in kept]


async def card_context(pg: Page, actor: CrmActor, deal_id: uuid.UUID,
                       target: uuid.UUID | str | None = None) -> dict[str, Any]:
    """Everything the deal card shows; ``target`` (a stage id or kind) is a stage the reader wants to enter, whose
    checklist is shown instead of the next stage's."""
    assert pg.tenant is not None
    deal = await deals.get(pg.uow, actor, deal_id)
    view = await pipelines.get(pg.uow, actor, deal.pipeline_id)
    moves = await deals.history(pg.uow, actor, deal.id)
    names = await _account_names(pg, actor, {deal.account_id})
    account_name = names.get(deal.account_id)
    members = await access.member_names(pg.uow, pg.tenant.id,
                                        {deal.owner_user_id} | {m.moved_by_user_id for m in moves})
    keys = await access.api_key_names(pg.uow, pg.tenant.id, {m.moved_by_api_key_id for m in moves})
    entries = await audit.history(pg.uow, deals.RECORD, str(deal.id), limit=50)
    stage_names = {s.id: s.name for s in view.stages}
    stage = next((s for s in view.stages if s.id == deal.stage_id), None)
    context: dict[str, Any] = {
        "deal": deal, "pipeline": view.pipeline, "stages": view.stages, "stage": stage, "stage_names": stage_names,
        "account_name": account_name, "owner_name": members.get(deal.owner_user_id) if deal.owner_user_id else None,
        "moves": [(m, members.get(m.moved_by_user_id) if m.moved_by_user_id else None,
                   keys.get(m.moved_by_api_key_id) if m.moved_by_api_key_id else None) for m in moves],
        "history": await history_rows(pg.uow, pg.tenant.id, actor, entries.items, DEAL_FIELDS, "deal"),
        "closed": deal.won_at is not None or deal.lost_at is not None,
        "reopen_stage": _reopen_stage(view.stages, moves, deal), "may_write": actor.may_write,
        "today": today(), "labels": {name: field_label(name) for name in FORM_FIELDS},
        "custom_shown": await custom_inputs.shown_values(pg.uow, "deal", deal.custom),
        "marketing_event": await pg.uow.session.get(MarketingEvent, deal.marketing_event_id)
        if deal.marketing_event_id else None,
        "checklists": checklists(view.stages, deal, target),
        "checklist_open": actor.may_write and deal.archived_at is None,
    }
    if actor.may_write:
        context["owner_options"] = await _owner_options(pg, actor, deal)
        context["account_options"] = await _account_options(
            pg, actor, deal, account_name or i18n.gettext("Hidden account"))
        context["custom_definitions"] = await custom_inputs.active_definitions(pg.uow, "deal")
        context["event_options"] = await event_options(pg, actor, deal.marketing_event_id)
    return context


async def new_deal_context(pg: Page, actor: CrmActor, values: Mapping[str, str]) -> dict[str, Any]:
    """The new-deal form: accounts the reader may pick (the one asked for first, even beyond the first page),
    the pipelines, the marketing events and the deal custom fields; ``values`` as the form shows them."""
    listed = await accounts.list_accounts(pg.uow, actor, sort="name", limit=200)
    options = [("", "—")] + [(str(a.id), a.name) for a in listed.items]
    wanted = _parse_id(values.get("account_id"))
    if wanted is not None and all(v != str(wanted) for v, _ in options):
        names = await _account_names(pg, actor, {wanted})
        if wanted in names:
            options.insert(1, (str(wanted), names[wanted]))
    views = await pipelines.list_pipelines(pg.uow, actor)
    if not values.get("pipeline_id"):
        default = next((v.pipeline for v in views if v.pipeline.is_default), views[0].pipeline)
        values = {**values, "pipeline_id": str(default.id)}
    return {
        "values": values, "account_options": options,
        "pipeline_options": [(str(v.pipeline.id), v.pipeline.name) for v in views],
        "event_options": await event_options(pg, actor, values.get("marketing_event_id")),
        "custom_definitions": await custom_inputs.active_definitions(pg.uow, "deal"),
        "labels": {name: field_label(name) for name in NEW_FIELDS},
    }


def _parse_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _sums(sums: Mapping[str | None, Decimal], fallback_currency: str) -> list[str]:
    """Per-currency sums as display texts, biggest first."""
    return [i18n.format_money(amount, currency or fallback_currency)
            for currency, amount in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0] or ""))]
