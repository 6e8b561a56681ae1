"""Requirement (6): the job channel. @tenant_job functions run by a real arq Worker (burst mode,
real Redis) see only their tenant's data and write only into its schema; a job for a suspended
or unknown tenant never enters any tenant schema.

The worker comes from ``workers.settings.build_worker``; it listens on a queue of its own per
test so that it neither steals nor runs jobs other test files leave on the shared queue.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager

import pytest
from arq.worker import func

from backend.queue import connect
from tenants import provisioning
from tenants.scope import shared_scope
from tests.tenancy.conftest import StatementLog, create_probe, insert_probe, marker, probe_rows, rows_in, where_am_i
from workers.decorators import UnknownTenant, tenant_job
from workers.settings import build_worker

CALLS: list[tuple[str, str]] = []


@tenant_job
async def tenancy_probe_job(ctx, uow, tenant, *, mark):
    CALLS.append((tenant.slug, mark))
    pid, schemas, name = await where_am_i(uow)
    before = await probe_rows(uow)
    await insert_probe(uow, tenant.slug, mark)
    return {"slug": tenant.slug, "schemas": schemas, "name": name, "owners": sorted({o for o, _ in before}),
            "uow_schema": uow.schema, "uow_tenant": uow.tenant_id, "pid": pid}


@asynccontextmanager
async def queue(settings):
    pool = await connect(settings.redis_url)
    name = f"tandem:test-tenancy:{uuid.uuid4().hex}"
    try:
        yield pool, name
    finally:
        await pool.delete(name)
        await pool.aclose()


async def enqueue(pool, name, **kwargs):
    job = await pool.enqueue_job("tenancy_probe_job", _job_id=f"tenancy:{uuid.uuid4().hex}", _queue_name=name,
                                 **kwargs)
    assert job is not None, "arq refused the job (duplicate id?)"
    return job


async def run_burst(settings, database, queue_name):
    worker = build_worker(settings, database=database, burst=True, extra_functions=[tenancy_probe_job])
    worker.queue_name = queue_name  # see module docstring: a private queue for this test
    worker.health_check_key = f"{queue_name}:health-check"
    try:
        await asyncio.wait_for(worker.async_run(), 30)
    finally:
        await worker.close()
    return worker


def test_tenant_job_registers_under_its_plain_name():
    @tenant_job
    async def locally_defined(ctx, uow, tenant):
        return None

    assert func(locally_defined).name == "locally_defined"
    assert func(tenancy_probe_job).name == "tenancy_probe_job"


async def test_tenant_jobs_see_and_write_only_their_own_schema(settings, pair, small_db, keep_globals):
    db = small_db(1)  # the worker's pool: one connection, so both tenants' jobs take turns on it
    a, b = pair
    plan = [(a if i % 2 == 0 else b, marker(f"job{i}")) for i in range(8)]
    async with queue(settings) as (pool, name):
        jobs = [(co, mark, await enqueue(pool, name, tenant_id=str(co.tenant.id), mark=mark)) for co, mark in plan]
        worker = await run_burst(settings, db, name)
        results = [(co, mark, await job.result(timeout=5)) for co, mark, job in jobs]

    assert worker.jobs_complete == len(plan)
    assert worker.jobs_failed == 0
    assert len({res["pid"] for _, _, res in results}) == 1, "the jobs did not share the pooled connection"
    for co, mark, res in results:
        assert (co.slug, mark) in CALLS
        assert res["slug"] == co.slug
        assert res["name"] == f"Company {co.slug}"
        assert [s for s in res["schemas"] if s.startswith("t_")] == [co.tenant.schema]
        assert set(res["owners"]) <= {co.slug}
        assert res["uow_schema"] == co.tenant.schema
        assert res["uow_tenant"] == str(co.tenant.id)
    for co in pair:
        seen = {m for owner, m in await rows_in(co.tenant) if owner == co.slug}
        everything = {m for _, m in await rows_in(co.tenant)}
        mine = {m for co2, m in plan if co2 is co}
        assert mine <= seen
        assert not ({m for _, m in plan} - mine) & everything, "a job wrote into the other tenant's schema"


async def test_jobs_for_suspended_or_unknown_tenants_touch_no_schema(settings, database, company, small_db,
                                                                    keep_globals):
    await create_probe(database, company.tenant.schema)
    async with shared_scope() as uow:
        await provisioning.set_status(uow, company.slug, "suspended")

    db = small_db(1)
    log = StatementLog().attach(db)
    suspended_mark, unknown_mark, evil_mark = marker("suspended"), marker("unknown"), marker("evil")
    async with queue(settings) as (pool, name):
        suspended = await enqueue(pool, name, tenant_id=str(company.tenant.id), mark=suspended_mark)
        unknown = await enqueue(pool, name, tenant_id=str(uuid.uuid4()), mark=unknown_mark)
        evil = await enqueue(pool, name, tenant_id=f"{company.tenant.id}'; SET search_path = shared; --",
                             mark=evil_mark)
        worker = await run_burst(settings, db, name)
        assert await suspended.result(timeout=5) == {"skipped": "tenant suspended"}
        with pytest.raises(UnknownTenant):
            await unknown.result(timeout=5)
        with pytest.raises(UnknownTenant):
            await evil.result(timeout=5)

    assert worker.jobs_complete == 1
    assert worker.jobs_failed == 2
    called = {m for _, m in CALLS}
    assert not {suspended_mark, unknown_mark, evil_mark} & called, "the job body ran"
    # The worker only looked tenants up in `shared`: no tenant search path, no write, anywhere.
    assert log.statements, "the worker did not even look the tenants up"
    assert log.mentions("search_path") == []
    assert log.mentions(company.tenant.schema) == [], "the tenant schema was named"
    writes = [s for s, _ in log.statements if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert await rows_in(company.tenant) == []
