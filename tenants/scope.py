"""tenant_scope / shared_scope: one UnitOfWork, one transaction.

``tenant_scope`` runs ``SELECT set_config('search_path', '<schema>, ext', true)``
right after BEGIN. The setting is transaction-local: it dies with COMMIT or
ROLLBACK, never leaks through the pool, and works behind PgBouncer in
transaction mode. A session-level ``SET`` is never used.

Queued jobs and after-commit callbacks run only once the transaction has
committed; a rollback drops them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from backend.db.base import EXTENSIONS_SCHEMA
from backend.db.database import DEFAULT_CLUSTER, Database, get_database
from backend.db.uow import UnitOfWork
from backend.kit.jobs import send_jobs
from tenants.naming import search_path_for, validate_schema_name
from tenants.registry import TenantRef

log = logging.getLogger(__name__)
SET_PATH = text("SELECT set_config('search_path', :path, true)")


@asynccontextmanager
async def tenant_scope(tenant: TenantRef, *, database: Database | None = None) -> AsyncIterator[UnitOfWork]:
    schema = validate_schema_name(tenant.schema)
    db = database or get_database()
    async with db.sessions(tenant.cluster)() as session:
        uow = UnitOfWork(session, tenant_id=str(tenant.id), schema=schema)
        try:
            async with session.begin():
                await session.execute(SET_PATH, {"path": search_path_for(schema)})
                yield uow
        except BaseException:
            uow.discard()
            raise
    await _after_commit(uow)


@asynccontextmanager
async def shared_scope(
    *, database: Database | None = None, cluster: str = DEFAULT_CLUSTER
) -> AsyncIterator[UnitOfWork]:
    """A transaction for platform tables. No tenant schema is on the search path."""
    db = database or get_database()
    async with db.sessions(cluster)() as session:
        uow = UnitOfWork(session)
        try:
            async with session.begin():
                await session.execute(SET_PATH, {"path": EXTENSIONS_SCHEMA})
                yield uow
        except BaseException:
            uow.discard()
            raise
    await _after_commit(uow)


async def enter_tenant_schema(uow: UnitOfWork, schema: str) -> None:
    """Point an open transaction at a (new) tenant schema; used by provisioning only."""
    uow.schema = validate_schema_name(schema)
    await uow.session.execute(SET_PATH, {"path": search_path_for(schema)})


async def _after_commit(uow: UnitOfWork) -> None:
    """The transaction is committed: nothing here may turn that success into an error."""
    jobs, uow.jobs = uow.jobs, []
    try:
        await send_jobs(jobs)
    except Exception:
        # The write stands; the jobs are lost. Logged with their ids for a replay (an outbox
        # table would make this durable: see the issue notes).
        log.exception("committed, but %d job(s) could not be queued: %s", len(jobs), [j.job_id for j in jobs])
    await uow.run_after_commit()
