from __future__ import annotations

from sqlalchemy import text

from tenants.scope import tenant_scope


async def test_alpha_has_its_own_schema_and_settings(alpha, beta) -> None:
    assert alpha.tenant.schema != beta.tenant.schema
    async with tenant_scope(alpha.tenant) as uow:
        name = (await uow.session.execute(text("SELECT name FROM company_settings"))).scalar_one()
        path = (await uow.session.execute(text("SHOW search_path"))).scalar_one()
    assert name == f"Company {alpha.slug}"
    assert alpha.tenant.schema in path


async def test_healthz_and_readyz(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
