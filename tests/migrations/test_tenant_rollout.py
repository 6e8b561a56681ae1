"""A tenant migration rolled out across 50 schemas: failures roll back per schema, reruns resume,
and a cancelled run leaves every schema either fully migrated or untouched."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tenants.migrate import MigrationReport, migrate_tenants
from tests.migrations.conftest import MakeDatabase
from tests.migrations.support import MARKER, OLD_HEAD, add_column_revision, provision, schema_states, tree_with

TENANTS = 50
NEW_HEAD = "t9001"
COLUMN = "vat_number"


async def test_failing_schemas_roll_back_alone_and_a_rerun_resumes(fresh_database: MakeDatabase, tmp_path) -> None:
    fresh = await fresh_database()
    refs = await provision(fresh.db, TENANTS)
    tree = tree_with(tmp_path, add_column_revision(NEW_HEAD, OLD_HEAD, COLUMN))
    assert tree.head == NEW_HEAD

    refusing = {ref.schema for ref in refs[::7]}  # 8 schemas
    async with fresh.db.engine().begin() as conn:
        for schema in refusing:
            await conn.execute(text(f'CREATE TABLE "{schema}".{MARKER} (id int)'))

    ticks: list[tuple[str, bool]] = []
    report = await migrate_tenants(fresh.db, tree=tree, concurrency=4, progress=lambda s, ok: ticks.append((s, ok)))

    assert report.total == TENANTS
    assert report.tenant_head == NEW_HEAD
    assert set(report.failed) == refusing
    assert all(f"{MARKER} present" in reason for reason in report.failed.values()), report.failed
    assert set(report.upgraded) == {ref.schema for ref in refs} - refusing
    assert len(report.upgraded) == TENANTS - len(refusing)
    assert report.up_to_date == 0
    assert not report.ok
    assert sorted(ticks) == sorted((ref.schema, ref.schema not in refusing) for ref in refs)

    states = await schema_states(fresh.db, COLUMN)
    names = {ref.schema: ref.name for ref in refs}
    assert set(states) == set(names)
    for schema, state in states.items():
        if schema in refusing:  # its transaction rolled back: the column added before the error is gone too
            assert (state.version, state.registered, state.has_column) == (OLD_HEAD, OLD_HEAD, False), schema
        else:
            assert (state.version, state.registered, state.has_column) == (NEW_HEAD, NEW_HEAD, True), schema
        assert state.settings_name == names[schema]  # the tenant's data is untouched either way

    async with fresh.db.engine().begin() as conn:
        for schema in refusing:
            await conn.execute(text(f'DROP TABLE "{schema}".{MARKER}'))

    resumed = await migrate_tenants(fresh.db, tree=tree, concurrency=4)
    assert resumed.ok, resumed.failed
    assert set(resumed.upgraded) == refusing  # only the schemas still behind were touched
    assert resumed.up_to_date == TENANTS - len(refusing)
    states = await schema_states(fresh.db, COLUMN)
    assert {(s.version, s.registered, s.has_column) for s in states.values()} == {(NEW_HEAD, NEW_HEAD, True)}

    again = await migrate_tenants(fresh.db, tree=tree, concurrency=4)
    assert (again.ok, again.upgraded, again.up_to_date) == (True, [], TENANTS)


async def test_cancelled_rollout_leaves_no_half_migrated_schema_and_resumes(
    fresh_database: MakeDatabase, tmp_path
) -> None:
    fresh = await fresh_database()
    refs = await provision(fresh.db, TENANTS)
    tree = tree_with(tmp_path, add_column_revision(NEW_HEAD, OLD_HEAD, COLUMN))
    stop_after = 10
    done: list[str] = []
    enough = asyncio.Event()

    def tick(schema: str, ok: bool) -> None:
        assert ok, schema
        done.append(schema)
        if len(done) >= stop_after:
            enough.set()

    report = MigrationReport()
    task = asyncio.create_task(migrate_tenants(fresh.db, tree=tree, concurrency=4, progress=tick, report=report))
    await enough.wait()
    task.cancel()  # what Ctrl-C does to `tandem migrate`
    with pytest.raises(asyncio.CancelledError):
        await task

    states = await schema_states(fresh.db, COLUMN)
    migrated = {schema for schema, s in states.items() if s.version == NEW_HEAD}
    for schema, state in states.items():
        # all or nothing per schema: version row, column and registry row move together
        assert (state.version, state.registered, state.has_column) in {
            (OLD_HEAD, OLD_HEAD, False), (NEW_HEAD, NEW_HEAD, True)
        }, (schema, state)
    assert set(report.upgraded) <= migrated
    assert set(done) <= migrated
    assert stop_after <= len(migrated) < TENANTS

    resumed = await migrate_tenants(fresh.db, tree=tree, concurrency=4)
    assert resumed.ok, resumed.failed
    assert resumed.up_to_date == len(migrated)
    assert set(resumed.upgraded) == {ref.schema for ref in refs} - migrated
    states = await schema_states(fresh.db, COLUMN)
    assert {(s.version, s.registered, s.has_column) for s in states.values()} == {(NEW_HEAD, NEW_HEAD, True)}
