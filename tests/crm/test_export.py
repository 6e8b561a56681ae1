"""CSV export of the CRM lists: the list's filters, sort and visibility per role, keyset batches, UTF-8 with BOM,
the formula-injection guard, the audit entry, bad filters and tenancy."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.api.crm_export import ExportController
from backend.app import create_app
from backend.domains.crm import export
from backend.domains.crm.visibility import CrmActor
from tenants.scope import tenant_scope
from tests.api.helpers import add_member, assert_problem, execute, fetch, hosted, scalar

PATH = "/api/v1/t/{tenant_slug:str}/accounts.csv"


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    if not any(route.path == PATH for route in app.routes):  # app.py may register it already
        app.register(ExportController)
    async with hosted(app, "192.0.2.95", database) as client:
        yield client


def t(company, suffix: str) -> str:
    return f"/api/v1/t/{company.slug}/{suffix}"


async def post(api, company, suffix: str, auth=None, **body) -> dict[str, Any]:
    response = await api.post(t(company, suffix), headers=auth or company.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def download(api, company, entity: str = "accounts", auth=None, **params) -> list[dict[str, str]]:
    response = await api.get(t(company, f"{entity}.csv"), headers=auth or company.auth, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{entity}-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def listed(api, company, entity: str = "accounts", auth=None, **params) -> list[str]:
    ids, cursor = [], None
    while True:
        page = await api.get(t(company, entity), headers=auth or company.auth,
                             params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        ids += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return ids


async def test_export_streams_the_list_in_batches_with_its_filters_and_sort(api, company) -> None:
    await execute(f'INSERT INTO "{company.tenant.schema}".accounts (id, name, status, tags, owner_user_id)'
                  " SELECT gen_random_uuid(), 'Bulk ' || lpad(g::text, 4, '0'),"
                  " CASE WHEN g % 3 = 0 THEN 'customer' ELSE 'lead' END,"
                  " CASE WHEN g % 5 = 0 THEN ARRAY['vip']::varchar[] ELSE '{}'::varchar[] END, :owner"
                  " FROM generate_series(1, 450) AS g", owner=company.user_id)
    everything = await download(api, company)
    assert [r["id"] for r in everything] == await listed(api, company)
    assert len(everything) == 450
    assert everything[0]["name"] == "Bulk 0001"
    assert everything[0]["owner_email"] == company.email
    filtered = await download(api, company, status="customer", sort="-name")
    assert [r["id"] for r in filtered] == await listed(api, company, status="customer", sort="-name")
    assert (len(filtered), filtered[0]["name"], {r["status"] for r in filtered}) == (150, "Bulk 0450", {"customer"})
    tagged = await download(api, company, tag="VIP", q="Bulk 00")
    assert [r["name"] for r in tagged] == [f"Bulk {n:04d}" for n in range(5, 100, 5)]

    actor = CrmActor(role="owner", user_id=company.user_id)
    async with tenant_scope(company.tenant) as uow:
        prepared = await export.prepare(uow, actor, "accounts", {"sort": "name"})
    pieces = [piece async for piece in export.chunks(prepared, actor, lambda: tenant_scope(company.tenant))]
    assert len(pieces) == 3  # 200 + 200 + 50 rows, one page per transaction
    assert b"".join(pieces).count(b"\r\n") == 451


async def test_cells_are_guarded_against_formulas_and_keep_every_script(api, company) -> None:
    names = ["=HYPERLINK(\"http://evil\",\"x\")", "+SUM(A1)", "-1+2", "@cmd", "한빛무역", "株式会社山田商事",
             "Торговый дом Ромашка"]
    for name in names:
        await post(api, company, "accounts", name=name, notes="=1+1", website="https://ok.example")
    rows = {r["name"]: r for r in await download(api, company)}
    assert set(rows) == {"'=HYPERLINK(\"http://evil\",\"x\")", "'+SUM(A1)", "'-1+2", "'@cmd", "한빛무역",
                         "株式会社山田商事", "Торговый дом Ромашка"}
    assert {r["notes"] for r in rows.values()} == {"'=1+1"}
    assert {r["website"] for r in rows.values()} == {"https://ok.example"}

    firm = await post(api, company, "accounts", name="Contact Firm")
    await post(api, company, "contacts", full_name="Kim Minji", phone="+821012345678", account_id=firm["id"],
               roles=["payer", "user"])
    [person] = await download(api, company, "contacts")
    assert (person["full_name"], person["phone"], person["account"], person["roles"]) == (
        "Kim Minji", "'+821012345678", "Contact Firm", "payer; user")
    await post(api, company, "deals", title="Forklifts", account_id=firm["id"], amount="1200.50", currency="KRW")
    [deal] = await download(api, company, "deals")
    assert (deal["title"], deal["account"], deal["stage"], deal["amount"], deal["currency"]) == (
        "Forklifts", "Contact Firm", "Qualification", "1200.50", "KRW")


async def test_export_follows_visibility_per_role(api, company) -> None:
    rep, other_rep, viewer = [await add_member(company.tenant.id, r) for r in ("rep", "rep", "viewer")]
    mine = await post(api, company, "accounts", auth=rep.auth, name="Rep Own Co")
    await post(api, company, "accounts", auth=other_rep.auth, name="Other Rep Co")
    await post(api, company, "accounts", name="Shared Co", is_shared=True)
    await post(api, company, "accounts", name="Owner Private Co")
    await post(api, company, "contacts", auth=rep.auth, full_name="Rep Person", account_id=mine["id"])
    await post(api, company, "contacts", auth=other_rep.auth, full_name="Other Person")

    assert {r["name"] for r in await download(api, company, auth=rep.auth)} == {"Rep Own Co", "Shared Co"}
    assert {r["name"] for r in await download(api, company, auth=viewer.auth)} == {
        "Rep Own Co", "Other Rep Co", "Shared Co", "Owner Private Co"}
    assert {r["full_name"] for r in await download(api, company, "contacts", auth=rep.auth)} == {"Rep Person"}
    assert {r["full_name"] for r in await download(api, company, "contacts", auth=viewer.auth)} == {
        "Rep Person", "Other Person"}


async def test_export_is_audited_and_bad_filters_export_nothing(api, company) -> None:
    before = await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".audit_log')
    assert_problem(await api.get(t(company, "accounts.csv"), headers=company.auth, params={"sort": "size"}), 422)
    assert_problem(await api.get(t(company, "deals.csv"), headers=company.auth, params={"status": "maybe"}), 422)
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".audit_log') == before
    await download(api, company, status="lead", tag="vip")
    [entry] = await fetch(f'SELECT actor_user_id, record_type, record_id, action, changes'
                          f' FROM "{company.tenant.schema}".audit_log WHERE action = \'export\'')
    assert (entry.actor_user_id, entry.record_type, entry.record_id) == (company.user_id, "export", "accounts")
    assert entry.changes["filters"][1] == {"status": "lead", "tag": "vip", "include_archived": False, "sort": "name"}


async def test_other_tenants_exports_stay_apart(api, alpha, beta) -> None:
    await post(api, alpha, "accounts", name="Alpha Export Only")
    assert_problem(await api.get(t(alpha, "accounts.csv"), headers=beta.auth), 404, "tenant_not_found")
    assert "Alpha Export Only" not in {r["name"] for r in await download(api, beta)}


async def test_an_export_can_be_imported_again(api, company) -> None:
    await post(api, company, "accounts", name="Round Trip Co", tags=["vip"], website="https://rt.example")
    response = await api.get(t(company, "accounts.csv"), headers=company.auth)
    upload = await api.post(t(company, "imports"), headers=company.auth, data={"entity": "accounts"},
                            files={"file": ("accounts.csv", response.content, "text/csv")})
    assert upload.status_code == 201, upload.text
    mapping = upload.json()["suggested_mapping"]
    assert {k for k, v in mapping.items() if v == k} == {"name", "kind", "status", "parent", "owner_email",
                                                         "is_shared", "tags", "source_channel", "website", "notes"}
