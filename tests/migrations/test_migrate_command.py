"""`tandem migrate` end to end, idempotent shared tree, and concurrent runners that never double-apply."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from backend.db.database import Database
from tenants.alembic_trees import SHARED, TENANT
from tenants.migrate import migrate_shared, migrate_tenants
from tenants.models import Tenant
from tenants.naming import schema_for
from tenants.scope import shared_scope
from tests.migrations.conftest import FreshDatabase, MakeDatabase
from tests.migrations.support import OLD_HEAD, applied_once_revision, provision, schema_states, tree_with


async def _register_bare_schema(fresh: FreshDatabase, slug: str, *, create_schema: bool = True) -> str:
    """A registered tenant whose schema is empty (or missing): behind head, as after an interrupted rollout."""
    tenant_id = uuid.uuid4()
    schema = schema_for(tenant_id)
    async with shared_scope(database=fresh.db) as uow:
        if create_schema:
            await uow.session.execute(text(f'CREATE SCHEMA "{schema}"'))
        uow.session.add(Tenant(id=tenant_id, slug=slug, name=slug, schema_name=schema))
    return schema


async def test_tandem_migrate_end_to_end(fresh_database: MakeDatabase, tandem, capsys) -> None:
    fresh = await fresh_database(migrate=False)

    assert await tandem(fresh, "migrate", "--concurrency", "3") == 0
    out = capsys.readouterr().out
    assert f"shared: <empty> -> {SHARED.head}" in out
    assert "tenants: 0 total, 0 already at" in out
    assert "0 failed" in out

    await provision(fresh.db, 1)
    behind = {await _register_bare_schema(fresh, f"bare-{i}") for i in range(2)}
    assert await tandem(fresh, "migrate") == 0
    captured = capsys.readouterr()
    assert f"shared: {SHARED.head} -> {SHARED.head}" in captured.out
    assert f"tenants: 3 total, 1 already at {TENANT.head}, 2 upgraded, 0 failed" in captured.out
    assert "tenant schemas" in captured.err  # the progress bar
    states = await schema_states(fresh.db, "name")
    assert {(s.version, s.registered, s.has_column) for s in states.values()} == {(TENANT.head, TENANT.head, True)}
    assert behind <= set(states)

    assert await tandem(fresh, "migrate", "--no-progress") == 0  # a no-op
    captured = capsys.readouterr()
    assert f"tenants: 3 total, 3 already at {TENANT.head}, 0 upgraded, 0 failed" in captured.out
    assert "tenant schemas" not in captured.err


async def test_tandem_migrate_reports_a_broken_schema_and_resumes(
    fresh_database: MakeDatabase, tandem, capsys
) -> None:
    fresh = await fresh_database()
    await provision(fresh.db, 2)
    missing = await _register_bare_schema(fresh, "no-schema", create_schema=False)

    assert await tandem(fresh, "migrate", "--no-progress") == 1
    captured = capsys.readouterr()
    assert f"tenants: 3 total, 2 already at {TENANT.head}, 0 upgraded, 1 failed" in captured.out
    assert f"FAILED {missing}:" in captured.err
    assert "run `tandem migrate` again" in captured.err

    async with fresh.db.engine().begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{missing}"'))
    assert await tandem(fresh, "migrate", "--no-progress") == 0
    assert f"2 already at {TENANT.head}, 1 upgraded, 0 failed" in capsys.readouterr().out
    assert (await schema_states(fresh.db, "name"))[missing].version == TENANT.head


async def test_shared_tree_is_idempotent_and_serialised(fresh_database: MakeDatabase) -> None:
    fresh = await fresh_database(migrate=False)
    other = Database({"default": fresh.url}, pool_size=2, max_overflow=0)  # a second `tandem migrate` process
    try:
        results = await asyncio.gather(migrate_shared(fresh.db), migrate_shared(other))
    finally:
        await other.dispose()
    # the advisory lock serialises them: one builds the schema, the other finds it at head
    assert sorted(results, key=str) == sorted([(None, SHARED.head), (SHARED.head, SHARED.head)], key=str)

    async with fresh.db.engine().connect() as conn:
        tables_before = (await conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'shared'"))).scalar_one()
    assert await migrate_shared(fresh.db) == (SHARED.head, SHARED.head)
    async with fresh.db.engine().connect() as conn, conn.begin():
        # replaying at head through Alembic itself changes nothing either
        assert await SHARED.upgrade_async(conn, "shared") == SHARED.head
        versions = (await conn.execute(text("SELECT version_num FROM shared.alembic_version"))).scalars().all()
        tables_after = (await conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'shared'"))).scalar_one()
    assert versions == [SHARED.head]
    assert tables_after == tables_before


async def test_concurrent_tenant_migrations_apply_each_revision_once(fresh_database: MakeDatabase, tmp_path) -> None:
    fresh = await fresh_database()
    refs = await provision(fresh.db, 12)
    tree = tree_with(tmp_path, applied_once_revision("t9101", OLD_HEAD))
    other = Database({"default": fresh.url}, pool_size=4, max_overflow=0)  # a second runner, own pool
    try:
        first, second = await asyncio.gather(
            migrate_tenants(fresh.db, tree=tree, concurrency=4), migrate_tenants(other, tree=tree, concurrency=4)
        )
    finally:
        await other.dispose()

    assert first.ok, first.failed
    assert second.ok, second.failed
    # each schema was upgraded by exactly one runner; the other found it done under the schema's lock
    assert not set(first.upgraded) & set(second.upgraded)
    assert set(first.upgraded) | set(second.upgraded) == {ref.schema for ref in refs}
    assert len(first.upgraded) + first.up_to_date == len(second.upgraded) + second.up_to_date == len(refs)
    states = await schema_states(fresh.db, "applied_once")
    assert {(s.version, s.registered, s.has_column) for s in states.values()} == {("t9101", "t9101", True)}
    async with fresh.db.engine().connect() as conn:
        for ref in refs:
            applied = (await conn.execute(text(f'SELECT count(*) FROM "{ref.schema}".applied_log'))).scalar_one()
            assert applied == 1, ref.schema
