"""Weighted pipeline forecast by month of the expected close date.

* Deals counted: open (neither won nor lost), not archived, visible to the caller, with an amount; optionally one
  pipeline and one currency.
* Per bucket and currency: the number of deals, sum(amount) and weighted = sum(amount x probability / 100), summed
  exactly and rounded half-up to cents once per bucket. Currencies are never added together; a deal with an
  amount but no currency is reported under the currency ``None``.
* Buckets, in order: ``overdue`` (expected close date before today, in the company's time zone), the twelve months
  from the current month on (``YYYY-MM``; the current month holds today and later days), ``later`` (after those
  twelve months) and ``undated`` (no expected close date).
* Totals per currency are the sums of the rounded buckets, so a column always adds up on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select

from backend.db.uow import UnitOfWork
from backend.domains.crm.analytics import scope
from backend.domains.crm.analytics.params import ReportQuery, month_start
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.visibility import CrmActor

CENT = Decimal("0.01")
MONTHS = 12
OVERDUE, LATER, UNDATED = "overdue", "later", "undated"


@dataclass(frozen=True, slots=True)
class Money:
    """Deals, their amount and their weighted amount in one currency."""

    currency: str | None
    deals: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str  # "overdue", "2026-11", …, "later", "undated"
    month: date | None
    cells: list[Money]  # one per currency with deals in the bucket, sorted by currency


@dataclass(frozen=True, slots=True)
class Forecast:
    today: date
    currencies: list[str | None]
    buckets: list[Bucket]
    totals: list[Money]


def weighted(raw: Decimal | None) -> Decimal:
    """sum(amount x probability) / 100, half-up to cents."""
    return (Decimal(raw or 0) / 100).quantize(CENT, ROUND_HALF_UP)


def currency_order(currency: str | None) -> tuple[bool, str]:
    return currency is None, currency or ""


async def forecast(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> Forecast:
    cal = await scope.calendar(uow)
    await scope.plan_per_query(uow)
    today = cal.today()
    months = scope.month_starts(today, MONTHS)
    horizon = month_start(months[-1], -1)
    bucket = case(
        (Deal.expected_close_date.is_(None), UNDATED),
        (Deal.expected_close_date < today, OVERDUE),
        (Deal.expected_close_date >= horizon, LATER),
        else_=func.to_char(Deal.expected_close_date, "YYYY-MM"),
    ).label("bucket")
    stmt = (select(bucket, Deal.currency, func.count(), func.sum(Deal.amount), func.sum(Deal.amount * Deal.probability))
            .where(Deal.won_at.is_(None), Deal.lost_at.is_(None), Deal.archived_at.is_(None),
                   Deal.amount.is_not(None))
            .group_by(bucket, Deal.currency))
    if query.pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == query.pipeline_id)
    if query.currency is not None:
        stmt = stmt.where(Deal.currency == query.currency)
    visible = scope.deal_clause(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    found: dict[str, list[Money]] = {}
    for key, currency, deals, amount, raw in (await uow.session.execute(stmt)).all():
        found.setdefault(key, []).append(Money(currency, int(deals), Decimal(amount), weighted(raw)))
    keys = [(OVERDUE, None)] + [(m.strftime("%Y-%m"), m) for m in months] + [(LATER, None), (UNDATED, None)]
    buckets = [Bucket(key, month, sorted(found.get(key, []), key=lambda c: currency_order(c.currency)))
               for key, month in keys]
    totals: dict[str | None, Money] = {}
    for b in buckets:
        for c in b.cells:
            t = totals.get(c.currency, Money(c.currency, 0, Decimal(0), Decimal(0)))
            totals[c.currency] = Money(c.currency, t.deals + c.deals, t.amount + c.amount, t.weighted + c.weighted)
    currencies = sorted(totals, key=currency_order)
    return Forecast(today, currencies, buckets, [totals[c] for c in currencies])
