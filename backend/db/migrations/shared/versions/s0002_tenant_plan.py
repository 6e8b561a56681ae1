"""tenant plan chosen at signup

Revision ID: s0002
Revises: s0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("plan", sa.String(32), server_default="starter", nullable=False),
                  schema="shared")


def downgrade() -> None:
    op.drop_column("tenants", "plan", schema="shared")
