"""platform tables: tenants, users, memberships, invitations, tokens, api keys, audit

Revision ID: s0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid(), primary_key=True)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS ext")
    for extension in ("pg_trgm", "unaccent", "citext"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension} SCHEMA ext")

    op.create_table(
        "tenants",
        _id(),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("schema_name", sa.String(63), nullable=False),
        sa.Column("cluster", sa.String(40), server_default="default", nullable=False),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("schema_revision", sa.String(64)),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("suspended_at", TS),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
        sa.UniqueConstraint("schema_name", name="uq_tenants_schema_name"),
        schema="shared",
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("full_name", sa.String(200), server_default="", nullable=False),
        sa.Column("locale", sa.String(16), server_default="en", nullable=False),
        sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("password_changed_at", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("email", name="uq_users_email"),
        schema="shared",
    )
    op.create_table(
        "memberships",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["shared.tenants.id"], ondelete="CASCADE",
                                name="fk_memberships_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["user_id"], ["shared.users.id"], ondelete="CASCADE",
                                name="fk_memberships_user_id_users"),
        schema="shared",
    )
    op.create_index("uq_memberships_tenant_user", "memberships", ["tenant_id", "user_id"], unique=True,
                    schema="shared")
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"], schema="shared")

    op.create_table(
        "invitations",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Uuid()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("accepted_at", TS),
        sa.Column("revoked_at", TS),
        sa.ForeignKeyConstraint(["tenant_id"], ["shared.tenants.id"], ondelete="CASCADE",
                                name="fk_invitations_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["invited_by"], ["shared.users.id"], ondelete="SET NULL",
                                name="fk_invitations_invited_by_users"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        schema="shared",
    )
    op.create_index("ix_invitations_tenant_id", "invitations", ["tenant_id"], schema="shared")

    op.create_table(
        "access_tokens",
        _id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.ForeignKeyConstraint(["user_id"], ["shared.users.id"], ondelete="CASCADE",
                                name="fk_access_tokens_user_id_users"),
        sa.UniqueConstraint("token_hash", name="uq_access_tokens_token_hash"),
        schema="shared",
    )
    op.create_index("ix_access_tokens_user_id", "access_tokens", ["user_id"], schema="shared")

    op.create_table(
        "api_keys",
        _id(),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Uuid()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
        sa.ForeignKeyConstraint(["tenant_id"], ["shared.tenants.id"], ondelete="CASCADE",
                                name="fk_api_keys_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["created_by"], ["shared.users.id"], ondelete="SET NULL",
                                name="fk_api_keys_created_by_users"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        schema="shared",
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"], schema="shared")

    op.create_table(
        "password_resets",
        _id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.ForeignKeyConstraint(["user_id"], ["shared.users.id"], ondelete="CASCADE",
                                name="fk_password_resets_user_id_users"),
        sa.UniqueConstraint("token_hash", name="uq_password_resets_token_hash"),
        schema="shared",
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"], schema="shared")

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid()),
        sa.Column("actor_user_id", sa.Uuid()),
        sa.Column("actor_api_key_id", sa.Uuid()),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64)),
        sa.Column("details", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("occurred_at", TS, server_default=sa.func.now(), nullable=False),
        schema="shared",
    )
    op.create_index("ix_audit_events_tenant_id", "audit_events", ["tenant_id"], schema="shared")


def downgrade() -> None:
    for table in ("audit_events", "password_resets", "api_keys", "access_tokens", "invitations",
                  "memberships", "users", "tenants"):
        op.drop_table(table, schema="shared")
