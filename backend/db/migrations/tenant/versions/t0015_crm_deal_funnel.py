"""deal_funnel: a per-deal summary of the stage history, kept by a trigger, for the funnel report

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-07

The function, trigger and backfill SQL are frozen copies of backend/domains/crm/analytics/funnel_models.py at this
revision (tests/migrations/test_schema_parity.py compares the result with the provisioning snapshot).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None

COLUMNS = "deal_id, entered_at, entered_stage_id, reached_stage_ids, last_move_id, last_stage_id, last_moved_at"


def fold(moves: str) -> str:
    """SELECT the summary (``COLUMNS``) of each deal in the stage-history rows of ``moves``."""
    return ("SELECT m.deal_id, min(m.moved_at) FILTER (WHERE m.from_stage_id IS NULL),"
            " (array_agg(m.to_stage_id ORDER BY m.id) FILTER (WHERE m.from_stage_id IS NULL))[1],"
            " coalesce(array_agg(DISTINCT m.to_stage_id) FILTER (WHERE m.to_stage_id IS NOT NULL), '{}'),"
            " max(m.id), (array_agg(m.to_stage_id ORDER BY m.id DESC))[1], max(m.moved_at)"
            f" FROM {moves} m GROUP BY m.deal_id")


TRACK_FUNCTION = r"""CREATE FUNCTION crm_track_deal_funnel() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format($q$
        INSERT INTO %1$I.deal_funnel AS f (""" + COLUMNS + """)
        """ + fold("new_moves") + r"""
        ON CONFLICT (deal_id) DO UPDATE SET
            entered_at = coalesce(f.entered_at, excluded.entered_at),
            entered_stage_id = CASE WHEN f.entered_at IS NULL THEN excluded.entered_stage_id
                                    ELSE f.entered_stage_id END,
            reached_stage_ids = ARRAY(SELECT DISTINCT s FROM unnest(f.reached_stage_ids || excluded.reached_stage_ids)
                                      AS s ORDER BY s),
            last_move_id = greatest(f.last_move_id, excluded.last_move_id),
            last_stage_id = CASE WHEN excluded.last_move_id > f.last_move_id THEN excluded.last_stage_id
                                 ELSE f.last_stage_id END,
            last_moved_at = greatest(f.last_moved_at, excluded.last_moved_at)
    $q$, TG_TABLE_SCHEMA);
    RETURN NULL;
END
$fn$"""

TRACK_TRIGGER = ("CREATE TRIGGER deal_stage_history_funnel AFTER INSERT ON deal_stage_history "
                 "REFERENCING NEW TABLE AS new_moves FOR EACH STATEMENT EXECUTE FUNCTION crm_track_deal_funnel()")

FROM_HISTORY = fold("deal_stage_history")
BACKFILL = f"INSERT INTO deal_funnel ({COLUMNS}) {FROM_HISTORY}"


def upgrade() -> None:
    # writers wait until the summary and its trigger are both in place: no move is missed in between
    op.execute("LOCK TABLE deal_stage_history IN SHARE ROW EXCLUSIVE MODE")
    op.create_table(
        "deal_funnel",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_stage_id", sa.Uuid(), nullable=True),
        sa.Column("reached_stage_ids", postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'::uuid[]"),
                  nullable=False),
        sa.Column("last_move_id", sa.BigInteger(), nullable=False),
        sa.Column("last_stage_id", sa.Uuid(), nullable=True),
        sa.Column("last_moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_deal_funnel_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", name=op.f("pk_deal_funnel")),
    )
    op.execute(BACKFILL)
    op.create_index("ix_deal_funnel_entered_at", "deal_funnel", ["entered_at"])
    op.create_index("ix_deal_funnel_last_moved_at", "deal_funnel", ["last_moved_at"])
    op.execute(TRACK_FUNCTION)
    op.execute(TRACK_TRIGGER)
    op.execute("ANALYZE deal_funnel")


def downgrade() -> None:
    op.execute("DROP TRIGGER deal_stage_history_funnel ON deal_stage_history")
    op.execute("DROP FUNCTION crm_track_deal_funnel()")
    op.drop_table("deal_funnel")
