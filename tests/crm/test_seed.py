"""Demo data goes through the real services: valid, audited, multilingual, deterministic, visible via the API."""

from __future__ import annotations

from sqlalchemy import text

from backend.seeding import seed_crm
from tenants.scope import tenant_scope


async def counts(tenant) -> dict[str, int]:
    async with tenant_scope(tenant) as uow:
        result = {}
        for table in ("accounts", "legal_entities", "contacts", "deals", "audit_log", "deal_stage_history"):
            result[table] = (await uow.session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        return result


async def test_tiny_seed_fills_every_crm_table_through_the_services(client, company) -> None:
    async with tenant_scope(company.tenant) as uow:
        report = await seed_crm(uow, company.user_id, size="tiny", seed=11)
    assert report.accounts == 12
    assert report.legal_entities == 12
    assert report.contacts >= 12
    assert report.deals >= 1
    found = await counts(company.tenant)
    assert found["accounts"] == report.accounts
    assert found["contacts"] == report.contacts
    assert found["deals"] == report.deals
    # every record was created by a service, so every record has its audit row
    assert found["audit_log"] >= report.accounts + report.legal_entities + report.contacts + report.deals
    listed = await client.get(f"/api/v1/t/{company.slug}/accounts", headers=company.auth, params={"limit": 50})
    names = [a["name"] for a in listed.json()["items"]]
    assert len(names) == 12
    assert any("\uac00" <= ch <= "\ud7a3" for name in names for ch in name)  # Korean
    assert any("\u0400" <= ch <= "\u04ff" for name in names for ch in name)  # Cyrillic
    found_ko = await client.get(f"/api/v1/t/{company.slug}/search", headers=company.auth, params={"q": "한빛"})
    assert found_ko.status_code == 200


async def test_same_seed_same_names(make_company) -> None:
    one, two = await make_company(), await make_company()
    for company in (one, two):
        async with tenant_scope(company.tenant) as uow:
            await seed_crm(uow, company.user_id, size="tiny", seed=5)
    names = []
    for company in (one, two):
        async with tenant_scope(company.tenant) as uow:
            names.append(list((await uow.session.execute(text("SELECT name FROM accounts ORDER BY name"))).scalars()))
    assert names[0] == names[1]
