"""Requirement (3): a query against a tenant table outside tenant_scope fails loudly
("relation ... does not exist") instead of reading some tenant's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from backend.domains.company.models import CompanySettings
from tenants.models import Tenant
from tenants.scope import shared_scope, tenant_scope

NOT_THERE = r'relation "company_settings" does not exist'


@pytest.mark.parametrize("query", [text("SELECT * FROM company_settings"), select(CompanySettings)],
                         ids=["sql", "orm"])
async def test_tenant_table_in_shared_scope_does_not_exist(alpha, beta, query):
    with pytest.raises(ProgrammingError, match=NOT_THERE):
        async with shared_scope() as uow:
            await uow.session.execute(query)


async def test_shared_scope_has_no_tenant_schema_on_its_path(alpha):
    async with shared_scope() as uow:
        schemas = (await uow.session.execute(text("SELECT current_schemas(false)"))).scalar_one()
        # shared tables are reachable only schema-qualified, as the models are
        found = (await uow.session.execute(select(Tenant.slug).where(Tenant.id == alpha.tenant.id))).scalar_one()
    assert [s for s in schemas if s.startswith("t_")] == []
    assert found == alpha.slug


async def test_tenant_table_on_a_raw_pooled_connection_does_not_exist(database, alpha):
    async with database.engine().connect() as conn:
        with pytest.raises(ProgrammingError, match=NOT_THERE):
            await conn.execute(text("SELECT name FROM company_settings"))


async def test_tenant_table_in_a_bare_session_does_not_exist(database, alpha):
    async with database.sessions()() as session:
        with pytest.raises(ProgrammingError, match=NOT_THERE):
            await session.execute(select(CompanySettings.name))


async def test_shared_tables_are_not_on_a_tenant_search_path(alpha):
    with pytest.raises(ProgrammingError, match=r'relation "tenants" does not exist'):
        async with tenant_scope(alpha.tenant) as uow:
            await uow.session.execute(text("SELECT slug FROM tenants"))


async def test_no_tenant_table_outside_tenant_schemas(database, alpha, beta):
    """Nothing an unscoped tenant query could fall back to: `public` is empty and no tenant table
    lives in a schema that is on a non-tenant path (`public`, `shared`, `ext`)."""
    async with database.engine().connect() as conn:
        in_public = (await conn.execute(text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'f')"
        ))).scalar_one()
        homes = set((await conn.execute(text(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'company_settings'"
        ))).scalars())
    assert in_public == 0
    assert {alpha.tenant.schema, beta.tenant.schema} <= homes
    assert not homes & {"public", "shared", "ext", "pg_catalog"}, homes
