"""Revenue per account and month: the ONE revenue source of the account reports (ABC/XYZ, BCG).

Until the sales domain has orders, revenue is the amount of won deals, dated by ``won_at`` (the company's local
month), in one currency (no exchange rates yet: other currencies are left out). When orders exist, change
``monthly_revenue`` to read them (same signature) and every account report follows.

Visibility (``scope``): visible won deals on visible accounts; archived deals and accounts are left out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from backend.db.uow import UnitOfWork
from backend.domains.crm.analytics import scope
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor


@dataclass(frozen=True, slots=True)
class Revenue:
    monthly: dict[uuid.UUID, dict[date, Decimal]]  # account -> first day of local month -> revenue
    names: dict[uuid.UUID, str]

    def total(self, account_id: uuid.UUID, first: date | None = None, last: date | None = None) -> Decimal:
        """An account's revenue over the months from ``first`` to ``last`` (both first days, inclusive)."""
        return sum((v for m, v in self.monthly.get(account_id, {}).items()
                    if (first is None or m >= first) and (last is None or m <= last)), Decimal("0.00"))


async def monthly_revenue(uow: UnitOfWork, actor: CrmActor, cal: scope.Calendar, *, currency: str,
                          start: datetime, end: datetime) -> Revenue:
    """Revenue per account and local month, dated in ``[start, end)``."""
    month = cal.local_month(Deal.won_at).label("month")
    stmt = (select(Deal.account_id, Account.name, month, func.sum(Deal.amount))
            .join(Account, Account.id == Deal.account_id)
            .where(Deal.won_at >= start, Deal.won_at < end, Deal.currency == currency, Deal.amount.is_not(None),
                   Deal.archived_at.is_(None), Account.archived_at.is_(None))
            .group_by(Deal.account_id, Account.name, month))
    for clause in (scope.deal_clause(actor), scope.account_clause(actor)):
        if clause is not None:
            stmt = stmt.where(clause)
    found = Revenue({}, {})
    for account_id, name, first_day, amount in (await uow.session.execute(stmt)).all():
        found.monthly.setdefault(account_id, {})[first_day] = Decimal(amount)
        found.names[account_id] = name
    return found
