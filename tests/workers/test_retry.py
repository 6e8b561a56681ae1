"""A failed job rolls back and is retried by a real arq worker; permanent failures are not retried."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from backend.kit.errors import Invalid
from backend.queue import connect
from tenants.scope import tenant_scope
from workers.decorators import backoff_seconds, tenant_job
from workers.settings import build_worker

ATTEMPTS: dict[str, list[int]] = {}


@tenant_job
async def flaky_probe(ctx, uow, tenant, *, mark: str, fail_times: int):
    ATTEMPTS.setdefault(mark, []).append(ctx["job_try"])
    await uow.session.execute(text("UPDATE company_settings SET name = :n"), {"n": f"{mark}-try{ctx['job_try']}"})
    if ctx["job_try"] <= fail_times:
        raise ConnectionError("SMTP relay went away")  # transient: written work must roll back
    return ctx["job_try"]


@tenant_job
async def invalid_probe(ctx, uow, tenant, *, mark: str):
    ATTEMPTS.setdefault(mark, []).append(ctx["job_try"])
    raise Invalid("bad input never gets better")


async def drain(settings, database) -> None:
    worker = build_worker(settings, database=database, burst=True, retry_base_seconds=0,
                          extra_functions=[flaky_probe, invalid_probe])
    try:
        await worker.main()
    finally:
        await worker.close()


@pytest.fixture
async def pool(settings):
    redis = await connect(settings.redis_url, settings.queue_name)
    yield redis
    await redis.aclose()


async def company_name(tenant) -> str:
    async with tenant_scope(tenant) as uow:
        return (await uow.session.execute(text("SELECT name FROM company_settings"))).scalar_one()


async def test_transient_failure_is_retried_and_earlier_attempts_leave_nothing(settings, database, company, pool):
    mark = uuid.uuid4().hex[:8]
    job = await pool.enqueue_job("flaky_probe", _job_id=f"flaky:{mark}", tenant_id=str(company.tenant.id),
                                 mark=mark, fail_times=2)
    await drain(settings, database)
    assert await job.result(timeout=5) == 3
    assert ATTEMPTS[mark] == [1, 2, 3]
    assert await company_name(company.tenant) == f"{mark}-try3"


async def test_domain_error_fails_at_once_without_retry(settings, database, company, pool):
    mark = uuid.uuid4().hex[:8]
    before = await company_name(company.tenant)
    job = await pool.enqueue_job("invalid_probe", _job_id=f"invalid:{mark}", tenant_id=str(company.tenant.id),
                                 mark=mark)
    await drain(settings, database)
    with pytest.raises(Invalid):
        await job.result(timeout=5)
    assert ATTEMPTS[mark] == [1]
    assert await company_name(company.tenant) == before


async def test_gives_up_after_max_tries(settings, database, company, pool):
    mark = uuid.uuid4().hex[:8]
    job = await pool.enqueue_job("flaky_probe", _job_id=f"flaky:{mark}", tenant_id=str(company.tenant.id),
                                 mark=mark, fail_times=99)
    await drain(settings, database)
    with pytest.raises(ConnectionError):
        await job.result(timeout=5)
    assert ATTEMPTS[mark] == [1, 2, 3, 4, 5]
    assert await company_name(company.tenant) == f"Company {company.slug}"


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff_seconds(t) for t in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff_seconds(20) == 300
    assert backoff_seconds(3, base=0) == 0
