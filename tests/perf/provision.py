"""Design comparison: head-DDL snapshot vs. a pool of pre-created schemas handed out by rename.

Both paths run the same transaction shape in ``shared_scope`` (commit included):
slug check, tenant row, the schema, the company settings row. They differ only
in how the schema comes to exist:

* snapshot: ``provisioning.create_tenant`` (CREATE SCHEMA + the head DDL script);
* pool: claim one pre-created schema from a queue table (``FOR UPDATE SKIP
  LOCKED``) and ``ALTER SCHEMA … RENAME`` it to the tenant's schema name. The
  pool path is simulated here with plain SQL; Tandem does not implement it.
"""

from __future__ import annotations

import time
import uuid

import asyncpg
from sqlalchemy import text

from backend.db.base import EXTENSIONS_SCHEMA
from backend.db.database import Database
from backend.domains.company.models import CompanySettings
from tenants import provisioning
from tenants.alembic_trees import TENANT
from tenants.models import Tenant
from tenants.naming import quoted, schema_for
from tenants.scope import SET_PATH, enter_tenant_schema, shared_scope
from tenants.snapshot import tenant_ddl
from tests.perf.fleet import Fleet, count_tenants, settle
from tests.perf.model import Deadline, ProvisionFigures, Stats

POOL = "perf_pool"
CLAIM = text(
    f"DELETE FROM {POOL}.slots WHERE schema_name = (SELECT schema_name FROM {POOL}.slots "
    "ORDER BY schema_name LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING schema_name"
)


class PoolEmpty(RuntimeError):
    pass


async def fill_pool(conn: asyncpg.Connection, count: int, deadline: Deadline) -> float:
    """Pre-create ``count`` head schemas (what a background job would do); returns ms per schema."""
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {POOL}; "
                       f"CREATE TABLE IF NOT EXISTS {POOL}.slots (schema_name text PRIMARY KEY)")
    started = time.perf_counter()
    for _ in range(count):
        deadline.check("filling the schema pool")
        schema = f"t_pool_{uuid.uuid4().hex}"
        async with conn.transaction():
            await conn.execute(
                f"CREATE SCHEMA {quoted(schema)};\n"
                f"SELECT set_config('search_path', '{quoted(schema)}, {EXTENSIONS_SCHEMA}', true);\n"
                f"{tenant_ddl(TENANT.head)}"
            )
            await conn.execute(f"INSERT INTO {POOL}.slots (schema_name) VALUES ($1)", schema)
    return 1000 * (time.perf_counter() - started) / max(1, count)


async def snapshot_once(db: Database, fleet: Fleet) -> float:
    slug = fleet.next_slug("snap")
    started = time.perf_counter()
    async with shared_scope(database=db) as uow:
        await provisioning.create_tenant(uow, provisioning.NewTenant(slug=slug, name=f"Snapshot {slug}"))
    return 1000 * (time.perf_counter() - started)


async def pool_once(db: Database, fleet: Fleet) -> float:
    slug = fleet.next_slug("pool")
    started = time.perf_counter()
    async with shared_scope(database=db) as uow:
        if await provisioning.slug_taken(uow, slug):
            raise RuntimeError(f"slug {slug} taken")
        claimed = (await uow.session.execute(CLAIM)).scalar_one_or_none()
        if claimed is None:
            raise PoolEmpty("the schema pool is empty")
        tenant_id = uuid.uuid4()
        schema = schema_for(tenant_id)
        uow.session.add(Tenant(id=tenant_id, slug=slug, name=f"Pool {slug}", schema_name=schema,
                               cluster="default", status="active", schema_revision=TENANT.head))
        await uow.flush()
        await uow.session.execute(text(f"ALTER SCHEMA {quoted(claimed)} RENAME TO {quoted(schema)}"))
        await enter_tenant_schema(uow, schema)
        uow.session.add(CompanySettings(id=1, name=f"Pool {slug}", base_currency="USD", locale="en"))
        await uow.flush()
        await uow.session.execute(SET_PATH, {"path": EXTENSIONS_SCHEMA})
        uow.schema = None
    return 1000 * (time.perf_counter() - started)


async def measure(
    conn: asyncpg.Connection, db: Database, fleet: Fleet, samples: int, deadline: Deadline
) -> ProvisionFigures:
    samples = max(1, samples)
    prepare_ms = await fill_pool(conn, samples, deadline)
    await settle(conn)
    present = await count_tenants(conn)
    await snapshot_once(db, fleet)  # one unmeasured round each: session/statement caches
    await fill_pool(conn, 1, deadline)
    await pool_once(db, fleet)
    snapshot: list[float] = []
    pool: list[float] = []
    for i in range(samples):  # alternate the order so drift hits both paths alike
        deadline.check("provisioning comparison")
        if i % 2 == 0:
            snapshot.append(await snapshot_once(db, fleet))
            pool.append(await pool_once(db, fleet))
        else:
            pool.append(await pool_once(db, fleet))
            snapshot.append(await snapshot_once(db, fleet))
    return ProvisionFigures(tenants_present=present, snapshot_ms=Stats.of(snapshot), pool_ms=Stats.of(pool),
                            pool_prepare_ms_per_schema=prepare_ms)
