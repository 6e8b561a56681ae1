"""Activities per rep: interactions counted by author and kind over a date range.

The ``interactions`` table (account_id, author_user_id, kind, occurred_at, archived_at) belongs to the interactions
service. This module reads it as a ``Table`` from the tenant metadata: while no model registers it,
``interactions_table()`` is None and the rep report leaves its activities part out (it is *absent*, not empty).

Counted: interactions not archived, ``occurred_at`` within the range (company time zone). Visibility follows the
per-rep rule of reports (``scope``): a rep counts their own interactions only, the other roles every author.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Table, func, select

from backend.db.uow import UnitOfWork
from backend.domains.crm.analytics import scope
from backend.domains.crm.analytics.params import Period
from backend.domains.crm.visibility import CrmActor

TABLE = "interactions"


def interactions_table() -> Table | None:
    """The interactions table when a model registers it in the tenant metadata, else None."""
    from backend.models import tenant_metadata  # every model module imported: the metadata is complete

    return tenant_metadata.tables.get(TABLE)


async def per_author(uow: UnitOfWork, actor: CrmActor, table: Table, cal: scope.Calendar,
                     period: Period) -> dict[uuid.UUID | None, dict[str, int]]:
    """{author: {kind: count}} over ``table`` (the interactions table, or any table with its five columns)."""
    start, end = cal.bounds(period)
    c = table.c
    stmt = (select(c.author_user_id, c.kind, func.count())
            .where(c.occurred_at >= start, c.occurred_at < end, c.archived_at.is_(None))
            .group_by(c.author_user_id, c.kind))
    own = scope.own_row_clause(actor, c.author_user_id)
    if own is not None:
        stmt = stmt.where(own)
    counts: dict[uuid.UUID | None, dict[str, int]] = {}
    for author, kind, n in (await uow.session.execute(stmt)).all():
        counts.setdefault(author, {})[str(kind)] = int(n)
    return counts
