"""stage checklists: items a deal must have ticked to enter a stage

Revision ID: t0014
Revises: t0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0014"
down_revision = "t0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, column in (("pipeline_stages", "checklist"), ("deals", "checklist_done")):
        op.add_column(table, sa.Column(column, sa.ARRAY(sa.String(length=200)),
                                       server_default=sa.text("'{}'::varchar[]"), nullable=False))


def downgrade() -> None:
    op.drop_column("deals", "checklist_done")
    op.drop_column("pipeline_stages", "checklist")
