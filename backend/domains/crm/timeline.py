"""One account's chronological feed: interactions, deal stage changes, tasks created and done, and whatever later
domains register (orders, invoices, tickets).

A feed source is a ``kind`` (constant per source, part of the sort key) and an *arm*: a function of a
``FeedContext`` returning one SELECT of the account's events with the columns of ``COLUMNS``, newest first, cut
to ``LIMIT`` rows after the cursor (``ctx.after_clause``), so each arm reads only a page's worth of rows along an
index. The feed is the UNION ALL of the arms, ordered by (occurred_at, kind, sort_id) descending, cut to the page.
``sort_id`` is text whose order is the source's id order (canonical uuids as they are; integers zero-padded).

Arms build with bind parameters (``ACCOUNT_ID``, ``LIMIT``, ``ME``, the cursor's ``AFTER_AT``/``AFTER_ID``), so a
built feed depends only on its *shape* (which sources, which source the cursor is in, the caller's visibility) and
is built once per shape and reused; each request binds its values.

Adding a source (e.g. in a later domain)::

    @timeline.source("invoice", links=...)
    def _invoices(ctx: timeline.FeedContext) -> Select[Any]:
        return select(<the COLUMNS, labelled>).where(Invoice.account_id == timeline.ACCOUNT_ID,
            ctx.after_clause("invoice", Invoice.issued_at, Invoice.id)).order_by(...desc()).limit(timeline.LIMIT)

The module defining a source must be imported before feeds are read; the CRM's own are in ``timeline_sources``.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    DateTime,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from backend.db.uow import UnitOfWork
from backend.domains.crm import accounts
from backend.domains.crm.visibility import CrmActor
from backend.domains.identity.models import User
from backend.kit.errors import FieldError, Invalid
from backend.kit.pagination import PageOf, clamp_limit, decode_cursor, encode_cursor

# Every arm selects exactly these labelled columns, in this order.
COLUMNS = ("occurred_at", "kind", "sort_id", "event", "title", "summary", "actor_user_id", "actor_api_key_id",
           "record_type", "record_id", "detail")
SUMMARY_CHARS = 280
ACCOUNT_ID = bindparam("account_id", type_=Uuid())
LIMIT = bindparam("limit", type_=Integer())
ME = bindparam("me", type_=Uuid())
AFTER_AT = bindparam("after_at", type_=DateTime(timezone=True))
AFTER_ID: BindParameter[Any] = bindparam("after_id")  # typed by the database from the arm's id comparison


@dataclass(frozen=True, slots=True)
class FeedContext:
    """The shape of one feed: what an arm may depend on besides the bound values."""

    sees_all: bool
    has_user: bool
    account_shared: bool
    after_kind: str | None

    def after_clause(self, kind: str, time_column: Any, id_column: Any) -> Any:
        """Rows of source ``kind`` sorting after the cursor; bounded on ``time_column`` so an index serves it."""
        if self.after_kind is None:
            return true()
        if kind < self.after_kind:
            return time_column <= AFTER_AT
        if kind > self.after_kind:
            return time_column < AFTER_AT
        return and_(time_column <= AFTER_AT, tuple_(time_column, id_column) < tuple_(AFTER_AT, AFTER_ID))

    def owned(self, owner_column: Any) -> Any | None:
        """crm/visibility's owner rule as a clause (None: no limit): unowned, or owned by the caller (``ME``)."""
        if self.sees_all:
            return None
        return or_(owner_column.is_(None), owner_column == ME) if self.has_user else owner_column.is_(None)


Arm = Callable[[FeedContext], Select[Any]]


@dataclass(frozen=True, slots=True)
class Link:
    type: str
    id: str


def no_links(detail: dict[str, Any]) -> list[Link]:
    return []


@dataclass(frozen=True, slots=True)
class FeedSource:
    kind: str
    arm: Arm
    links: Callable[[dict[str, Any]], list[Link]] = no_links
    parse_id: Callable[[str], Any] = uuid.UUID  # the cursor's sort_id back to the id type


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


