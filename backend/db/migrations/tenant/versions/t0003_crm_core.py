"""audit log; CRM accounts, legal entities, contacts

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("archived_at", TS),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("occurred_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid()),
        sa.Column("actor_api_key_id", sa.Uuid()),
        sa.Column("record_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", pg.JSONB(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_record"), "audit_log", ["record_type", "record_id", "id"])

    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), server_default="organization", nullable=False),
        sa.Column("parent_id", sa.Uuid()),
        sa.Column("status", sa.String(16), server_default="lead", nullable=False),
        sa.Column("owner_user_id", sa.Uuid()),
        sa.Column("is_shared", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("tags", sa.ARRAY(sa.String(40)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
        sa.Column("source_channel", sa.String(64)),
        sa.Column("website", sa.String(255)),
        sa.Column("notes", sa.Text()),
        sa.Column("created_by", sa.Uuid()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.ForeignKeyConstraint(["parent_id"], ["accounts.id"], ondelete="SET NULL",
                                name=op.f("fk_accounts_parent_id_accounts")),
        sa.CheckConstraint("kind IN ('person', 'organization', 'group')", name=op.f("ck_accounts_kind")),
        sa.CheckConstraint("status IN ('lead', 'prospect', 'customer', 'churned')", name=op.f("ck_accounts_status")),
    )
    op.create_index(op.f("ix_accounts_name_id"), "accounts", ["name", "id"])
    op.create_index(op.f("ix_accounts_owner_user_id"), "accounts", ["owner_user_id"])

    op.create_table(
        "legal_entities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("registered_name", sa.String(250), nullable=False),
        sa.Column("tax_id", sa.String(64)),
        sa.Column("country", sa.String(2)),
        sa.Column("address", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("bank", pg.JSONB(), server_default="{}", nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_entities")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="RESTRICT",
                                name=op.f("fk_legal_entities_account_id_accounts")),
    )
    op.create_index(op.f("ix_legal_entities_account_id"), "legal_entities", ["account_id"])
    op.create_index(op.f("ix_legal_entities_tax_id"), "legal_entities", ["tax_id"])

    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid()),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("job_title", sa.String(120)),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(20)),
        sa.Column("roles", sa.ARRAY(sa.String(20)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
        sa.Column("email_consent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("email_consent_at", TS),
        sa.Column("email_consent_source", sa.String(64)),
        sa.Column("sms_consent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sms_consent_at", TS),
        sa.Column("sms_consent_source", sa.String(64)),
        sa.Column("owner_user_id", sa.Uuid()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="SET NULL",
                                name=op.f("fk_contacts_account_id_accounts")),
    )
    for column in ("account_id", "email", "phone", "owner_user_id"):
        op.create_index(op.f(f"ix_contacts_{column}"), "contacts", [column])


def downgrade() -> None:
    for table in ("contacts", "legal_entities", "accounts", "audit_log"):
        op.drop_table(table)
