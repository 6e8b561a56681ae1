"""`tandem migrate`: the shared tree first, then every tenant schema in parallel.

Each tenant schema is upgraded in its own transaction (with its own
``alembic_version`` row), under a transaction-level advisory lock, so a crash
or Ctrl-C loses at most the schemas that were in flight; running the command
again resumes with the schemas that are still behind.

Connections, locks and version checks run concurrently, but Alembic itself runs
one schema at a time per process (its ``op``/``context`` proxies are global; see
``tenants.alembic_trees``). For more throughput run several ``tandem migrate``
processes at once: the per-schema advisory lock keeps them from applying a
revision twice, and a schema one runner finds already done counts as up to date.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.base import EXTENSIONS_SCHEMA, SHARED_SCHEMA
from backend.db.database import Database
from backend.models import shared_metadata
from tenants.alembic_trees import SHARED, TENANT, Tree
from tenants.models import Tenant
from tenants.naming import quoted, search_path_for, validate_schema_name

SHARED_LOCK_KEY = 7_400_001
CHECK_CHUNK = 250

Progress = Callable[[str, bool], None]


@dataclass
class MigrationReport:
    shared_before: str | None = None
    shared_after: str | None = None
    tenant_head: str | None = None
    total: int = 0
    up_to_date: int = 0
    upgraded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


async def migrate_shared(db: Database, tree: Tree = SHARED) -> tuple[str | None, str]:
    async with db.engine().connect() as conn, conn.begin():
        await conn.execute(text("SELECT set_config('search_path', :p, true)"), {"p": EXTENSIONS_SCHEMA})
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SHARED_LOCK_KEY})
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SHARED_SCHEMA}"))
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {EXTENSIONS_SCHEMA}"))
        before = await conn.run_sync(lambda c: tree.current(c, SHARED_SCHEMA))
        if before == tree.head:
            return before, before
        after = await tree.upgrade_async(conn, SHARED_SCHEMA, shared_metadata)
        return before, after


async def tenant_schemas(db: Database, cluster: str | None = None) -> list[tuple[str, str]]:
    """(schema, cluster) of every tenant, suspended ones included."""
    async with db.engine().connect() as conn:
        query = text("SELECT schema_name, cluster FROM shared.tenants ORDER BY created_at, schema_name")
        rows = (await conn.execute(query)).all()
    return [(r[0], r[1]) for r in rows if cluster is None or r[1] == cluster]


async def current_revisions(conn: AsyncConnection, schemas: Sequence[str]) -> dict[str, str | None]:
    """Batch-read every schema's version row (chunks of UNION ALL); None when the schema has none.

    Only schemas that actually hold an ``alembic_version`` table are read, so one
    missing or empty schema does not push its whole chunk onto the slow path.
    """
    found: dict[str, str | None] = {}
    for start in range(0, len(schemas), CHECK_CHUNK):
        chunk = [validate_schema_name(s) for s in schemas[start : start + CHECK_CHUNK]]
        found.update(dict.fromkeys(chunk))
        found.update(await _read_versions(conn, chunk))
    return found


async def _read_versions(conn: AsyncConnection, chunk: list[str]) -> dict[str, str | None]:
    try:
        async with conn.begin_nested() if conn.in_transaction() else conn.begin():
            versioned = set((await conn.execute(_VERSIONED, {"schemas": chunk})).scalars())
            if not versioned:
                return {}
            sql = " UNION ALL ".join(
                f"SELECT '{s}' AS s, (SELECT max(version_num) FROM {quoted(s)}.alembic_version) AS v"
                for s in chunk if s in versioned
            )
            rows = (await conn.execute(text(sql))).all()
    except Exception:  # e.g. a schema dropped meanwhile: the per-schema path sorts it out
        return {}
    return {r[0]: r[1] for r in rows}


_VERSIONED = text(
    "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relname = 'alembic_version' AND c.relkind = 'r' AND n.nspname = ANY(:schemas)"
)


async def upgrade_schema(db: Database, schema: str, cluster: str, tree: Tree = TENANT) -> str:
    """Upgrade one tenant schema to head in one transaction; returns its revision."""
    _before, after = await _upgrade_schema(db, schema, cluster, tree)
    return after


async def _upgrade_schema(db: Database, schema: str, cluster: str, tree: Tree) -> tuple[str | None, str]:
    """(revision found under the schema's lock, revision now). Equal when another runner got there first."""
    schema = validate_schema_name(schema)
    async with db.engine(cluster).connect() as conn, conn.begin():
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        await conn.execute(text("SELECT set_config('search_path', :p, true)"), {"p": search_path_for(schema)})
        current = await conn.run_sync(lambda sync_conn: tree.current(sync_conn, schema))
        revision = tree.head if current == tree.head else await tree.upgrade_async(conn, schema)
        await conn.execute(
            update(Tenant).where(Tenant.schema_name == schema).values(schema_revision=revision)
        )
        return current, revision


async def migrate_tenants(
    db: Database,
    *,
    tree: Tree = TENANT,
    concurrency: int = 8,
    progress: Progress | None = None,
    report: MigrationReport | None = None,
) -> MigrationReport:
    report = report or MigrationReport()
    started = time.perf_counter()
    head = report.tenant_head = tree.head
    targets = await tenant_schemas(db)
    report.total = len(targets)
    pending: list[tuple[str, str]] = []
    by_cluster: dict[str, list[str]] = {}
    for schema, cluster in targets:
        by_cluster.setdefault(cluster, []).append(schema)
    for cluster, schemas in by_cluster.items():
        async with db.engine(cluster).connect() as conn:
            revisions = await current_revisions(conn, schemas)
        for schema in schemas:
            if revisions.get(schema) == head:
                report.up_to_date += 1
                if progress:
                    progress(schema, True)
            else:
                pending.append((schema, cluster))

    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(schema: str, cluster: str) -> None:
        async with gate:
            try:
                before, after = await _upgrade_schema(db, schema, cluster, tree)
                if before == after:  # a concurrent runner migrated it after our batch check
                    report.up_to_date += 1
                else:
                    report.upgraded.append(schema)
            except Exception as exc:
                report.failed[schema] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if progress:
                progress(schema, schema not in report.failed)

    await asyncio.gather(*(one(s, c) for s, c in pending))
    report.seconds = time.perf_counter() - started
    return report


async def migrate_all(
    db: Database, *, concurrency: int = 8, progress_factory: Callable[[int], Progress] | None = None
) -> MigrationReport:
    report = MigrationReport()
    report.shared_before, report.shared_after = await migrate_shared(db)
    total = len(await tenant_schemas(db))
    progress = progress_factory(total) if progress_factory else None
    return await migrate_tenants(db, concurrency=concurrency, progress=progress, report=report)
