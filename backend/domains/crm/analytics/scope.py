"""What a report may count, and the company's calendar.

Visibility of reports (the rule, stated once; it applies crm/visibility.py to reports):

* owner, admin, manager, and the read-only roles accountant, support and viewer: every deal and every account;
* rep: the deals the deals list shows them (deals they own, unowned deals, and any deal on a shared account) and
  the accounts they see (own, unowned, shared); revenue of an account counts only the visible deals;
* per-rep rows (win rate, cycle time, open pipeline, activities): a rep gets their own row only, the other roles
  get one row per owner (and one for unassigned deals);
* an API key acts with its role; a rep-level key owns nothing, so it gets no per-rep row.

Archived deals and accounts are left out of every report.

Calendar: report dates are calendar days in the company's time zone (``company_settings.timezone``): day ``d``
runs from ``d 00:00`` to ``d+1 00:00`` local time, and timestamps fall into the local month they happened in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, false, func, or_, select, text

from backend.db.uow import UnitOfWork
from backend.domains.company.models import CompanySettings
from backend.domains.crm.analytics.params import Period, ReportQuery, parse
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.kit.clock import utcnow


def deal_clause(actor: CrmActor) -> ColumnElement[bool] | None:
    """WHERE over ``deals`` (None: no limit): the deals list's rule (crm/deals.py), with the shared accounts as a
    subquery, so reports need no join with 200,000 accounts to find the few shared ones."""
    by_owner = visible_clause(actor, Deal.owner_user_id)
    if by_owner is None:
        return None
    return or_(by_owner, Deal.account_id.in_(select(Account.id).where(Account.is_shared.is_(True))))


def account_clause(actor: CrmActor) -> ColumnElement[bool] | None:
    """WHERE over ``accounts`` (None: no limit)."""
    clause: ColumnElement[bool] | None = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    return clause


def only_own_row(actor: CrmActor) -> bool:
    """Whether per-rep rows are limited to the caller's own (reps)."""
    return not actor.sees_all


def own_row_clause(actor: CrmActor, owner_column: Any) -> ColumnElement[bool] | None:
    """WHERE limiting per-rep rows: a rep (or rep key) gets their own row only."""
    if not only_own_row(actor):
        return None
    if actor.user_id is None:
        return false()
    clause: ColumnElement[bool] = owner_column == actor.user_id
    return clause


@dataclass(frozen=True, slots=True)
class Calendar:
    """The company's time zone and base currency, as reports need them."""

    zone_name: str
    base_currency: str

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.zone_name)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    def instant(self, day: date) -> datetime:
        """Local midnight at the start of ``day``, as an aware datetime."""
        return datetime.combine(day, time(), self.zone)

    def bounds(self, period: Period) -> tuple[datetime, datetime]:
        """``[start 00:00, end+1 00:00)`` local time."""
        return self.instant(period.start), self.instant(period.end + timedelta(days=1))

    def local_month(self, column: Any) -> Any:
        """SQL: the first day of the local month of a timestamptz column (a date)."""
        return func.date_trunc("month", func.timezone(self.zone.key, column)).cast(Date)


async def plan_per_query(uow: UnitOfWork) -> None:
    """Plan the report's statements for their actual parameters, for the rest of this transaction.

    Statements are prepared (asyncpg), and after five runs PostgreSQL may switch to a generic plan that cannot
    see how selective a date range or an owner is; for a report the planning time is nothing next to a bad plan.
    """
    await uow.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def calendar(uow: UnitOfWork) -> Calendar:
    row = (await uow.session.execute(select(CompanySettings.timezone, CompanySettings.base_currency))).one_or_none()
    return Calendar(row.timezone, row.base_currency) if row is not None else Calendar("UTC", "USD")


def month_starts(first: date, count: int) -> list[date]:
    """``count`` first-of-month dates from the month of ``first`` on."""
    index = first.year * 12 + first.month - 1
    return [date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(count)]



async def read_query(uow: UnitOfWork, raw: Mapping[str, str | None]) -> ReportQuery:
    """The report query from raw parameters, ``today`` in the company's time zone (400 on bad input)."""
    return parse(raw, today=(await calendar(uow)).today())
