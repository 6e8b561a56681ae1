"""company settings

Revision ID: t0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company_settings",
        # a singleton row (id = 1): no sequence, exactly like the model and the DDL snapshot
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base_currency", sa.String(3), server_default="USD", nullable=False),
        sa.Column("fiscal_year_start_month", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("locale", sa.String(16), server_default="en", nullable=False),
        sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        # names given in full (op.f): the same whether or not a naming convention is configured
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_settings")),
        sa.CheckConstraint("id = 1", name=op.f("ck_company_settings_singleton")),
        sa.CheckConstraint("fiscal_year_start_month BETWEEN 1 AND 12", name=op.f("ck_company_settings_fiscal_month")),
    )


def downgrade() -> None:
    op.drop_table("company_settings")
