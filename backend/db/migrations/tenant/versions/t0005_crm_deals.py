"""CRM pipelines with ordered stages, deals and deal stage history

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
PROBABILITY = "probability >= 0 AND probability <= 100"


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("archived_at", TS),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
    )

    op.create_table(
        "pipeline_stages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Numeric(5, 2), server_default="0", nullable=False),
        sa.Column("kind", sa.String(8), server_default="open", nullable=False),
        sa.Column("required_fields", sa.ARRAY(sa.String(40)), server_default=sa.text("'{}'::varchar[]"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_stages")),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], ondelete="CASCADE",
                                name=op.f("fk_pipeline_stages_pipeline_id_pipelines")),
        sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f("ck_pipeline_stages_kind")),
        sa.CheckConstraint(PROBABILITY, name=op.f("ck_pipeline_stages_probability")),
    )
    op.create_index(op.f("ix_pipeline_stages_pipeline_id"), "pipeline_stages", ["pipeline_id"])

    op.create_table(
        "deals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("currency", sa.CHAR(3)),
        sa.Column("probability", sa.Numeric(5, 2), server_default="0", nullable=False),
        sa.Column("expected_close_date", sa.Date()),
        sa.Column("owner_user_id", sa.Uuid()),
        sa.Column("next_action", sa.String(200)),
        sa.Column("next_action_due", sa.Date()),
        sa.Column("source_channel", sa.String(64)),
        sa.Column("lost_reason", sa.Text()),
        sa.Column("won_at", TS),
        sa.Column("lost_at", TS),
        sa.Column("created_by", sa.Uuid()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("archived_at", TS),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], ondelete="RESTRICT",
                                name=op.f("fk_deals_pipeline_id_pipelines")),
        sa.ForeignKeyConstraint(["stage_id"], ["pipeline_stages.id"], ondelete="RESTRICT",
                                name=op.f("fk_deals_stage_id_pipeline_stages")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="RESTRICT",
                                name=op.f("fk_deals_account_id_accounts")),
        sa.CheckConstraint(PROBABILITY, name=op.f("ck_deals_probability")),
    )
    for column in ("pipeline_id", "stage_id", "account_id", "owner_user_id"):
        op.create_index(op.f(f"ix_deals_{column}"), "deals", [column])
    op.create_index(op.f("ix_deals_title_id"), "deals", ["title", "id"])
    op.create_index(op.f("ix_deals_created_at_id"), "deals", ["created_at", "id"])

    op.create_table(
        "deal_stage_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage_id", sa.Uuid()),
        sa.Column("to_stage_id", sa.Uuid()),
        sa.Column("moved_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("moved_by_user_id", sa.Uuid()),
        sa.Column("moved_by_api_key_id", sa.Uuid()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_history")),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], ondelete="CASCADE",
                                name=op.f("fk_deal_stage_history_deal_id_deals")),
        sa.ForeignKeyConstraint(["from_stage_id"], ["pipeline_stages.id"], ondelete="SET NULL",
                                name=op.f("fk_deal_stage_history_from_stage_id_pipeline_stages")),
        sa.ForeignKeyConstraint(["to_stage_id"], ["pipeline_stages.id"], ondelete="SET NULL",
                                name=op.f("fk_deal_stage_history_to_stage_id_pipeline_stages")),
    )
    op.create_index(op.f("ix_deal_stage_history_deal_id_id"), "deal_stage_history", ["deal_id", "id"])


def downgrade() -> None:
    for table in ("deal_stage_history", "deals", "pipeline_stages", "pipelines"):
        op.drop_table(table)