def source(kind: str, links: Callable[[dict[str, Any]], list[Link]] = no_links,
           parse_id: Callable[[str], Any] = uuid.UUID) -> Callable[[Arm], Arm]:
    """Register a feed arm under ``kind`` (a short lowercase name, unique)."""

    def register(arm: Arm) -> Arm:
        if kind in SOURCES and SOURCES[kind].arm is not arm:
            raise ValueError(f"timeline source {kind!r} is registered twice")
        SOURCES[kind] = FeedSource(kind, arm, links, parse_id)
        _built.cache_clear()
        return arm

    return register


def unregister(kind: str) -> None:
    SOURCES.pop(kind, None)
    _built.cache_clear()


def text_of(column: Any) -> Any:
    """Ids, and NUMERIC values (money, coordinates) as exact strings rather than JSON numbers."""
    return cast(column, String)


def _bad_cursor() -> Invalid:
    return Invalid("Invalid cursor.", [FieldError("cursor", "not a cursor from this list")])


def _sources() -> dict[str, FeedSource]:
    importlib.import_module("backend.domains.crm.timeline_sources")  # the CRM's own arms register on import
    return SOURCES


@lru_cache(maxsize=256)
def _built(kinds: tuple[str, ...], ctx: FeedContext) -> Select[Any]:
    arms = [select(SOURCES[kind].arm(ctx).subquery()) for kind in kinds]
    merged = (union_all(*arms) if len(arms) > 1 else arms[0]).subquery("feed")
    return (select(merged, func.coalesce(func.nullif(User.full_name, ""), User.email).label("actor_name"))
            .outerjoin(User, User.id == merged.c.actor_user_id)
            .order_by(merged.c.occurred_at.desc(), merged.c.kind.desc(), merged.c.sort_id.desc())
            .limit(LIMIT))


def _decode(cursor: str | None, known: dict[str, FeedSource]) -> tuple[datetime, str, Any] | None:
    values = decode_cursor(cursor, 3)
    if values is None:
        return None
    try:
        when = datetime.fromisoformat(str(values[0]))
        kind = str(values[1])
        last = known[kind].parse_id(str(values[2]))
    except (ValueError, KeyError) as exc:
        raise _bad_cursor() from exc
    if when.tzinfo is None:
        raise _bad_cursor()
    return when, kind, last


async def feed(uow: UnitOfWork, actor: CrmActor, account_id: uuid.UUID, *, cursor: str | None = None,
               limit: int = 50, kinds: list[str] | None = None) -> PageOf[FeedItem]:
    """The account's feed, newest first (404 if the account is not visible). ``kinds`` limits the sources."""
    limit = clamp_limit(limit)
    known = _sources()
    if kinds is not None and (not kinds or set(kinds) - set(known)):
        raise Invalid("Unknown kind.", [FieldError("kind", "one of: " + ", ".join(sorted(known)))])
    account = await accounts.get(uow, actor, account_id)
    after = _decode(cursor, known)
    shape = FeedContext(sees_all=actor.sees_all, has_user=actor.user_id is not None,
                        account_shared=account.is_shared, after_kind=after[1] if after else None)
    query = _built(tuple(sorted(set(kinds) if kinds is not None else known)), shape)
    values: dict[str, Any] = {"account_id": account.id, "limit": limit + 1, "me": actor.user_id}
    if after is not None:
        values |= {"after_at": after[0], "after_id": after[2]}
    rows = list((await uow.session.execute(query, values)).mappings())
    more, rows = len(rows) > limit, rows[:limit]
    items = [FeedItem(kind=r["kind"], event=r["event"], occurred_at=r["occurred_at"], title=r["title"],
                      summary=r["summary"] or None, actor_user_id=r["actor_user_id"],
                      actor_api_key_id=r["actor_api_key_id"], actor_name=r["actor_name"],
                      record_type=r["record_type"], record_id=r["record_id"],
                      links=[Link(r["record_type"], r["record_id"]), *known[r["kind"]].links(r["detail"] or {})],
                      detail={k: v for k, v in (r["detail"] or {}).items() if v is not None})
             for r in rows]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([last["occurred_at"].isoformat(), last["kind"], last["sort_id"]])
    return PageOf(items, next_cursor)


def source_kinds() -> list[str]:
    return sorted(_sources())
