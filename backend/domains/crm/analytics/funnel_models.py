"""``deal_funnel``: one row per deal summarising its stage history, kept by the database (revision t0015).

The funnel over a year reads ~100,000 deals at the benchmark's volume; folding their 200,000+ stage moves per
request took 400 ms. This table holds what the funnel needs per deal, so a period ending after a deal's last move
is answered from one row per deal, grouped in SQL by (stages reached, last stage), which leaves a few dozen groups:

* ``entered_at`` / ``entered_stage_id``: the creation row of the history (``from_stage_id IS NULL``);
* ``reached_stage_ids``: every stage the deal ever entered (sorted, distinct);
* ``last_move_id`` / ``last_stage_id`` / ``last_moved_at``: the newest move (highest id) and the latest ``moved_at``.

A statement-level trigger on ``deal_stage_history`` (``AFTER INSERT``, with the inserted rows as a transition
table) folds every insert into this table, whoever writes: the deals service, the bulk seeder, an import, a test.
The history is append-only (a deal is archived, never erased; its summary goes with it on delete). A stage removed
from a pipeline sets the history's stage to NULL while the summary keeps the old id: both count as no stage of
the pipeline, so the funnel's answer is the same.

The trigger's SQL is written once here and copied verbatim into the migration; the schema parity test proves the
snapshot (provisioning) and the migration history define the same function and trigger.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase

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

# the summary of every deal already there (the migration runs it once; a new tenant has no history yet)
FROM_HISTORY = fold("deal_stage_history")
BACKFILL = f"INSERT INTO deal_funnel ({COLUMNS}) {FROM_HISTORY}"


class DealFunnel(TenantBase):
    __tablename__ = "deal_funnel"

    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True)
    entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    entered_stage_id: Mapped[uuid.UUID | None] = mapped_column()
    reached_stage_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), server_default=text("'{}'::uuid[]"))
    last_move_id: Mapped[int] = mapped_column(BigInteger)
    last_stage_id: Mapped[uuid.UUID | None] = mapped_column()
    last_moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_deal_funnel_entered_at", "entered_at"),
        Index("ix_deal_funnel_last_moved_at", "last_moved_at"),
        # statements run after every table exists (tenants/snapshot.py): the trigger is on deal_stage_history
        {"info": {"ddl": (TRACK_FUNCTION, TRACK_TRIGGER)}},
    )
