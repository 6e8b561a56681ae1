"""CRM custom fields (definitions + JSONB values), marketing events with attribution, deal products of interest

Revision ID: t0007
Revises: t0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "t0007"
down_revision = "t0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
CHANNELS = "channel IN ('exhibition', 'seminar', 'webinar', 'ads', 'email', 'referral', 'other')"
WITH_CUSTOM = ("accounts", "contacts", "deals")
ATTRIBUTED = ("accounts", "deals")


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("archived_at", TS),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "marketing_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("starts_on", sa.Date()),
        sa.Column("ends_on", sa.Date()),
        sa.Column("budget", sa.Numeric(18, 2), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("created_by", sa.Uuid()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_events")),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_marketing_events_channel")),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_marketing_events_budget")),
        sa.CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on",
                           name=op.f("ck_marketing_events_dates")),
    )
    op.create_index(op.f("ix_marketing_events_name_id"), "marketing_events", ["name", "id"])
    op.create_index(op.f("ix_marketing_events_created_at_id"), "marketing_events", ["created_at", "id"])

    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("choices", sa.ARRAY(sa.String(80)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
        sa.Column("required", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("entity", "key", name=op.f("uq_custom_fields_entity_key")),
        sa.CheckConstraint("entity IN ('account', 'contact', 'deal')", name=op.f("ck_custom_fields_entity")),
        sa.CheckConstraint("type IN ('text', 'number', 'date', 'choice', 'bool')", name=op.f("ck_custom_fields_type")),
        sa.CheckConstraint("key ~ '^[a-z][a-z0-9_]{0,39}$'", name=op.f("ck_custom_fields_key")),
    )

    for table in WITH_CUSTOM:
        op.add_column(table, sa.Column("custom", pg.JSONB(), server_default="{}", nullable=False))
        op.create_index(op.f(f"ix_{table}_custom"), table, ["custom"], postgresql_using="gin",
                        postgresql_ops={"custom": "jsonb_path_ops"})
    for table in ATTRIBUTED:
        op.add_column(table, sa.Column("marketing_event_id", sa.Uuid()))
        op.create_foreign_key(op.f(f"fk_{table}_marketing_event_id_marketing_events"), table, "marketing_events",
                              ["marketing_event_id"], ["id"], ondelete="SET NULL")
        op.create_index(op.f(f"ix_{table}_marketing_event_id"), table, ["marketing_event_id"])
    op.add_column("deals", sa.Column("products_of_interest", sa.ARRAY(sa.String(80)),
                                     server_default=sa.text("'{}'::varchar[]"), nullable=False))


def downgrade() -> None:
    op.drop_column("deals", "products_of_interest")
    for table in ATTRIBUTED:
        op.drop_index(op.f(f"ix_{table}_marketing_event_id"), table_name=table)
        op.drop_constraint(op.f(f"fk_{table}_marketing_event_id_marketing_events"), table, type_="foreignkey")
        op.drop_column(table, "marketing_event_id")
    for table in WITH_CUSTOM:
        op.drop_index(op.f(f"ix_{table}_custom"), table_name=table)
        op.drop_column(table, "custom")
    op.drop_table("custom_fields")
    op.drop_table("marketing_events")
