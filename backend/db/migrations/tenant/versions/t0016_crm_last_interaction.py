"""contact_last_interaction / account_last_interaction: when each subject last had an interaction, kept by
triggers on interactions, for segments filtering on the age of the last interaction

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-07

The function, trigger and backfill SQL are frozen copies of backend/domains/crm/activity_recency.py at this revision
(tests/migrations/test_schema_parity.py compares the result with the provisioning snapshot).
"""

import sqlalchemy as sa
from alembic import op

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None

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

BACKFILL = tuple(f"""INSERT INTO {s}_last_interaction ({s}_id, last_at)
SELECT {s}_id, max(occurred_at) FROM interactions
WHERE {s}_id IS NOT NULL AND archived_at IS NULL GROUP BY {s}_id""" for s in ("contact", "account"))


def upgrade() -> None:
    # writers wait until the summaries and their triggers are both in place: no interaction is missed in between
    op.execute("LOCK TABLE interactions IN SHARE ROW EXCLUSIVE MODE")
    for subject in ("contact", "account"):
        op.create_table(
            f"{subject}_last_interaction",
            sa.Column(f"{subject}_id", sa.Uuid(), nullable=False),
            sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint(f"{subject}_id", name=op.f(f"pk_{subject}_last_interaction")),
        )
    for statement in BACKFILL:
        op.execute(statement)
    for subject in ("contact", "account"):
        op.create_index(f"ix_{subject}_last_interaction_last_at", f"{subject}_last_interaction", ["last_at"])
    op.execute(TRACK_FUNCTION)
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute("ANALYZE contact_last_interaction")
    op.execute("ANALYZE account_last_interaction")


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER interactions_last_{event} ON interactions")
    op.execute("DROP FUNCTION crm_track_last_interaction()")
    op.drop_table("account_last_interaction")
    op.drop_table("contact_last_interaction")
