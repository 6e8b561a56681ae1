"""Rep KPIs over a date range, one row per deal owner (``None``: unassigned deals).

* **Closed deals**: won or lost within the range (``won_at`` / ``lost_at``, company time zone), visible, not
  archived, optionally one pipeline. A deal reopened after closing counts no more.
* **Win rate** = won / (won + lost) x 100, half-up to 2 decimals (None without closed deals).
* **Average cycle time** = mean of (``won_at`` or ``lost_at``) - ``created_at`` over those deals, in days, half-up
  to 2 decimals.
* **Open pipeline**: deals open now (not bound to the range), per currency: number, sum(amount) and
  sum(amount x probability / 100) rounded half-up to cents.
* **Activities**: interactions by kind within the range (``activities``), or None when the interactions table
  does not exist yet; the report then has no activities part at all.

A rep gets their own row only; the other roles one row per owner (``scope``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from backend.db.uow import UnitOfWork
from backend.domains.crm.analytics import activities, people, scope
from backend.domains.crm.analytics.forecast import Money, currency_order, weighted
from backend.domains.crm.analytics.funnel import percent
from backend.domains.crm.analytics.params import Period, ReportQuery
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.visibility import CrmActor

SECONDS_PER_DAY = Decimal(86400)


@dataclass(frozen=True, slots=True)
class RepRow:
    user_id: uuid.UUID | None
    name: str | None
    won: int
    lost: int
    win_rate: Decimal | None
    avg_cycle_days: Decimal | None
    open: list[Money]
    activities: dict[str, int] | None  # None: no interactions table yet


@dataclass(frozen=True, slots=True)
class RepReport:
    period: Period
    rows: list[RepRow]
    activity_kinds: list[str] | None  # None: the report has no activities part


def _limited(stmt: Any, actor: CrmActor, pipeline_id: uuid.UUID | None) -> Any:
    stmt = stmt.where(Deal.archived_at.is_(None))
    if pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == pipeline_id)
    visible = scope.deal_clause(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    own = scope.own_row_clause(actor, Deal.owner_user_id)
    return stmt if own is None else stmt.where(own)


async def _closed(uow: UnitOfWork, actor: CrmActor, query: ReportQuery,
                  cal: scope.Calendar) -> dict[uuid.UUID | None, tuple[int, int, Decimal]]:
    start, end = cal.bounds(query.period)
    closed_at = func.coalesce(Deal.won_at, Deal.lost_at)
    stmt = (select(Deal.owner_user_id, func.count().filter(Deal.won_at.is_not(None)),
                   func.count().filter(Deal.won_at.is_(None)),
                   func.sum(func.extract("epoch", closed_at - Deal.created_at)))
            .where(closed_at >= start, closed_at < end).group_by(Deal.owner_user_id))
    rows = await uow.session.execute(_limited(stmt, actor, query.pipeline_id))
    return {owner: (int(won), int(lost), Decimal(seconds or 0)) for owner, won, lost, seconds in rows.all()}


async def _open(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> dict[uuid.UUID | None, list[Money]]:
    stmt = (select(Deal.owner_user_id, Deal.currency, func.count(), func.sum(Deal.amount),
                   func.sum(Deal.amount * Deal.probability))
            .where(Deal.won_at.is_(None), Deal.lost_at.is_(None), Deal.amount.is_not(None))
            .group_by(Deal.owner_user_id, Deal.currency))
    if query.currency is not None:
        stmt = stmt.where(Deal.currency == query.currency)
    found: dict[uuid.UUID | None, list[Money]] = {}
    for owner, currency, deals, amount, raw in (await uow.session.execute(_limited(stmt, actor,
                                                                                    query.pipeline_id))).all():
        found.setdefault(owner, []).append(Money(currency, int(deals), Decimal(amount), weighted(raw)))
    return {owner: sorted(cells, key=lambda c: currency_order(c.currency)) for owner, cells in found.items()}


async def reps(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> RepReport:
    cal = await scope.calendar(uow)
    await scope.plan_per_query(uow)
    closed = await _closed(uow, actor, query, cal)
    open_value = await _open(uow, actor, query)
    table = activities.interactions_table()
    acts = await activities.per_author(uow, actor, table, cal, query.period) if table is not None else None
    owners = set(closed) | set(open_value) | set(acts or {})
    if scope.only_own_row(actor):
        owners = {actor.user_id} if actor.user_id is not None else set()
    names = await people.user_names(uow, owners)
    rows = []
    for owner in owners:
        won, lost, seconds = closed.get(owner, (0, 0, Decimal(0)))
        cycle = (seconds / (won + lost) / SECONDS_PER_DAY).quantize(Decimal("0.01"), ROUND_HALF_UP) if (
            won + lost) else None
        rows.append(RepRow(owner, names.get(owner) if owner else None, won, lost, percent(won, won + lost), cycle,
                           open_value.get(owner, []), None if acts is None else acts.get(owner, {})))
    rows.sort(key=lambda r: (r.user_id is None, (r.name or "").casefold(), str(r.user_id)))
    kinds = None if acts is None else sorted({k for counts in acts.values() for k in counts})
    return RepReport(query.period, rows, kinds)
