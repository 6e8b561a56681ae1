"""Helpers for the migration tests: tree copies with extra revisions, schema states, catalog snapshots."""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.database import Database
from tenants import provisioning
from tenants.alembic_trees import TENANT, TENANT_TREE, Tree
from tenants.registry import TenantRef
from tenants.scope import shared_scope

MARKER = "migration_marker"


def tree_with(tmp_path: Path, *revisions: tuple[str, str]) -> Tree:
    """A copy of the tenant tree with extra revision files (filename, source)."""
    location = tmp_path / "tenant_tree"
    shutil.copytree(TENANT_TREE, location, ignore=shutil.ignore_patterns("__pycache__"))
    for filename, source in revisions:
        (location / "versions" / filename).write_text(textwrap.dedent(source))
    return Tree(location)


def add_column_revision(revision: str, down: str, column: str) -> tuple[str, str]:
    """Adds company_settings.<column>, then refuses (raises) in schemas holding the marker table."""
    return f"{revision}_add_{column}.py", f'''
        """add company_settings.{column}; refuses schemas that hold a {MARKER} table"""

        import sqlalchemy as sa
        from alembic import op

        revision = "{revision}"
        down_revision = "{down}"
        branch_labels = None
        depends_on = None


        def upgrade():
            op.add_column("company_settings", sa.Column("{column}", sa.String(20), nullable=True))
            marker = op.get_bind().execute(sa.text("SELECT to_regclass('{MARKER}')")).scalar()
            if marker is not None:
                raise RuntimeError("{MARKER} present: this schema refuses the upgrade")


        def downgrade():
            op.drop_column("company_settings", "{column}")
        '''


def applied_once_revision(revision: str, down: str) -> tuple[str, str]:
    """Not idempotent: applying it twice to one schema fails (the column exists) or logs a second row."""
    return f"{revision}_applied_once.py", f'''
        """a log table with one row per application of this revision"""

        import sqlalchemy as sa
        from alembic import op

        revision = "{revision}"
        down_revision = "{down}"
        branch_labels = None
        depends_on = None


        def upgrade():
            op.execute("CREATE TABLE IF NOT EXISTS applied_log (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
            op.execute("INSERT INTO applied_log DEFAULT VALUES")
            op.add_column("company_settings", sa.Column("applied_once", sa.Boolean(), nullable=True))


        def downgrade():
            op.drop_column("company_settings", "applied_once")
            op.drop_table("applied_log")
        '''


async def provision(db: Database, count: int, prefix: str = "co") -> list[TenantRef]:
    """``count`` tenants through the real provisioning path (DDL snapshot), in one transaction."""
    refs: list[TenantRef] = []
    async with shared_scope(database=db) as uow:
        for i in range(count):
            spec = provisioning.NewTenant(slug=f"{prefix}-{i:03d}", name=f"Company {i}")
            refs.append(await provisioning.create_tenant(uow, spec))
    return refs


@dataclass(frozen=True)
class SchemaState:
    version: str | None  # from the schema's own alembic_version table
    registered: str | None  # shared.tenants.schema_revision
    has_column: bool
    settings_name: str | None


async def schema_states(db: Database, column: str) -> dict[str, SchemaState]:
    """Every registered tenant schema as the database sees it (read independently of tenants.migrate)."""
    async with db.engine().connect() as conn:
        rows = (await conn.execute(text(
            "SELECT t.schema_name, t.schema_revision, EXISTS (SELECT 1 FROM information_schema.columns c "
            " WHERE c.table_schema = t.schema_name AND c.table_name = 'company_settings' AND c.column_name = :col) "
            "FROM shared.tenants t ORDER BY t.schema_name"
        ), {"col": column})).all()
        states: dict[str, SchemaState] = {}
        for schema, registered, has_column in rows:
            versions = (await conn.execute(text(f'SELECT version_num FROM "{schema}".alembic_version'))).scalars()
            found = list(versions)
            assert len(found) <= 1, f"{schema} has several version rows: {found}"
            name = (await conn.execute(text(f'SELECT name FROM "{schema}".company_settings'))).scalar_one_or_none()
            states[schema] = SchemaState(found[0] if found else None, registered, has_column, name)
    return states


OLD_HEAD = TENANT.head

CATALOG_QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind::text, c.relpersistence::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s""",
    "columns": """
        SELECT c.relname, a.attname, a.attnum::text, format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
               coalesce(pg_get_expr(d.adbin, d.adrelid), '<none>'), a.attidentity::text, a.attgenerated::text,
               coalesce(co.collname, '<none>')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
        WHERE n.nspname = :s AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid, true), k.condeferrable::text
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :s""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value::text, increment_by::text, max_value::text, cycle::text
        FROM pg_sequences WHERE schemaname = :s""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :s AND NOT t.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s""",
}


async def catalog(conn: AsyncConnection, schema: str, *, skip_tables: frozenset[str] = frozenset()) -> dict[str, list]:
    """Tables, columns, constraints, indexes, sequences and triggers of one schema, with its name replaced."""
    own_name = re.compile(rf'(?<![\w"]){re.escape(schema)}(?=\.)|"{re.escape(schema)}"(?=\.)')
    snapshot: dict[str, list] = {}
    for kind, query in CATALOG_QUERIES.items():
        rows = (await conn.execute(text(query), {"s": schema})).all()
        normalized = sorted(
            tuple(own_name.sub("<schema>", str(value)) for value in row)
            for row in rows
            if row[0] not in skip_tables and not str(row[0]).startswith(tuple(f"{t}_" for t in skip_tables))
        )
        snapshot[kind] = normalized
    return snapshot
