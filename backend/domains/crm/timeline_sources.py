"""The CRM's own timeline sources: interactions, deal stage changes, tasks created and tasks done.

Each arm reads the account's rows newest first along an index and stops after ``LIMIT`` rows (see timeline.py).
The account itself was checked visible before the feed is read; interactions and tasks on a visible account are
visible (crm/interactions.py, crm/tasks.py); deals follow their own owner unless the account is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, case, func, literal, select, true
from sqlalchemy.orm import aliased

from backend.domains.crm.activity_models import Interaction, Task
from backend.domains.crm.deals_models import Deal, DealStageMove, PipelineStage
from backend.domains.crm.timeline import ACCOUNT_ID, LIMIT, SUMMARY_CHARS, FeedContext, Link, source, text_of


def _id_links(*names: str) -> Callable[[dict[str, Any]], list[Link]]:
    """Links from ``detail`` keys such as ``contact_id`` → Link("contact", id), when set."""

    def links(detail: dict[str, Any]) -> list[Link]:
        return [Link(name.removesuffix("_id"), str(detail[name])) for name in names if detail.get(name)]

    return links


@source("interaction", links=_id_links("contact_id", "deal_id"))
def interactions(ctx: FeedContext) -> Select[Any]:
    i = Interaction
    detail = func.jsonb_build_object("contact_id", i.contact_id, "deal_id", i.deal_id, "direction", i.direction,
                                     "duration_seconds", i.duration_seconds, "latitude", text_of(i.latitude),
                                     "longitude", text_of(i.longitude), "address", i.address, "source", i.source)
    return (select(i.occurred_at.label("occurred_at"), literal("interaction").label("kind"),
                   text_of(i.id).label("sort_id"), i.kind.label("event"), i.subject.label("title"),
                   func.left(i.body, SUMMARY_CHARS).label("summary"), i.author_user_id.label("actor_user_id"),
                   i.author_api_key_id.label("actor_api_key_id"), literal("interaction").label("record_type"),
                   text_of(i.id).label("record_id"), detail.label("detail"))
            .where(i.account_id == ACCOUNT_ID, i.archived_at.is_(None),
                   ctx.after_clause("interaction", i.occurred_at, i.id))
            .order_by(i.occurred_at.desc(), i.id.desc()).limit(LIMIT))


@source("deal_stage", parse_id=int)
def deal_stages(ctx: FeedContext) -> Select[Any]:
    h, d = DealStageMove, Deal
    # The newest moves of each of the account's deals (an index probe per deal), then the newest of those:
    # an account with many deals never sorts all of their history.
    per_deal = (select(h.id, h.deal_id, h.from_stage_id, h.to_stage_id, h.moved_at, h.moved_by_user_id,
                       h.moved_by_api_key_id)
                .where(h.deal_id == d.id, ctx.after_clause("deal_stage", h.moved_at, h.id))
                .order_by(h.moved_at.desc(), h.id.desc()).limit(LIMIT).lateral("move"))
    newest = (select(per_deal, d.title, d.amount, d.currency).select_from(d).join(per_deal, true())
              .where(d.account_id == ACCOUNT_ID, d.archived_at.is_(None)))
    by_owner = None if ctx.account_shared else ctx.owned(d.owner_user_id)
    if by_owner is not None:
        newest = newest.where(by_owner)
    m = newest.order_by(per_deal.c.moved_at.desc(), per_deal.c.id.desc()).limit(LIMIT).subquery("moves")
    came, went = aliased(PipelineStage, name="from_stage"), aliased(PipelineStage, name="to_stage")
    event = case((m.c.from_stage_id.is_(None), "deal_created"), (went.kind == "won", "deal_won"),
                 (went.kind == "lost", "deal_lost"), (came.kind.in_(("won", "lost")), "deal_reopened"),
                 else_="deal_moved")
    detail = func.jsonb_build_object("from_stage_id", m.c.from_stage_id, "to_stage_id", m.c.to_stage_id,
                                     "from_stage", came.name, "to_stage", went.name,
                                     "amount", text_of(m.c.amount), "currency", m.c.currency)
    return (select(m.c.moved_at.label("occurred_at"), literal("deal_stage").label("kind"),
                   func.lpad(text_of(m.c.id), 20, "0").label("sort_id"), event.label("event"),
                   m.c.title.label("title"), func.concat_ws(" → ", came.name, went.name).label("summary"),
                   m.c.moved_by_user_id.label("actor_user_id"), m.c.moved_by_api_key_id.label("actor_api_key_id"),
                   literal("deal").label("record_type"), text_of(m.c.deal_id).label("record_id"),
                   detail.label("detail"))
            .select_from(m).outerjoin(came, came.id == m.c.from_stage_id)
            .outerjoin(went, went.id == m.c.to_stage_id)
            .order_by(m.c.moved_at.desc(), m.c.id.desc()))


def _task_arm(kind: str, time_column: Any, user_column: Any, key_column: Any) -> Callable[[FeedContext], Select[Any]]:
    def arm(ctx: FeedContext) -> Select[Any]:
        t = Task
        detail = func.jsonb_build_object("due_at", t.due_at, "due_date", t.due_date, "assignee_user_id",
                                         t.assignee_user_id, "contact_id", t.contact_id, "deal_id", t.deal_id,
                                         "done_at", t.done_at)
        return (select(time_column.label("occurred_at"), literal(kind).label("kind"),
                       text_of(t.id).label("sort_id"), literal(kind).label("event"), t.title.label("title"),
                       func.left(t.notes, SUMMARY_CHARS).label("summary"), user_column.label("actor_user_id"),
                       key_column.label("actor_api_key_id"), literal("task").label("record_type"),
                       text_of(t.id).label("record_id"), detail.label("detail"))
                .where(t.account_id == ACCOUNT_ID, t.archived_at.is_(None), time_column.is_not(None),
                       ctx.after_clause(kind, time_column, t.id))
                .order_by(time_column.desc(), t.id.desc()).limit(LIMIT))

    return arm


task_created = source("task_created", links=_id_links("contact_id", "deal_id"))(
    _task_arm("task_created", Task.created_at, Task.created_by_user_id, Task.created_by_api_key_id))
task_done = source("task_done", links=_id_links("contact_id", "deal_id"))(
    _task_arm("task_done", Task.done_at, Task.done_by_user_id, Task.done_by_api_key_id))
