"""Indexes the reports need, declared next to the queries they serve (tenant schema, revision t0010).

* ``ix_deal_stage_history_entered``: creation rows of deals (``from_stage_id IS NULL``) by ``moved_at``, covering
  ``deal_id`` and ``to_stage_id``: the funnel's cohort is one index-only range scan.
* ``ix_deal_stage_history_moved_at_brin``: stage moves are appended in time order, so a BRIN index on ``moved_at``
  (a few pages) lets the funnel read only the blocks of its date range; ``autosummarize`` has autovacuum summarise
  each filled block range, so new moves are covered without a manual VACUUM.
* ``ix_deals_archived``: the few archived deals, so reports for read-all roles leave them out without a join.
"""

from __future__ import annotations

from sqlalchemy import Index

from backend.domains.crm.deals_models import Deal, DealStageMove

ENTERED = Index("ix_deal_stage_history_entered", DealStageMove.moved_at,
                postgresql_include=["deal_id", "to_stage_id"], postgresql_where=DealStageMove.from_stage_id.is_(None))
MOVED_AT_BRIN = Index("ix_deal_stage_history_moved_at_brin", DealStageMove.moved_at, postgresql_using="brin",
                      postgresql_with={"autosummarize": "on"})
ARCHIVED_DEALS = Index("ix_deals_archived", Deal.id, postgresql_where=Deal.archived_at.is_not(None))
