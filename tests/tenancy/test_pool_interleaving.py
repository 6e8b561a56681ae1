"""tenant_scope over a tiny pool: connections are reused between tenants, nothing leaks.

Requirements covered: (1a) interleaved concurrent transactions of two tenants on a pool of
two connections, (2) rolled-back scopes leave nothing behind and the next tenant on that
very connection sees its own schema only, (4) no tenant schema stays on the search_path of
a connection returned to the pool, also after an exception or a cancellation.

Both tenants send the very same SQL texts over the same connections, so asyncpg's per-connection
prepared-statement cache is exercised too: a plan prepared for one tenant's search_path must not
be reused for the other's.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InvalidRequestError, ProgrammingError

from tenants.scope import tenant_scope
from tests.tenancy.conftest import StatementLog, insert_probe, marker, probe_rows, raw_path, rows_in, where_am_i

WAIT = 10  # seconds; only a guard against a hang, never a synchronisation device


class Boom(RuntimeError):
    pass


def only_tenant_schemas(schemas: list[str]) -> list[str]:
    return [s for s in schemas if s.startswith("t_")]


async def assert_pool_is_clean(db, size) -> None:
    """Every connection of the pool, checked out at once: none has a tenant schema on its path."""
    conns = [await db.engine().connect() for _ in range(size)]
    try:
        pids = set()
        for conn in conns:
            row = (await conn.execute(text("SELECT pg_backend_pid() AS pid, current_schemas(false) AS s"))).one()
            pids.add(row.pid)
            assert only_tenant_schemas(list(row.s)) == [], row.s
        assert len(pids) == size
    finally:
        for conn in conns:
            await conn.close()


async def test_interleaved_transactions_of_two_tenants_on_two_pooled_connections(pair, small_db):
    """Rounds of two overlapping transactions (one per tenant), both open and both written
    before either reads; whoever went first in a round goes second in the next, so each
    pooled connection is handed from one tenant to the other. Every third round the first
    transaction fails after writing."""
    db = small_db(2)
    log = StatementLog().attach(db)
    served: dict[int, list[str]] = defaultdict(list)
    committed: dict[str, set[str]] = {co.slug: set() for co in pair}
    rolled_back: set[str] = set()

    async def turn(co, mine_written, theirs_written, wait_before_exit, released, mark, fail):
        try:
            async with tenant_scope(co.tenant, database=db) as uow:
                await insert_probe(uow, co.slug, mark)
                mine_written.set()
                await asyncio.wait_for(theirs_written.wait(), WAIT)  # the other tenant has written too
                pid, schemas, name = await where_am_i(uow)
                rows = await probe_rows(uow)
                served[pid].append(co.slug)
                assert only_tenant_schemas(schemas) == [co.tenant.schema]
                assert name == f"Company {co.slug}"
                assert {owner for owner, _ in rows} == {co.slug}
                assert mark in {m for _, m in rows}
                if wait_before_exit is not None:
                    await asyncio.wait_for(wait_before_exit.wait(), WAIT)
                if fail:
                    raise Boom(mark)
        except Boom:
            rolled_back.add(mark)
        else:
            committed[co.slug].add(mark)
        finally:
            released.set()

    a, b = pair
    for r in range(9):
        first, second = (a, b) if r % 2 == 0 else (b, a)
        w1, w2, rel1, rel2 = asyncio.Event(), asyncio.Event(), asyncio.Event(), asyncio.Event()
        await asyncio.gather(
            turn(first, w1, w2, None, rel1, marker(f"r{r}"), fail=r % 3 == 2),
            turn(second, w2, w1, rel1, rel2, marker(f"r{r}"), fail=False),
        )

    assert log.connects <= 2, "the pool opened more than two connections"
    assert len(served) <= 2
    assert any(len(set(slugs)) == 2 for slugs in served.values()), f"no connection changed tenant: {dict(served)}"
    assert rolled_back, "some rounds must have rolled back"
    for co in pair:
        rows = await rows_in(co.tenant, db)
        assert {owner for owner, _ in rows} == {co.slug}
        seen = {m for _, m in rows}
        assert committed[co.slug] <= seen
        assert not (rolled_back & seen)
        other = b if co is a else a
        assert not (committed[other.slug] & seen)
    await assert_pool_is_clean(db, 2)


async def test_many_concurrent_tasks_two_tenants_pool_of_two(pair, small_db):
    """60 tasks in a shuffled alpha/beta order fight for two connections; each writes a row,
    reads its schema, its settings and all probe rows, and must see only its own tenant."""
    db = small_db(2)
    log = StatementLog().attach(db)
    a, b = pair
    order = [a, b] * 30
    random.Random(20240601).shuffle(order)
    marks = [marker(f"s{i}") for i in range(len(order))]
    served: dict[int, set[str]] = defaultdict(set)

    async def task(co, mark):
        async with tenant_scope(co.tenant, database=db) as uow:
            await insert_probe(uow, co.slug, mark)
            pid, schemas, name = await where_am_i(uow)
            rows = await probe_rows(uow)
        served[pid].add(co.slug)
        return co, schemas, name, rows, mark

    results = await asyncio.gather(*(task(co, m) for co, m in zip(order, marks, strict=True)))

    assert log.connects <= 2
    assert log.checkouts >= len(order)
    assert any(len(s) == 2 for s in served.values()), f"connections were not shared by both tenants: {served}"
    for co, schemas, name, rows, mark in results:
        assert only_tenant_schemas(schemas) == [co.tenant.schema]
        assert name == f"Company {co.slug}"
        assert {owner for owner, _ in rows} == {co.slug}
        assert mark in {m for _, m in rows}
    for co in pair:
        rows = await rows_in(co.tenant, db)
        mine = {m for co2, m in zip(order, marks, strict=True) if co2 is co}
        theirs = set(marks) - mine
        seen = {m for _, m in rows}
        assert mine <= seen
        assert not (theirs & seen)
    await assert_pool_is_clean(db, 2)


async def _fail_by_raising(co, uow, written: asyncio.Event) -> None:
    raise Boom("mid-way")


async def _fail_by_sql_error(co, uow, written: asyncio.Event) -> None:
    # `tenants` lives in `shared`, which is not on a tenant's search path: the statement fails
    # and the transaction is aborted.
    await uow.session.execute(text("SELECT * FROM tenants"))


async def _fail_by_cancellation(co, uow, written: asyncio.Event) -> None:
    written.set()
    await asyncio.Event().wait()  # parked until cancelled


@pytest.mark.parametrize("failure", [_fail_by_raising, _fail_by_sql_error, _fail_by_cancellation],
                         ids=["exception", "sql-error", "cancelled"])
async def test_rolled_back_scope_leaves_nothing_and_next_tenant_on_same_connection_sees_own_schema(
        pair, small_db, failure):
    db = small_db(1)  # one connection: the next scope necessarily reuses it
    a, b = pair
    mark = marker("rollback")
    ran_after_commit = []
    pids = []

    async def doomed(written: asyncio.Event) -> None:
        async with tenant_scope(a.tenant, database=db) as uow:
            await insert_probe(uow, a.slug, mark)
            await uow.session.execute(text("UPDATE company_settings SET name = 'hijacked'"))
            pid, schemas, name = await where_am_i(uow)
            pids.append(pid)
            assert name == "hijacked"  # the writes did happen inside the transaction
            assert only_tenant_schemas(schemas) == [a.tenant.schema]

            async def callback() -> None:
                ran_after_commit.append(mark)

            uow.after_commit(callback)
            await failure(a, uow, written)

    written = asyncio.Event()
    task = asyncio.create_task(doomed(written))
    if failure is _fail_by_cancellation:
        await asyncio.wait_for(written.wait(), WAIT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        with pytest.raises((Boom, ProgrammingError)):
            await task

    async with tenant_scope(b.tenant, database=db) as uow:
        pid_b, schemas_b, name_b = await where_am_i(uow)
        rows_b = await probe_rows(uow)
    assert pid_b == pids[0], "the pool of one must hand back the same connection"
    assert only_tenant_schemas(schemas_b) == [b.tenant.schema]
    assert name_b == f"Company {b.slug}"
    assert {owner for owner, _ in rows_b} <= {b.slug}
    assert mark not in {m for _, m in rows_b}

    async with tenant_scope(a.tenant, database=db) as uow:
        pid_a, _, name_a = await where_am_i(uow)
        rows_a = await probe_rows(uow)
    assert pid_a == pids[0]
    assert name_a == f"Company {a.slug}", "the rolled-back UPDATE survived"
    assert mark not in {m for _, m in rows_a}, "the rolled-back INSERT survived"
    assert ran_after_commit == [], "an after-commit callback ran for a rolled-back transaction"

    pid, path, schemas = await raw_path(db)
    assert pid == pids[0]
    assert "t_" not in path
    assert only_tenant_schemas(schemas) == []


@pytest.mark.parametrize("fail", [False, True], ids=["committed", "raised"])
async def test_no_tenant_schema_on_the_search_path_of_a_returned_connection(pair, small_db, fail):
    db = small_db(1)
    a, _ = pair
    pid_before, path_before, _ = await raw_path(db)
    assert "t_" not in path_before

    try:
        async with tenant_scope(a.tenant, database=db) as uow:
            pid, schemas, _ = await where_am_i(uow)
            path_inside = (await uow.session.execute(text("SHOW search_path"))).scalar_one()
            if fail:
                raise Boom
    except Boom:
        assert fail
    assert pid == pid_before
    assert only_tenant_schemas(schemas) == [a.tenant.schema]
    assert a.tenant.schema in path_inside

    pid_after, path_after, schemas_after = await raw_path(db)
    assert pid_after == pid_before, "not the same pooled connection"
    assert path_after == path_before
    assert a.tenant.schema not in path_after
    assert only_tenant_schemas(schemas_after) == []
    # and the tenant table is out of reach on that connection
    async with db.engine().connect() as conn:
        with pytest.raises(ProgrammingError, match="does not exist"):
            await conn.execute(text("SELECT * FROM company_settings"))


async def test_a_commit_inside_the_scope_drops_the_tenant_path_instead_of_leaking(pair, small_db):
    """A service that (wrongly) commits mid-scope must not go on running: the tenant path died with
    that commit, and the next statement is refused instead of running somewhere else."""
    db = small_db(1)
    a, _ = pair

    async def commit_then_query() -> None:
        async with tenant_scope(a.tenant, database=db) as uow:
            await where_am_i(uow)
            await uow.session.commit()
            await uow.session.execute(text("SELECT name FROM company_settings"))

    with pytest.raises((InvalidRequestError, ProgrammingError)):
        await commit_then_query()
    _, path, schemas = await raw_path(db)
    assert a.tenant.schema not in path
    assert only_tenant_schemas(schemas) == []
