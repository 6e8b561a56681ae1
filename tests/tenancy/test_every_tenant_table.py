"""Every table of the tenant metadata (present and future) lives only in tenant schemas.

For each one: unreachable outside a tenant scope, present in each tenant's own schema, and rows
written by one tenant are invisible to another (checked through the real API for the CRM tables).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from backend.models import tenant_metadata
from tenants.scope import shared_scope, tenant_scope

TABLES = sorted(t.name for t in tenant_metadata.sorted_tables)


def test_the_crm_tables_are_part_of_the_tenant_metadata() -> None:
    assert {"accounts", "contacts", "legal_entities", "audit_log", "company_settings"} <= set(TABLES)


@pytest.mark.parametrize("table", TABLES)
async def test_unscoped_access_fails(database, table) -> None:
    with pytest.raises(ProgrammingError, match="does not exist"):
        async with shared_scope() as uow:
            await uow.session.execute(text(f'SELECT 1 FROM "{table}"'))


@pytest.mark.parametrize("table", TABLES)
async def test_each_tenant_has_its_own_copy(alpha, beta, table) -> None:
    async with shared_scope() as uow:
        schemas = set((await uow.session.execute(text(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = :t"), {"t": table})).scalars())
    assert {alpha.tenant.schema, beta.tenant.schema} <= schemas
    assert not schemas & {"public", "shared", "ext"}


async def test_crm_rows_and_audit_of_one_tenant_stay_there(client, alpha, beta) -> None:
    made = await client.post(f"/api/v1/t/{alpha.slug}/accounts", headers=alpha.auth, json={"name": "Isolated Co"})
    assert made.status_code == 201
    account_id = made.json()["id"]
    for tenant, expected in ((alpha.tenant, 1), (beta.tenant, 0)):
        async with tenant_scope(tenant) as uow:
            accounts = (await uow.session.execute(
                text("SELECT count(*) FROM accounts WHERE id = :i"), {"i": account_id})).scalar_one()
            audit = (await uow.session.execute(
                text("SELECT count(*) FROM audit_log WHERE record_id = :i"), {"i": account_id})).scalar_one()
        assert (accounts, audit) == (expected, expected)
