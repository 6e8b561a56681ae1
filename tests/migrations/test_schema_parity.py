"""The provisioning snapshot, the tenant migration history and the models describe one schema;
the shared tree and the shared models agree."""

from __future__ import annotations

import uuid
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from backend.models import shared_metadata, tenant_metadata
from tenants import provisioning
from tenants.alembic_trees import SHARED, TENANT
from tenants.migrate import upgrade_schema
from tenants.models import Tenant
from tenants.naming import schema_for
from tenants.scope import shared_scope
from tests.migrations.conftest import FreshDatabase, MakeDatabase
from tests.migrations.support import catalog


async def _replayed_schema(fresh: FreshDatabase) -> str:
    """An empty schema, registered as a tenant, brought to head by replaying the whole tenant tree."""
    tenant_id = uuid.uuid4()
    schema = schema_for(tenant_id)
    async with shared_scope(database=fresh.db) as uow:
        await uow.session.execute(text(f'CREATE SCHEMA "{schema}"'))
        uow.session.add(Tenant(id=tenant_id, slug="replayed", name="Replayed", schema_name=schema))
    assert await upgrade_schema(fresh.db, schema, "default") == TENANT.head
    async with shared_scope(database=fresh.db) as uow:
        row = await uow.session.get(Tenant, tenant_id)
        assert row is not None
        assert row.schema_revision == TENANT.head
    return schema


def _readable(diffs: list[Any]) -> list[Any]:
    """Index differences with their expressions (an expression index otherwise prints as an object)."""
    return [(d[0], getattr(d[1], "name", d[1]), [str(e) for e in getattr(d[1], "expressions", [])])
            if isinstance(d, tuple) else d for d in diffs]


def _differences(sync_conn: Connection, metadata: MetaData, opts: dict[str, Any]) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn, opts={"target_metadata": metadata, "compare_type": True, "compare_server_default": True, **opts}
    )
    return list(compare_metadata(context, metadata))


async def test_provisioned_schema_equals_replayed_migration_history(fresh_database: MakeDatabase) -> None:
    fresh = await fresh_database()
    async with shared_scope(database=fresh.db) as uow:
        provisioned = await provisioning.create_tenant(uow, provisioning.NewTenant(slug="snapshot", name="Snap"))
    replayed = await _replayed_schema(fresh)

    async with fresh.db.engine().connect() as conn:
        from_snapshot = await catalog(conn, provisioned.schema)
        from_history = await catalog(conn, replayed)
        versions = [
            (await conn.execute(text(f'SELECT version_num FROM "{s}".alembic_version'))).scalar_one()
            for s in (provisioned.schema, replayed)
        ]

    assert versions == [TENANT.head, TENANT.head]
    tables = {name for name, kind, _ in from_snapshot["relations"] if kind == "r"}
    assert tables == {t.name for t in tenant_metadata.sorted_tables} | {"alembic_version"}
    assert from_snapshot["columns"]
    assert from_snapshot["constraints"]
    assert from_snapshot["indexes"]
    for kind in from_snapshot:
        assert from_snapshot[kind] == from_history[kind], kind


async def test_tenant_models_match_the_replayed_tenant_tree(fresh_database: MakeDatabase) -> None:
    fresh = await fresh_database()
    replayed = await _replayed_schema(fresh)
    async with fresh.db.engine().connect() as conn, conn.begin():
        # transaction-local, like tenant_scope: the tenant schema is the default schema autogenerate reflects
        await conn.execute(text("SELECT set_config('search_path', :p, true)"), {"p": f'"{replayed}"'})
        assert (await conn.execute(text("SELECT current_schema()"))).scalar_one() == replayed
        diffs = await conn.run_sync(_differences, tenant_metadata, {})
    assert diffs == [], _readable(diffs)


async def test_shared_models_match_the_shared_tree(fresh_database: MakeDatabase) -> None:
    fresh = await fresh_database()

    def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
        return type_ != "schema" or name == "shared"

    async with fresh.db.engine().connect() as conn:
        assert await conn.run_sync(lambda c: SHARED.current(c, "shared")) == SHARED.head
        diffs = await conn.run_sync(
            _differences, shared_metadata,
            {"include_schemas": True, "include_name": include_name, "version_table_schema": "shared"},
        )
    assert diffs == [], _readable(diffs)


async def test_shared_tree_builds_exactly_what_the_models_declare(fresh_database: MakeDatabase) -> None:
    """Stricter than autogenerate (which ignores constraint names, identity details, sequences):
    the models' own DDL in a scratch schema has the same catalog as the migrated ``shared`` schema."""
    fresh = await fresh_database()
    async with fresh.db.engine().connect() as conn:
        await conn.execute(text("CREATE SCHEMA shared_model"))
        translated = await conn.execution_options(schema_translate_map={"shared": "shared_model"})
        await translated.run_sync(shared_metadata.create_all)
        await conn.commit()
        migrated = await catalog(conn, "shared", skip_tables=frozenset({"alembic_version"}))
        declared = await catalog(conn, "shared_model")

    tables = {name for name, kind, _ in migrated["relations"] if kind == "r"}
    assert tables == {t.name for t in shared_metadata.sorted_tables}
    for kind in migrated:
        assert migrated[kind] == declared[kind], kind
