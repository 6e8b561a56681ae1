"""modules switched on per tenant

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # expand-only: existing tenants get the default set, nothing reads the column before this revision
    op.add_column(
        "company_settings",
        sa.Column("modules", sa.ARRAY(sa.String(32)), server_default=sa.text("'{crm,sales}'::varchar[]"),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_column("company_settings", "modules")
