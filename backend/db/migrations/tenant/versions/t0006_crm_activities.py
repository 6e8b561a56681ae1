"""CRM interactions (meetings, calls, SMS, email, visits, notes) and tasks

Revision ID: t0006
Revises: t0013
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0006"
down_revision = "t0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _record_columns() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("archived_at", TS),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete=ondelete,
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid()),
        sa.Column("deal_id", sa.Uuid()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("body", sa.Text()),
        sa.Column("direction", sa.String(8)),
        sa.Column("duration_seconds", sa.Integer()),
        sa.Column("latitude", sa.Numeric(9, 6)),
        sa.Column("longitude", sa.Numeric(9, 6)),
        sa.Column("address", sa.String(300)),
        sa.Column("source", sa.String(8), server_default="web", nullable=False),
        sa.Column("author_user_id", sa.Uuid()),
        sa.Column("author_api_key_id", sa.Uuid()),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        _fk("interactions", "account_id", "accounts", "RESTRICT"),
        _fk("interactions", "contact_id", "contacts", "SET NULL"),
        _fk("interactions", "deal_id", "deals", "SET NULL"),
        sa.CheckConstraint("kind IN ('meeting', 'call', 'sms', 'email', 'visit', 'note')",
                           name=op.f("ck_interactions_kind")),
        sa.CheckConstraint("direction IN ('inbound', 'outbound')", name=op.f("ck_interactions_direction")),
        sa.CheckConstraint("source IN ('web', 'api', 'bot', 'email')", name=op.f("ck_interactions_source")),
        sa.CheckConstraint("duration_seconds >= 0", name=op.f("ck_interactions_duration")),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
                           name=op.f("ck_interactions_coordinates")),
        sa.CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name=op.f("ck_interactions_coordinates_paired")),
    )
    newest_first = ["account_id", sa.text("occurred_at DESC"), sa.text("id DESC")]
    for name, columns in (("account_id_occurred_at_id", newest_first),
                          ("author_user_id_occurred_at", ["author_user_id", "occurred_at"]),
                          ("contact_id_occurred_at", ["contact_id", "occurred_at"]),
                          ("deal_id_occurred_at", ["deal_id", "occurred_at"]),
                          ("occurred_at_id", ["occurred_at", "id"])):
        op.create_index(op.f(f"ix_interactions_{name}"), "interactions", columns)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("due_at", TS),
        sa.Column("due_date", sa.Date()),
        sa.Column("assignee_user_id", sa.Uuid()),
        sa.Column("account_id", sa.Uuid()),
        sa.Column("contact_id", sa.Uuid()),
        sa.Column("deal_id", sa.Uuid()),
        sa.Column("done_at", TS),
        sa.Column("done_by_user_id", sa.Uuid()),
        sa.Column("done_by_api_key_id", sa.Uuid()),
        sa.Column("created_by_user_id", sa.Uuid()),
        sa.Column("created_by_api_key_id", sa.Uuid()),
        *_record_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        _fk("tasks", "account_id", "accounts", "RESTRICT"),
        _fk("tasks", "contact_id", "contacts", "SET NULL"),
        _fk("tasks", "deal_id", "deals", "SET NULL"),
        sa.CheckConstraint("due_at IS NULL OR due_date IS NULL", name=op.f("ck_tasks_one_due")),
        sa.CheckConstraint("contact_id IS NULL OR deal_id IS NULL", name=op.f("ck_tasks_one_link")),
    )
    for name, columns in (("assignee_user_id_done_at", ["assignee_user_id", "done_at"]),
                          ("account_id_created_at_id", ["account_id", "created_at", "id"]),
                          ("account_id_done_at_id", ["account_id", "done_at", "id"]),
                          ("contact_id", ["contact_id"]),
                          ("deal_id", ["deal_id"]),
                          ("created_at_id", ["created_at", "id"])):
        op.create_index(op.f(f"ix_tasks_{name}"), "tasks", columns)

    op.create_index(op.f("ix_deal_stage_history_deal_id_moved_at_id"), "deal_stage_history",
                    ["deal_id", "moved_at", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deal_stage_history_deal_id_moved_at_id"), "deal_stage_history")
    for table in ("tasks", "interactions"):
        op.drop_table(table)
