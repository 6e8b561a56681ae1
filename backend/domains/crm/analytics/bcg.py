"""A BCG-style matrix of accounts: relative revenue share against revenue growth.

Revenue comes from ``revenue.monthly_revenue`` (won deals until orders exist), in one currency (default: the
company's base currency).

* **Last 12 months**: the twelve calendar months ending with the month of ``to`` (that month up to the end of
  ``to``); **previous 12 months**: the twelve months before them. ``from`` is not used.
* **Relative share** = the account's revenue in the last 12 months / the largest account's revenue in the last 12
  months (the largest account has 1), half-up to 4 decimals.
* **Growth** = (last 12 - previous 12) / previous 12 x 100 percent, half-up to 2 decimals; ``None`` ("new") when the
  account had no revenue in the previous 12 months.
* **High share**: relative share >= ``share`` (default 0.5). **High growth**: growth >= ``growth`` percent
  (default 10), or a new account.
* Quadrants: ``star`` (high share, high growth), ``cash_cow`` (high share, low growth), ``question_mark`` (low share,
  high growth), ``dog`` (low share, low growth). Thresholds compare exact values, not the rounded ones shown.
* Listed: accounts with revenue in either window, by revenue in the last 12 months (highest first), then name, id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from backend.db.uow import UnitOfWork
from backend.domains.crm.analytics import scope
from backend.domains.crm.analytics.params import Period, ReportQuery, month_start
from backend.domains.crm.analytics.revenue import monthly_revenue
from backend.domains.crm.visibility import CrmActor

QUADRANTS = ("star", "cash_cow", "question_mark", "dog")


@dataclass(frozen=True, slots=True)
class BcgPoint:
    account_id: uuid.UUID
    name: str
    revenue: Decimal  # last 12 months
    previous: Decimal  # the 12 months before
    relative_share: Decimal
    growth: Decimal | None  # percent; None: new account
    quadrant: str


@dataclass(frozen=True, slots=True)
class BcgReport:
    currency: str
    last: Period
    previous: Period
    share_threshold: Decimal
    growth_threshold: Decimal
    points: list[BcgPoint]
    counts: dict[str, int]


def quadrant(share: Decimal, growth: Decimal | None, share_threshold: Decimal, growth_threshold: Decimal) -> str:
    high_share = share >= share_threshold
    high_growth = growth is None or growth >= growth_threshold
    if high_share:
        return "star" if high_growth else "cash_cow"
    return "question_mark" if high_growth else "dog"


async def bcg(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> BcgReport:
    cal = await scope.calendar(uow)
    await scope.plan_per_query(uow)
    currency = query.currency or cal.base_currency
    last_start, previous_start = month_start(query.period.end, 11), month_start(query.period.end, 23)
    last = Period(last_start, query.period.end)
    previous = Period(previous_start, date.fromordinal(last_start.toordinal() - 1))
    found = await monthly_revenue(uow, actor, cal, currency=currency, start=cal.bounds(previous)[0],
                                  end=cal.bounds(last)[1])
    figures = {account_id: (found.total(account_id, first=last_start), found.total(account_id, last=previous.end))
               for account_id in found.monthly}
    largest = max((now for now, _ in figures.values()), default=Decimal(0))
    points = []
    for account_id, (now, before) in figures.items():
        if not now and not before:
            continue
        exact_share = now / largest if largest else Decimal(0)
        exact_growth = (now - before) * 100 / before if before else None
        points.append(BcgPoint(
            account_id, found.names[account_id], now, before, exact_share.quantize(Decimal("0.0001"), ROUND_HALF_UP),
            None if exact_growth is None else exact_growth.quantize(Decimal("0.01"), ROUND_HALF_UP),
            quadrant(exact_share, exact_growth, query.share, query.growth)))
    points.sort(key=lambda p: (-p.revenue, p.name, str(p.account_id)))
    counts = {q: sum(1 for p in points if p.quadrant == q) for q in QUADRANTS}
    return BcgReport(currency, last, previous, query.share, query.growth, points, counts)
