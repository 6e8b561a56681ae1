"""Fixtures for the tenancy isolation suite.

* ``pair``: two fresh tenants (never alpha/beta, which other files share), each with a
  probe table ``isolation_probe`` in its own schema, dropped again at the end of the module.
* ``small_db``: a factory of dedicated ``Database`` handles with a tiny pool
  (``pool_size=N, max_overflow=0``) so that connections are provably reused.
* ``keep_globals``: the process-wide database and job sender are restored after a test
  that starts a second app or a worker (their start-up hooks replace both).
* ``StatementLog``: records every SQL statement an engine sends and every pool checkout.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import event, text

from backend.app import create_app
from backend.db.database import Database, get_database, set_database
from backend.kit import jobs
from tenants.naming import quoted
from tenants.registry import TenantRef
from tests.conftest import Company, new_company, unique


def probe_ddl(schema: str):
    """The probe table, schema-qualified (the fixture must not depend on the scope under test)."""
    return text(
        f"CREATE TABLE {quoted(schema)}.isolation_probe ("
        " id bigserial PRIMARY KEY,"
        " owner text NOT NULL,"
        " marker text NOT NULL UNIQUE)"
    )


async def create_probe(database: Database, schema: str) -> None:
    async with database.engine().begin() as conn:
        await conn.execute(probe_ddl(schema))


def marker(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def insert_probe(uow, owner: str, mark: str) -> None:
    await uow.session.execute(text("INSERT INTO isolation_probe (owner, marker) VALUES (:o, :m)"),
                              {"o": owner, "m": mark})


async def probe_rows(uow) -> list[tuple[str, str]]:
    rows = await uow.session.execute(text("SELECT owner, marker FROM isolation_probe ORDER BY id"))
    return [(r.owner, r.marker) for r in rows]


async def rows_in(tenant: TenantRef, database: Database | None = None) -> list[tuple[str, str]]:
    """Ground truth, independent of the scope under test: the probe rows stored in the tenant's
    schema, read with a schema-qualified query."""
    db = database or get_database()
    async with db.engine().connect() as conn:
        rows = await conn.execute(text(
            f"SELECT owner, marker FROM {quoted(tenant.schema)}.isolation_probe ORDER BY id"))
        return [(r.owner, r.marker) for r in rows]


async def where_am_i(uow) -> tuple[int, list[str], str]:
    """(backend pid, current_schemas(false), company_settings.name) inside the open transaction."""
    row = (await uow.session.execute(text(
        "SELECT pg_backend_pid() AS pid, current_schemas(false) AS schemas,"
        " (SELECT name FROM company_settings) AS name"
    ))).one()
    return row.pid, list(row.schemas), row.name


async def raw_path(database: Database) -> tuple[int, str, list[str]]:
    """(pid, SHOW search_path, current_schemas(false)) on a plain pooled connection, outside any scope."""
    async with database.engine().connect() as conn:
        row = (await conn.execute(text(
            "SELECT pg_backend_pid() AS pid, current_setting('search_path') AS path,"
            " current_schemas(false) AS schemas"
        ))).one()
        await conn.rollback()
    return row.pid, row.path, list(row.schemas)


@dataclass
class Pair:
    a: Company
    b: Company

    def __iter__(self) -> Iterator[Company]:
        return iter((self.a, self.b))


@pytest.fixture(scope="module")
async def pair(database: Database, settings) -> AsyncIterator[Pair]:
    made = Pair(await new_company(settings, unique("iso-a")), await new_company(settings, unique("iso-b")))
    for co in made:
        await create_probe(database, co.tenant.schema)
    yield made
    async with database.engine().begin() as conn:
        for co in made:
            await conn.execute(text(f"DROP TABLE IF EXISTS {quoted(co.tenant.schema)}.isolation_probe"))


@pytest.fixture
async def small_db(settings) -> AsyncIterator[Callable[[int], Database]]:
    made: list[Database] = []

    def make(pool_size: int) -> Database:
        db = Database({"default": settings.database_url or ""}, pool_size=pool_size, max_overflow=0)
        made.append(db)
        return db

    yield make
    for db in made:
        await db.dispose()


@pytest.fixture
def keep_globals(database: Database) -> Iterator[None]:
    before_db = get_database()
    before_sender = jobs._sender
    yield
    set_database(before_db)
    jobs.set_job_sender(before_sender)


@dataclass
class StatementLog:
    """Every statement sent through an engine, and every connection checked out of its pool."""

    statements: list[tuple[str, object]] = field(default_factory=list)
    checkouts: int = 0
    connects: int = 0

    def attach(self, database: Database) -> StatementLog:
        sync_engine = database.engine().sync_engine

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _sql(conn, cursor, statement, parameters, context, executemany) -> None:
            self.statements.append((statement, parameters))

        @event.listens_for(sync_engine.pool, "checkout")
        def _checkout(dbapi_conn, record, proxy) -> None:
            self.checkouts += 1

        @event.listens_for(sync_engine.pool, "connect")
        def _connect(dbapi_conn, record) -> None:
            self.connects += 1

        return self

    def mentions(self, needle: str) -> list[str]:
        return [s for s, p in self.statements if needle in s or needle in repr(p)]


@dataclass
class SmallApp:
    client: httpx.AsyncClient
    database: Database
    log: StatementLog


@pytest.fixture
async def pool2_app(settings, small_db, keep_globals) -> AsyncIterator[SmallApp]:
    """A second instance of the real app whose database pool holds exactly two connections,
    driven in-loop like the session ``client`` (the lifespan is entered and left in one task)."""
    db = small_db(2)
    log = StatementLog().attach(db)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40001))
    started, stop = asyncio.Event(), asyncio.Event()

    async def host() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(host())
    await asyncio.wait_for(started.wait(), 30)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield SmallApp(c, db, log)
    finally:
        stop.set()
        await task
