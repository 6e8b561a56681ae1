"""One account's chronological feed: interactions, deal stage changes, tasks created and done, and whatever later
domains register (orders, invoices, tickets).

A feed source is a ``kind`` (constant per source, part of the sort key) and an *arm*: a function returning one
SELECT of the account's events with the columns of ``COLUMNS``, newest first, already limited and restricted to
rows after the cursor, so that each arm reads only a page's worth of rows along an index. The feed is the
UNION ALL of the arms, ordered by (occurred_at, kind, sort_id) descending, cut to the page. ``sort_id`` is text
whose order equals the source's id order (canonical uuids as they are; integers zero-padded).

Adding a source (e.g. in a later domain)::

    @timeline.source("invoice")
    def _invoices(ctx: timeline.FeedContext, after: timeline.After | None, limit: int) -> Select[Any]:
        ...  # select(... .label(c) for c in COLUMNS) where account = ctx.account.id, ctx.after_clause(...)

The module defining the arm must be imported before the feed is read (backend/models.py imports every model
module; register next to the models or import the module from the adapter).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, literal, select, tuple_, union_all
from sqlalchemy.orm import aliased

from backend.db.uow import UnitOfWork
from backend.domains.crm import accounts
from backend.domains.crm.activity_models import Interaction, Task
from backend.domains.crm.deals_models import Deal, DealStageMove, PipelineStage
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.domains.identity.models import User
from backend.kit.errors import FieldError, Invalid
from backend.kit.pagination import PageOf, clamp_limit, decode_cursor, encode_cursor

# Every arm selects exactly these labelled columns, in this order.
COLUMNS = ("occurred_at", "kind", "sort_id", "event", "title", "summary", "actor_user_id", "actor_api_key_id",
           "record_type", "record_id", "detail")
SUMMARY_CHARS = 280


@dataclass(frozen=True, slots=True)
class After:
    """The cursor: the last item of the previous page."""

    occurred_at: datetime
    kind: str
    sort_id: str


@dataclass(frozen=True, slots=True)
class FeedContext:
    actor: CrmActor
    account: Account

    def after_clause(self, kind: str, time_column: Any, id_column: Any, after: After | None,
                     parse_id: Callable[[str], Any] = uuid.UUID) -> Any:
        """Rows of source ``kind`` that sort after the cursor; bounded on ``time_column`` so an index serves it."""
        if after is None:
            return literal(True)
        if kind < after.kind:
            return time_column <= after.occurred_at
        if kind > after.kind:
            return time_column < after.occurred_at
        try:
            last = parse_id(after.sort_id)
        except ValueError as exc:
            raise _bad_cursor() from exc
        return and_(time_column <= after.occurred_at, tuple_(time_column, id_column) < tuple_(after.occurred_at, last))


Arm = Callable[[FeedContext, After | None, int], Select[Any]]


@dataclass(frozen=True, slots=True)
class Link:
    type: str
    id: str


@dataclass(frozen=True, slots=True)
class FeedSource:
    kind: str
    arm: Arm
    links: Callable[[dict[str, Any]], list[Link]] = lambda detail: []


@dataclass(frozen=True, slots=True)
class FeedItem:
    kind: str
    event: str
    occurred_at: datetime
    title: str | None
    summary: str | None
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_name: str | None
    record_type: str
    record_id: str
    links: list[Link] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


SOURCES: dict[str, FeedSource] = {}


def source(kind: str, links: Callable[[dict[str, Any]], list[Link]] | None = None) -> Callable[[Arm], Arm]:
    """Register a feed arm under ``kind`` (a short lowercase name, unique)."""

    def register(arm: Arm) -> Arm:
        if kind in SOURCES and SOURCES[kind].arm is not arm:
            raise ValueError(f"timeline source {kind!r} is registered twice")
        SOURCES[kind] = FeedSource(kind, arm, links or (lambda detail: []))
        return arm

    return register


def _bad_cursor() -> Invalid:
    return Invalid("Invalid cursor.", [FieldError("cursor", "not a cursor from this list")])


def _id_links(*names: str) -> Callable[[dict[str, Any]], list[Link]]:
    """Links from ``detail`` keys such as ``contact_id`` → Link("contact", id), when set."""

    def links(detail: dict[str, Any]) -> list[Link]:
        return [Link(name.removesuffix("_id"), str(detail[name])) for name in names if detail.get(name)]

    return links


def _text_id(column: Any) -> Any:
    return cast(column, String)


# --- the CRM's own sources ---------------------------------------------------------------------------------------

@source("interaction", links=_id_links("contact_id", "deal_id"))
def _interactions(ctx: FeedContext, after: After | None, limit: int) -> Select[Any]:
    i = Interaction
    detail = func.jsonb_build_object("contact_id", i.contact_id, "deal_id", i.deal_id, "direction", i.direction,
                                     "duration_seconds", i.duration_seconds, "latitude", i.latitude,
                                     "longitude", i.longitude, "address", i.address, "source", i.source)
    return (select(i.occurred_at.label("occurred_at"), literal("interaction").label("kind"),
                   _text_id(i.id).label("sort_id"), i.kind.label("event"), i.subject.label("title"),
                   func.left(i.body, SUMMARY_CHARS).label("summary"), i.author_user_id.label("actor_user_id"),
                   i.author_api_key_id.label("actor_api_key_id"), literal("interaction").label("record_type"),
                   _text_id(i.id).label("record_id"), detail.label("detail"))
            .where(i.account_id == ctx.account.id, i.archived_at.is_(None),
                   ctx.after_clause("interaction", i.occurred_at, i.id, after))
            .order_by(i.occurred_at.desc(), i.id.desc()).limit(limit))


@source("deal_stage")
def _deal_stages(ctx: FeedContext, after: After | None, limit: int) -> Select[Any]:
    h, d = DealStageMove, Deal
    came, went = aliased(PipelineStage, name="from_stage"), aliased(PipelineStage, name="to_stage")
    event = case((h.from_stage_id.is_(None), "deal_created"), (went.kind == "won", "deal_won"),
                 (went.kind == "lost", "deal_lost"), (came.kind.in_(("won", "lost")), "deal_reopened"),
                 else_="deal_moved")
    detail = func.jsonb_build_object("from_stage_id", h.from_stage_id, "to_stage_id", h.to_stage_id,
                                     "from_stage", came.name, "to_stage", went.name, "amount", d.amount,
                                     "currency", d.currency)
    query = (select(h.moved_at.label("occurred_at"), literal("deal_stage").label("kind"),
                    func.lpad(_text_id(h.id), 20, "0").label("sort_id"), event.label("event"),
                    d.title.label("title"), func.concat_ws(" → ", came.name, went.name).label("summary"),
                    h.moved_by_user_id.label("actor_user_id"), h.moved_by_api_key_id.label("actor_api_key_id"),
                    literal("deal").label("record_type"), _text_id(d.id).label("record_id"), detail.label("detail"))
             .join(d, d.id == h.deal_id)
             .outerjoin(came, came.id == h.from_stage_id).outerjoin(went, went.id == h.to_stage_id)
             .where(d.account_id == ctx.account.id, d.archived_at.is_(None),
                    ctx.after_clause("deal_stage", h.moved_at, h.id, after, int)))
    if not ctx.account.is_shared:  # deals follow their own owner unless the account is shared (crm/deals.py)
        by_owner = visible_clause(ctx.actor, d.owner_user_id)
        if by_owner is not None:
            query = query.where(by_owner)
    return query.order_by(h.moved_at.desc(), h.id.desc()).limit(limit)


def _task_arm(kind: str, time_column: Any, user_column: Any, key_column: Any) -> Arm:
    def arm(ctx: FeedContext, after: After | None, limit: int) -> Select[Any]:
        t = Task
        detail = func.jsonb_build_object("due_at", t.due_at, "due_date", t.due_date, "assignee_user_id",
                                         t.assignee_user_id, "contact_id", t.contact_id, "deal_id", t.deal_id,
                                         "done_at", t.done_at)
        # Tasks on a visible account are visible (crm/tasks.py), and the account was checked before.
        return (select(time_column.label("occurred_at"), literal(kind).label("kind"),
                       _text_id(t.id).label("sort_id"), literal(kind).label("event"), t.title.label("title"),
                       func.left(t.notes, SUMMARY_CHARS).label("summary"), user_column.label("actor_user_id"),
                       key_column.label("actor_api_key_id"), literal("task").label("record_type"),
                       _text_id(t.id).label("record_id"), detail.label("detail"))
                .where(t.account_id == ctx.account.id, t.archived_at.is_(None), time_column.is_not(None),
                       ctx.after_clause(kind, time_column, t.id, after))
                .order_by(time_column.desc(), t.id.desc()).limit(limit))

    return arm


source("task_created", links=_id_links("contact_id", "deal_id"))(
    _task_arm("task_created", Task.created_at, Task.created_by_user_id, Task.created_by_api_key_id))
source("task_done", links=_id_links("contact_id", "deal_id"))(
    _task_arm("task_done", Task.done_at, Task.done_by_user_id, Task.done_by_api_key_id))


# --- the feed ----------------------------------------------------------------------------------------------------

def _decode(cursor: str | None) -> After | None:
    values = decode_cursor(cursor, 3)
    if values is None:
        return None
    try:
        when = datetime.fromisoformat(str(values[0]))
    except ValueError as exc:
        raise _bad_cursor() from exc
    if when.tzinfo is None or not isinstance(values[1], str) or not isinstance(values[2], str):
        raise _bad_cursor()
    return After(when, values[1], values[2])


async def feed(uow: UnitOfWork, actor: CrmActor, account_id: uuid.UUID, *, cursor: str | None = None,
               limit: int = 50, kinds: list[str] | None = None) -> PageOf[FeedItem]:
    """The account's feed, newest first (404 if the account is not visible). ``kinds`` limits the sources."""
    limit = clamp_limit(limit)
    account = await accounts.get(uow, actor, account_id)
    if kinds is not None and set(kinds) - set(SOURCES):
        raise Invalid("Unknown kind.", [FieldError("kind", "one of: " + ", ".join(sorted(SOURCES)))])
    after = _decode(cursor)
    ctx = FeedContext(actor, account)
    arms = [select(src.arm(ctx, after, limit + 1).subquery()) for kind, src in sorted(SOURCES.items())
            if kinds is None or kind in kinds]
    merged = union_all(*arms).subquery("feed") if len(arms) > 1 else arms[0].subquery("feed")
    query = (select(merged, func.coalesce(func.nullif(User.full_name, ""), User.email).label("actor_name"))
             .outerjoin(User, User.id == merged.c.actor_user_id)
             .order_by(merged.c.occurred_at.desc(), merged.c.kind.desc(), merged.c.sort_id.desc())
             .limit(limit + 1))
    rows = list((await uow.session.execute(query)).mappings())
    more, rows = len(rows) > limit, rows[:limit]
    items = [FeedItem(kind=r["kind"], event=r["event"], occurred_at=r["occurred_at"], title=r["title"],
                      summary=r["summary"] or None, actor_user_id=r["actor_user_id"],
                      actor_api_key_id=r["actor_api_key_id"], actor_name=r["actor_name"],
                      record_type=r["record_type"], record_id=r["record_id"],
                      links=[Link(r["record_type"], r["record_id"]), *SOURCES[r["kind"]].links(r["detail"] or {})],
                      detail={k: v for k, v in (r["detail"] or {}).items() if v is not None})
             for r in rows]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([last["occurred_at"].isoformat(), last["kind"], last["sort_id"]])
    return PageOf(items, next_cursor)


def source_kinds() -> list[str]:
    return sorted(SOURCES)
