"""CRM merge marker (accounts/contacts.merged_into_id) and CSV imports

Revision ID: t0008
Revises: t0009
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0008"
down_revision = "t0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    for table in ("accounts", "contacts"):
        op.add_column(table, sa.Column("merged_into_id", sa.Uuid()))
        op.create_foreign_key(op.f(f"fk_{table}_merged_into_id_{table}"), table, table, ["merged_into_id"], ["id"],
                              ondelete="SET NULL")
        op.create_index(op.f(f"ix_{table}_merged_into_id"), table, ["merged_into_id"])
    op.create_index(op.f("ix_accounts_parent_id"), "accounts", ["parent_id"])

    op.create_table(
        "imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), server_default="uploaded", nullable=False),
        sa.Column("filename", sa.String(255)),
        sa.Column("encoding", sa.String(20), nullable=False),
        sa.Column("delimiter", sa.String(1), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("mapping", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("report", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("created_by", sa.Uuid()),
        sa.Column("created_by_api_key_id", sa.Uuid()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("committed_at", TS),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
        sa.CheckConstraint("entity IN ('accounts', 'contacts', 'deals')", name=op.f("ck_imports_entity")),
        sa.CheckConstraint("status IN ('uploaded', 'checked', 'committed')", name=op.f("ck_imports_status")),
    )
    op.create_index(op.f("ix_imports_expires_at"), "imports", ["expires_at"])


def downgrade() -> None:
    op.drop_table("imports")
    op.drop_index(op.f("ix_accounts_parent_id"), table_name="accounts")
    for table in ("contacts", "accounts"):
        op.drop_index(op.f(f"ix_{table}_merged_into_id"), table_name=table)
        op.drop_constraint(op.f(f"fk_{table}_merged_into_id_{table}"), table, type_="foreignkey")
        op.drop_column(table, "merged_into_id")
