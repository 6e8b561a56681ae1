"""indexes for the CRM reports: funnel cohort, stage moves by time (BRIN), archived deals

Revision ID: t0010
Revises: t0012
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0010"
down_revision = "t0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_deal_stage_history_entered"), "deal_stage_history", ["moved_at"],
                    postgresql_include=["deal_id", "to_stage_id"],
                    postgresql_where=sa.text("from_stage_id IS NULL"))
    op.create_index(op.f("ix_deal_stage_history_moved_at_brin"), "deal_stage_history", ["moved_at"],
                    postgresql_using="brin", postgresql_with={"autosummarize": "on"})
    op.create_index(op.f("ix_deals_archived"), "deals", ["id"], postgresql_where=sa.text("archived_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index(op.f("ix_deals_archived"), table_name="deals")
    op.drop_index(op.f("ix_deal_stage_history_moved_at_brin"), table_name="deal_stage_history")
    op.drop_index(op.f("ix_deal_stage_history_entered"), table_name="deal_stage_history")
