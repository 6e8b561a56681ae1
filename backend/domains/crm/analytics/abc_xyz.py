"""ABC classification of accounts by revenue share, XYZ by the variability of their monthly revenue.

Revenue comes from ``revenue.monthly_revenue`` (won deals until orders exist), in one currency (default: the
company's base currency). Accounts without revenue in the range are not listed.

ABC (thresholds A,B,C in percent, default 80,15,5, adding up to 100):

* accounts are ranked by revenue in ``[from, to]``, highest first; equal revenue is ranked by name, then id;
* an account's class follows the share of total revenue held by the accounts ranked *before* it: under A % -> A,
  under A+B % -> B, else C. So the account that crosses the A line is still an A (one account holding 90 % is an
  A, not a B);
* ties: accounts with exactly the same revenue always share a class, the class of the first of them.

XYZ (limits X,Y, default 0.5,1.0): over the twelve calendar months ending with the month of ``to`` (that month up
to the end of ``to``), the coefficient of variation of the account's monthly revenue, zero months included:
CV = population standard deviation / mean, half-up to 4 decimals; X when CV <= X, Y when CV <= Y, else Z. An
account without revenue in those twelve months has no XYZ class.

Shares are percentages half-up to 2 decimals; classes are decided on exact values, never on rounded ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from backend.db.uow import UnitOfWork
from backend.domains.crm.analytics import scope
from backend.domains.crm.analytics.funnel import percent
from backend.domains.crm.analytics.params import Period, ReportQuery, month_start
from backend.domains.crm.analytics.revenue import monthly_revenue
from backend.domains.crm.visibility import CrmActor

CV_PLACES = Decimal("0.0001")
XYZ_MONTHS = 12


@dataclass(frozen=True, slots=True)
class AbcXyzRow:
    account_id: uuid.UUID
    name: str
    revenue: Decimal
    share: Decimal  # percent of the total
    cumulative: Decimal  # percent, this account included
    abc: str
    cv: Decimal | None
    xyz: str | None


@dataclass(frozen=True, slots=True)
class AbcXyzReport:
    period: Period
    currency: str
    abc_thresholds: tuple[Decimal, Decimal, Decimal]
    xyz_thresholds: tuple[Decimal, Decimal]
    xyz_months: list[date]
    total: Decimal
    rows: list[AbcXyzRow]
    matrix: dict[str, int]  # "AX" … "CZ": accounts in each cell


def abc_classes(revenues: list[tuple[Decimal, str, uuid.UUID]], a: Decimal, b: Decimal) -> dict[uuid.UUID, str]:
    """Classes of (revenue, name, id) items by the share held by the items ranked before each (ties share)."""
    ranked = sorted(revenues, key=lambda r: (-r[0], r[1], str(r[2])))
    total = sum((r[0] for r in ranked), Decimal(0))
    classes: dict[uuid.UUID, str] = {}
    before, group_class, group_value = Decimal(0), "A", None
    for value, _, account_id in ranked:
        if value != group_value:  # a new tie group: its class follows the share before its first member
            group_value = value
            group_class = "A" if before * 100 < a * total else "B" if before * 100 < (a + b) * total else "C"
        classes[account_id] = group_class
        before += value
    return classes


def coefficient_of_variation(values: list[Decimal]) -> Decimal | None:
    """Population standard deviation / mean, unrounded (None when the mean is 0)."""
    mean = sum(values, Decimal(0)) / len(values)
    if not mean:
        return None
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)
    return variance.sqrt() / mean


def xyz_class(cv: Decimal | None, x: Decimal, y: Decimal) -> str | None:
    if cv is None:
        return None
    return "X" if cv <= x else "Y" if cv <= y else "Z"


async def abc_xyz(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> AbcXyzReport:
    cal = await scope.calendar(uow)
    await scope.plan_per_query(uow)
    currency = query.currency or cal.base_currency
    start, end = cal.bounds(query.period)
    abc_revenue = await monthly_revenue(uow, actor, cal, currency=currency, start=start, end=end)
    months = scope.month_starts(month_start(query.period.end, XYZ_MONTHS - 1), XYZ_MONTHS)
    window = Period(months[0], query.period.end)
    xyz_revenue = await monthly_revenue(uow, actor, cal, currency=currency, start=cal.bounds(window)[0], end=end)
    totals = {account_id: abc_revenue.total(account_id) for account_id in abc_revenue.monthly}
    items = [(v, abc_revenue.names[k], k) for k, v in totals.items() if v > 0]
    a, b, _ = query.abc
    classes = abc_classes(items, a, b)
    grand_total = sum((v for v, _, _ in items), Decimal("0.00"))
    rows, running = [], Decimal(0)
    for value, name, account_id in sorted(items, key=lambda r: (-r[0], r[1], str(r[2]))):
        running += value
        monthly = xyz_revenue.monthly.get(account_id, {})
        cv = coefficient_of_variation([monthly.get(m, Decimal(0)) for m in months])
        rows.append(AbcXyzRow(account_id, name, value, percent(value, grand_total) or Decimal(0),
                              percent(running, grand_total) or Decimal(0), classes[account_id],
                              None if cv is None else cv.quantize(CV_PLACES, ROUND_HALF_UP),
                              xyz_class(cv, *query.xyz)))
    matrix = {f"{abc}{xyz}": 0 for abc in "ABC" for xyz in "XYZ"}
    for row in rows:
        if row.xyz is not None:
            matrix[row.abc + row.xyz] += 1
    return AbcXyzReport(query.period, currency, query.abc, query.xyz, months, grand_total, rows, matrix)
