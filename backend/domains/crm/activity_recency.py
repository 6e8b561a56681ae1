"""When each contact and account last had an interaction, kept by the database (revision t0016).

Segments filter on the age of the last interaction ("no contact in 90 days"); answering that from 2,000,000
interactions for 1,000,000 contacts took one to three seconds. Two small tables hold, per contact and per account,
``last_at``: the latest ``occurred_at`` of its unarchived interactions (a planned one may lie in the future). A
subject without any unarchived interaction has no row.

Statement-level triggers on ``interactions`` (insert, update, delete; the changed rows as transition tables) keep
them, whoever writes: the services, a merge repointing interactions, the bulk seeder. An insert raises ``last_at``;
an update that changes the time, the archive mark or the links, and a delete, recompute the subjects involved from
their interactions (index ``ix_interactions_live_contact_occurred`` and its account twin).

The tables carry no foreign keys: they are derived data, rebuilt by the triggers, and a merge need not repoint them
(it repoints the interactions, and the trigger follows). The SQL is written once here and copied verbatim into the
migration; the schema parity test compares both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase

TRACK_FUNCTION = r"""CREATE FUNCTION crm_track_last_interaction() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    subject text;
    touched text;
BEGIN
    FOREACH subject IN ARRAY ARRAY['contact', 'account'] LOOP
        IF TG_OP = 'INSERT' THEN
            EXECUTE format($q$
                INSERT INTO %1$I.%2$s_last_interaction AS t (%2$s_id, last_at)
                SELECT n.%2$s_id, max(n.occurred_at) FROM new_rows n
                WHERE n.%2$s_id IS NOT NULL AND n.archived_at IS NULL
                GROUP BY n.%2$s_id
                ON CONFLICT (%2$s_id) DO UPDATE SET last_at = greatest(t.last_at, excluded.last_at)
            $q$, TG_TABLE_SCHEMA, subject);
            CONTINUE;
        ELSIF TG_OP = 'UPDATE' THEN
            touched := format($t$
                SELECT s.id FROM old_rows o JOIN new_rows n ON n.id = o.id
                CROSS JOIN LATERAL (VALUES (o.%1$s_id), (n.%1$s_id)) AS s(id)
                WHERE (o.occurred_at, o.archived_at, o.%1$s_id)
                      IS DISTINCT FROM (n.occurred_at, n.archived_at, n.%1$s_id)
            $t$, subject);
        ELSE
            touched := format('SELECT o.%1$s_id FROM old_rows o', subject);
        END IF;
        EXECUTE format($q$
            WITH fresh AS (
                SELECT s.id, (SELECT max(i.occurred_at) FROM %1$I.interactions i
                              WHERE i.%2$s_id = s.id AND i.archived_at IS NULL) AS last_at
                FROM (SELECT DISTINCT x.id FROM (%3$s) AS x(id) WHERE x.id IS NOT NULL) AS s
            ), gone AS (
                DELETE FROM %1$I.%2$s_last_interaction t USING fresh f
                WHERE t.%2$s_id = f.id AND f.last_at IS NULL
            )
            INSERT INTO %1$I.%2$s_last_interaction AS t (%2$s_id, last_at)
            SELECT f.id, f.last_at FROM fresh f WHERE f.last_at IS NOT NULL
            ON CONFLICT (%2$s_id) DO UPDATE SET last_at = excluded.last_at
        $q$, TG_TABLE_SCHEMA, subject, touched);
    END LOOP;
    RETURN NULL;
END
$fn$"""

TRIGGERS = (
    "CREATE TRIGGER interactions_last_insert AFTER INSERT ON interactions REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_track_last_interaction()",
    "CREATE TRIGGER interactions_last_update AFTER UPDATE ON interactions REFERENCING OLD TABLE AS old_rows "
    "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_track_last_interaction()",
    "CREATE TRIGGER interactions_last_delete AFTER DELETE ON interactions REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_track_last_interaction()",
)

# the subjects of every interaction already there (the migration runs it once)
BACKFILL = tuple(f"""INSERT INTO {s}_last_interaction ({s}_id, last_at)
SELECT {s}_id, max(occurred_at) FROM interactions
WHERE {s}_id IS NOT NULL AND archived_at IS NULL GROUP BY {s}_id""" for s in ("contact", "account"))


class ContactLastInteraction(TenantBase):
    __tablename__ = "contact_last_interaction"

    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_contact_last_interaction_last_at", "last_at"),)


class AccountLastInteraction(TenantBase):
    __tablename__ = "account_last_interaction"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_account_last_interaction_last_at", "last_at"),
        # statements run after every table exists (tenants/snapshot.py): the triggers are on interactions
        {"info": {"ddl": (TRACK_FUNCTION, *TRIGGERS)}},
    )
