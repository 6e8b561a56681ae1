"""Demo data goes through the real services: valid, audited, multilingual, deterministic, visible via the API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from backend.seeding import seed_crm
from backend.seeding_activities import CITIES
from tenants.scope import tenant_scope


async def counts(tenant) -> dict[str, int]:
    async with tenant_scope(tenant) as uow:
        result = {}
        for table in ("accounts", "legal_entities", "contacts", "deals", "audit_log", "deal_stage_history",
                      "interactions", "tasks"):
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
    assert (found["interactions"], found["tasks"]) == (report.interactions, report.tasks)
    assert found["audit_log"] >= (report.accounts + report.legal_entities + report.contacts + report.deals
                                  + report.interactions + report.tasks)
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


async def test_seeded_year_of_interactions_and_tasks(client, company) -> None:
    async with tenant_scope(company.tenant) as uow:
        report = await seed_crm(uow, company.user_id, size="tiny", seed=3)
    assert report.interactions >= 12 * 3
    assert report.tasks >= 12
    assert not [s for s in report.skipped if s.startswith(("interaction", "task", "done"))]
    async with tenant_scope(company.tenant) as uow:
        kinds = set((await uow.session.execute(text("SELECT DISTINCT kind FROM interactions"))).scalars())
        span = (await uow.session.execute(text("SELECT max(occurred_at) - min(occurred_at) FROM interactions"))).one()
        visits = (await uow.session.execute(text(
            "SELECT latitude, longitude, address FROM interactions WHERE kind = 'visit'"))).all()
        linked = (await uow.session.execute(text(
            "SELECT count(contact_id), count(deal_id) FROM interactions"))).one()
    assert kinds == {"meeting", "call", "sms", "email", "visit", "note"}
    assert span[0].days > 200  # spread over the year
    assert visits
    for lat, lon, address in visits:
        assert isinstance(lat, Decimal)
        assert address
        assert any(abs(lat - c_lat) <= Decimal("0.05") and abs(lon - c_lon) <= Decimal("0.05")
                   for c_lat, c_lon, _ in CITIES.values()), (lat, lon)
    assert linked[0] > 0
    assert linked[1] > 0

    url = f"/api/v1/t/{company.slug}/tasks"
    for params in ({"due": "overdue", "done": "false"}, {"due": "today", "done": "false"},
                   {"due": "upcoming", "done": "false"}, {"done": "true"}, {"due": "none"}):
        found = await client.get(url, headers=company.auth, params={"mine": "true", **params})
        assert found.status_code == 200, found.text
        assert found.json()["items"], params
    account = (await client.get(f"/api/v1/t/{company.slug}/accounts", headers=company.auth)).json()["items"][0]
    feed = await client.get(f"/api/v1/t/{company.slug}/accounts/{account['id']}/timeline", headers=company.auth)
    assert feed.status_code == 200, feed.text
    assert {"interaction", "task_created"} <= {i["kind"] for i in feed.json()["items"]}


async def test_same_seed_same_activities(make_company) -> None:
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    one, two = await make_company(), await make_company()
    for company in (one, two):
        async with tenant_scope(company.tenant) as uow:
            await seed_crm(uow, company.user_id, size="tiny", seed=9, now=now)
    seen = []
    for company in (one, two):
        async with tenant_scope(company.tenant) as uow:
            seen.append((
                list((await uow.session.execute(text(
                    "SELECT a.name, i.kind, i.subject, i.occurred_at, i.latitude, i.duration_seconds"
                    " FROM interactions i JOIN accounts a ON a.id = i.account_id"
                    " ORDER BY a.name, i.occurred_at, i.subject"))).all()),
                list((await uow.session.execute(text(
                    "SELECT a.name, t.title, t.due_at, t.due_date, t.done_at IS NOT NULL FROM tasks t"
                    " JOIN accounts a ON a.id = t.account_id ORDER BY a.name, t.title, t.due_at, t.due_date"))).all()),
            ))
    assert seen[0] == seen[1]
    assert seen[0][0][0][3] >= datetime(2025, 11, 20, tzinfo=UTC)
