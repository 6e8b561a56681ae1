"""CRM segments: saved dynamic filters and static lists (segments, segment_members)

Revision ID: t0011
Revises: t0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "t0011"
down_revision = "t0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
LIVE = sa.text("archived_at IS NULL")
# Segment counts over 1M contacts / 2M interactions: (name, table, columns, partial condition)
COUNT_INDEXES = (
    ("ix_contacts_segment_counts", "contacts", ["email_consent", "sms_consent", "account_id", "owner_user_id"], LIVE),
    ("ix_interactions_live_occurred_account", "interactions", ["occurred_at", "account_id", "contact_id"], LIVE),
    ("ix_interactions_live_account_occurred", "interactions", ["account_id", "occurred_at"], LIVE),
    ("ix_interactions_live_contact_occurred", "interactions", ["contact_id", "occurred_at"],
     sa.text("archived_at IS NULL AND contact_id IS NOT NULL")),
)


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filter", pg.JSONB()),
        sa.Column("owner_user_id", sa.Uuid()),
        sa.Column("is_shared", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_by", sa.Uuid()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("archived_at", TS),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.CheckConstraint("entity IN ('account', 'contact')", name=op.f("ck_segments_entity")),
        sa.CheckConstraint("kind IN ('dynamic', 'static')", name=op.f("ck_segments_kind")),
        sa.CheckConstraint("(kind = 'dynamic') = (filter IS NOT NULL)", name=op.f("ck_segments_filter_of_dynamic")),
    )
    op.create_index(op.f("ix_segments_name_id"), "segments", ["name", "id"])
    op.create_index(op.f("ix_segments_owner_user_id"), "segments", ["owner_user_id"])

    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("added_by", sa.Uuid()),
        sa.PrimaryKeyConstraint("segment_id", "record_id", name=op.f("pk_segment_members")),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], name=op.f("fk_segment_members_segment_id_segments"),
                                ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_segment_members_record_id"), "segment_members", ["record_id"])
    for name, table, columns, where in COUNT_INDEXES:
        op.create_index(op.f(name), table, columns, postgresql_where=where)


def downgrade() -> None:
    for name, table, _, _ in COUNT_INDEXES:
        op.drop_index(op.f(name), table_name=table)
    op.drop_table("segment_members")
    op.drop_table("segments")
