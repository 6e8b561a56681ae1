"""Pipelines and deals API: default pipeline, stage order, Decimal money, required fields on entering a stage, stage
history, win/lose/reopen, If-Match, roles, tenancy, failed requests writing nothing (own app with both controllers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.api.crm_deals import DealController, PipelineController
from backend.app import create_app
from tests.api.helpers import add_member, assert_problem, error_fields, fetch, hosted, scalar

DEALS = "/api/v1/t/{tenant_slug:str}/deals"
PIPELINES = "/api/v1/t/{tenant_slug:str}/pipelines"


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    for prefix, controller in ((PIPELINES, PipelineController), (DEALS, DealController)):
        if not any(route.path.startswith(prefix) for route in app.routes):  # app.py may register them already
            app.register(controller)
    async with hosted(app, "192.0.2.71", database) as client:
        yield client


def url(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/deals{suffix}"


def purl(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/pipelines{suffix}"


async def make_account(api, company, auth=None, **fields):
    response = await api.post(f"/api/v1/t/{company.slug}/accounts", headers=auth or company.auth,
                              json={"name": "Hanbit Trading", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def make(api, company, account, auth=None, **fields):
    response = await api.post(url(company), headers=auth or company.auth,
                              json={"title": "Forklift fleet", "account_id": account["id"], **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def default_pipeline(api, company) -> dict:
    response = await api.get(purl(company), headers=company.auth)
    assert response.status_code == 200, response.text
    return next(p for p in response.json()["items"] if p["is_default"])


def stage_named(pipeline: dict, name: str) -> dict:
    return next(s for s in pipeline["stages"] if s["name"] == name)


async def counts(company) -> tuple[int, int, int, int]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}')  # type: ignore[return-value]
                  for table in ("deals", "deal_stage_history", "audit_log", "pipelines")])


async def audit_actions(company, deal_id: str) -> list[str]:
    rows = await fetch(f'SELECT action FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_type = 'deal' AND record_id = :r ORDER BY id", r=deal_id)
    return [r.action for r in rows]


async def test_default_pipeline_is_made_once_with_ordered_stages(api, company) -> None:
    first, second = await asyncio.gather(api.get(purl(company), headers=company.auth),
                                         api.get(purl(company), headers=company.auth))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()
    [pipeline] = first.json()["items"]
    assert (pipeline["name"], pipeline["is_default"], pipeline["version"]) == ("Sales", True, 1)
    assert [(s["name"], s["probability"], s["kind"], s["position"]) for s in pipeline["stages"]] == [
        ("Qualification", "10.00", "open", 0), ("Proposal", "40.00", "open", 1),
        ("Negotiation", "60.00", "open", 2), ("Won", "100.00", "won", 3), ("Lost", "0.00", "lost", 4)]
    one = await api.get(purl(company, f"/{pipeline['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()["stages"]) == (200, 'W/"1"', pipeline["stages"])
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".pipelines') == 1


async def test_deal_crud_with_decimal_amounts_etags_and_audit(api, company) -> None:
    account = await make_account(api, company)
    created = await api.post(url(company), headers=company.auth, json={
        "title": "  Forklift fleet ", "account_id": account["id"], "amount": "12500.5", "currency": "krw",
        "expected_close_date": "2026-12-31", "next_action": "Send quote", "next_action_due": "2026-12-01"})
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == 'W/"1"'
    body = created.json()
    pipeline = await default_pipeline(api, company)
    assert (body["title"], body["amount"], body["currency"], body["probability"], body["status"]) == (
        "Forklift fleet", "12500.50", "KRW", "10.00", "open")
    assert (body["pipeline_id"], body["stage_id"], body["owner_user_id"]) == (
        pipeline["id"], stage_named(pipeline, "Qualification")["id"], str(company.user_id))
    assert (body["expected_close_date"], body["next_action_due"]) == ("2026-12-31", "2026-12-01")
    stored = await scalar(f'SELECT amount FROM "{company.tenant.schema}".deals WHERE id = :i', i=body["id"])
    assert str(stored) == "12500.50"

    as_number = await make(api, company, account, amount=99.5, probability=33)
    assert (as_number["amount"], as_number["probability"]) == ("99.50", "33.00")
    for bad in (1.234, "1.001", "-5", "12345678901234567.00"):
        response = await api.post(url(company), headers=company.auth,
                                  json={"title": "x", "account_id": account["id"], "amount": bad})
        assert error_fields(assert_problem(response, 422)) == {"amount"}, bad
    too_likely = await api.post(url(company), headers=company.auth,
                                json={"title": "x", "account_id": account["id"], "probability": "100.5"})
    assert error_fields(assert_problem(too_likely, 422)) == {"probability"}
    no_account = await api.post(url(company), headers=company.auth, json={"title": "x"})
    assert error_fields(assert_problem(no_account, 422)) == {"account_id"}

    one = await api.get(url(company, f"/{body['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()["amount"]) == (200, 'W/"1"', "12500.50")
    changed = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"amount": 20000, "probability": "25"})
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["amount"], changed.json()["probability"]) == (
        'W/"2"', "20000.00", "25.00")
    stale = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"amount": "1"})
    assert_problem(stale, 409, "version_conflict")
    assert_problem(await api.delete(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'}),
                   409, "version_conflict")
    archived = await api.delete(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"2"'})
    assert (archived.status_code, archived.headers["etag"]) == (200, 'W/"3"')
    assert archived.json()["archived_at"]
    listed = await api.get(url(company), headers=company.auth)
    assert [d["id"] for d in listed.json()["items"]] == [as_number["id"]]
    everything = await api.get(url(company), headers=company.auth, params={"archived": "true", "sort": "title"})
    assert {d["id"] for d in everything.json()["items"]} == {body["id"], as_number["id"]}
    assert await audit_actions(company, body["id"]) == ["create", "update", "archive"]
    changes = (await fetch(f'SELECT changes FROM "{company.tenant.schema}".audit_log'
                           " WHERE record_id = :r AND action = 'update'", r=body["id"]))[0].changes
    assert changes == {"amount": ["12500.50", "20000.00"], "probability": ["10.00", "25.00"]}


async def test_keyset_pages_and_filters(api, company) -> None:
    account, other = await make_account(api, company), await make_account(api, company, name="Other")
    made = [await make(api, company, account, title=f"Deal {i}") for i in range(5)]
    await make(api, company, other, title="Elsewhere")
    await api.post(url(company, f"/{made[0]['id']}/win"), headers=company.auth)
    seen, cursor = [], None
    while True:
        page = await api.get(url(company), headers=company.auth,
                             params={"account_id": account["id"], "limit": 2, "sort": "title",
                                     **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += [d["title"] for d in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Deal {i}" for i in range(5)]
    won = await api.get(url(company), headers=company.auth, params={"status": "won"})
    assert [d["id"] for d in won.json()["items"]] == [made[0]["id"]]
    still_open = await api.get(url(company), headers=company.auth,
                               params={"status": "open", "account_id": account["id"]})
    assert len(still_open.json()["items"]) == 4
    assert_problem(await api.get(url(company), headers=company.auth, params={"status": "maybe"}), 422)


async def _strict_pipeline(api, company, auth=None) -> dict:
    created = await api.post(purl(company), headers=auth or company.auth, json={"name": "Tenders", "stages": [
        {"name": "Lead", "probability": "5"},
        {"name": "Quote", "probability": 50, "required_fields": ["amount", "expected_close_date"]},
        {"name": "Signed", "kind": "won", "required_fields": ["amount"]},
        {"name": "Dropped", "kind": "lost"}]})
    assert created.status_code == 201, created.text
    return created.json()


async def test_required_fields_are_enforced_when_entering_a_stage(api, company) -> None:
    pipeline = await _strict_pipeline(api, company)
    assert [(s["name"], s["probability"], s["kind"]) for s in pipeline["stages"]] == [
        ("Lead", "5.00", "open"), ("Quote", "50.00", "open"), ("Signed", "100.00", "won"), ("Dropped", "0.00", "lost")]
    quote, lead = stage_named(pipeline, "Quote"), stage_named(pipeline, "Lead")
    account = await make_account(api, company)
    deal = await make(api, company, account, pipeline_id=pipeline["id"])
    assert (deal["stage_id"], deal["probability"]) == (lead["id"], "5.00")  # no requirements on the first stage
    before = await counts(company)

    blocked = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth, json={"stage_id": quote["id"]})
    assert error_fields(assert_problem(blocked, 422, "stage_requirements")) == {"amount", "expected_close_date"}
    assert_problem(await api.post(url(company, f"/{deal['id']}/win"), headers=company.auth), 422, "stage_requirements")
    direct = await api.post(url(company), headers=company.auth, json={
        "title": "x", "account_id": account["id"], "pipeline_id": pipeline["id"], "stage_id": quote["id"]})
    assert error_fields(assert_problem(direct, 422, "stage_requirements")) == {"amount", "expected_close_date"}
    assert await counts(company) == before

    filled = await api.patch(url(company, f"/{deal['id']}"), headers=company.auth,
                             json={"amount": "5000", "expected_close_date": "2027-01-15"})
    assert filled.status_code == 200, filled.text
    moved = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth, json={"stage_id": quote["id"]})
    assert (moved.status_code, moved.json()["stage_id"], moved.json()["probability"]) == (200, quote["id"], "50.00")
    back = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth, json={"stage_id": lead["id"]})
    assert back.json()["stage_id"] == lead["id"]
    elsewhere = await default_pipeline(api, company)
    foreign = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                             json={"stage_id": stage_named(elsewhere, "Proposal")["id"]})
    assert error_fields(assert_problem(foreign, 422)) == {"stage_id"}


async def test_history_win_lose_and_reopen(api, company) -> None:
    pipeline = await default_pipeline(api, company)
    account = await make_account(api, company)
    manager = await add_member(company.tenant.id, "manager")
    deal = await make(api, company, account)
    proposal = stage_named(pipeline, "Proposal")
    moved = await api.post(url(company, f"/{deal['id']}/stage"), headers={**manager.auth, "If-Match": 'W/"1"'},
                           json={"stage_id": proposal["id"]})
    assert (moved.status_code, moved.headers["etag"], moved.json()["probability"]) == (200, 'W/"2"', "40.00")
    stale = await api.post(url(company, f"/{deal['id']}/win"), headers={**company.auth, "If-Match": 'W/"1"'})
    assert_problem(stale, 409, "version_conflict")

    won = await api.post(url(company, f"/{deal['id']}/win"), headers=company.auth)
    assert (won.json()["status"], won.json()["stage_id"], won.json()["probability"]) == (
        "won", stage_named(pipeline, "Won")["id"], "100.00")
    assert (bool(won.json()["won_at"]), won.json()["lost_at"]) == (True, None)
    for body in ({}, {"reason": "   "}):
        assert error_fields(assert_problem(await api.post(url(company, f"/{deal['id']}/lose"), headers=company.auth,
                                                          json=body), 422)) == {"reason"}
    to_lost = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                             json={"stage_id": stage_named(pipeline, "Lost")["id"]})
    assert error_fields(assert_problem(to_lost, 422)) == {"stage_id"}
    lost = await api.post(url(company, f"/{deal['id']}/lose"), headers=company.auth,
                          json={"reason": "Chose a cheaper supplier"})
    assert (lost.json()["status"], lost.json()["lost_reason"], lost.json()["won_at"]) == (
        "lost", "Chose a cheaper supplier", None)
    assert lost.json()["lost_at"]

    negotiation = stage_named(pipeline, "Negotiation")
    reopened = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                              json={"stage_id": negotiation["id"]})
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["won_at"], body["lost_at"], body["lost_reason"], body["probability"]) == (
        "open", None, None, None, "60.00")

    history = await api.get(url(company, f"/{deal['id']}/history"), headers=company.auth)
    assert history.status_code == 200, history.text
    rows = history.json()["items"]
    names = {s["id"]: s["name"] for s in pipeline["stages"]} | {None: None}
    assert [(names[r["from_stage_id"]], names[r["to_stage_id"]]) for r in rows] == [
        (None, "Qualification"), ("Qualification", "Proposal"), ("Proposal", "Won"), ("Won", "Lost"),
        ("Lost", "Negotiation")]
    assert [r["moved_by_user_id"] for r in rows] == [str(company.user_id), str(manager.user_id)] + [
        str(company.user_id)] * 3
    assert all(r["moved_at"] for r in rows)
    assert rows == sorted(rows, key=lambda r: (r["moved_at"], r["id"]))
    assert await audit_actions(company, deal["id"]) == ["create", "move", "win", "lose", "reopen"]


async def test_pipeline_stage_reordering_and_rules(api, company) -> None:
    pipeline = await _strict_pipeline(api, company)
    stages = pipeline["stages"]
    reordered = [{"id": s["id"], "name": s["name"], "kind": s["kind"], "probability": s["probability"],
                  "required_fields": s["required_fields"]} for s in (stages[1], stages[0], stages[2], stages[3])]
    reordered.insert(2, {"name": "Review", "probability": "70"})
    stale = await api.patch(purl(company, f"/{pipeline['id']}"), headers={**company.auth, "If-Match": 'W/"9"'},
                            json={"stages": reordered})
    assert_problem(stale, 409, "version_conflict")
    changed = await api.patch(purl(company, f"/{pipeline['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"name": "Public tenders", "stages": reordered})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.headers["etag"]) == ("Public tenders", 'W/"2"')
    assert [(s["name"], s["position"]) for s in changed.json()["stages"]] == [
        ("Quote", 0), ("Lead", 1), ("Review", 2), ("Signed", 3), ("Dropped", 4)]
    assert changed.json()["stages"][0]["id"] == stages[1]["id"]

    account = await make_account(api, company)
    first_open = await api.post(url(company), headers=company.auth, json={
        "title": "x", "account_id": account["id"], "pipeline_id": pipeline["id"]})
    assert error_fields(assert_problem(first_open, 422, "stage_requirements")) == {"amount", "expected_close_date"}
    deal = await make(api, company, account, pipeline_id=pipeline["id"], stage_id=stages[0]["id"])
    assert deal["stage_id"] == stages[0]["id"]
    without_lead = [s for s in reordered if s.get("id") != stages[0]["id"]]
    in_use = await api.patch(purl(company, f"/{pipeline['id']}"), headers=company.auth, json={"stages": without_lead})
    assert_problem(in_use, 409, "stage_in_use")
    closing = [{"name": "W", "kind": "won"}, {"name": "L", "kind": "lost"}]
    for bad, fields in (([{"name": "Only", "kind": "open"}], {"stages"}),
                        ([{"name": "A"}, *closing, {"name": "W2", "kind": "won"}], {"stages"}),
                        ([{"name": "A", "required_fields": ["title"]}, *closing], {"stages[0].required_fields"})):
        response = await api.post(purl(company), headers=company.auth, json={"name": "Bad", "stages": bad})
        assert error_fields(assert_problem(response, 422)) == fields, bad

    made_default = await api.patch(purl(company, f"/{pipeline['id']}"), headers=company.auth, json={"is_default": True})
    assert made_default.json()["is_default"] is True
    defaults = [p["name"] for p in (await api.get(purl(company), headers=company.auth)).json()["items"]
                if p["is_default"]]
    assert defaults == ["Public tenders"]
    refused = await api.patch(purl(company, f"/{pipeline['id']}"), headers=company.auth, json={"archived": True})
    assert error_fields(assert_problem(refused, 422)) == {"archived"}


async def test_role_rules_for_deals_and_pipelines(api, company) -> None:
    rep, other_rep, viewer, manager = [await add_member(company.tenant.id, r)
                                       for r in ("rep", "rep", "viewer", "manager")]
    own_account = await make_account(api, company, auth=rep.auth, name="Rep Account")
    shared = await make_account(api, company, name="Shared Account", is_shared=True)
    private = await make_account(api, company, name="Owner Account")
    mine = await make(api, company, own_account, auth=rep.auth, title="Rep Deal")
    assert mine["owner_user_id"] == str(rep.user_id)
    on_shared = await make(api, company, shared, title="Shared Deal")
    hidden = await make(api, company, private, title="Owner Deal")
    theirs = await make(api, company, shared, auth=other_rep.auth, title="Other Rep Deal")

    listed = await api.get(url(company), headers=rep.auth)
    assert {d["title"] for d in listed.json()["items"]} == {"Rep Deal", "Shared Deal", "Other Rep Deal"}
    assert_problem(await api.get(url(company, f"/{hidden['id']}"), headers=rep.auth), 404, "deal_not_found")
    assert_problem(await api.get(url(company, f"/{hidden['id']}/history"), headers=rep.auth), 404, "deal_not_found")
    assert_problem(await api.post(url(company, f"/{hidden['id']}/win"), headers=rep.auth), 404, "deal_not_found")
    worked = await api.post(url(company, f"/{on_shared['id']}/win"), headers=rep.auth)
    assert (worked.status_code, worked.json()["status"]) == (200, "won")
    on_private = await api.post(url(company), headers=rep.auth, json={"title": "x", "account_id": private["id"]})
    assert error_fields(assert_problem(on_private, 422)) == {"account_id"}
    handed = await api.patch(url(company, f"/{mine['id']}"), headers=rep.auth,
                             json={"owner_user_id": str(other_rep.user_id)})
    assert error_fields(assert_problem(handed, 422)) == {"owner_user_id"}
    reassigned = await api.patch(url(company, f"/{theirs['id']}"), headers=manager.auth,
                                 json={"owner_user_id": str(rep.user_id)})
    assert reassigned.json()["owner_user_id"] == str(rep.user_id)

    assert (await api.get(url(company, f"/{hidden['id']}"), headers=viewer.auth)).status_code == 200
    assert len((await api.get(url(company), headers=viewer.auth)).json()["items"]) == 4
    before = await counts(company)
    for attempt in (api.post(url(company), headers=viewer.auth, json={"title": "x", "account_id": shared["id"]}),
                    api.patch(url(company, f"/{hidden['id']}"), headers=viewer.auth, json={"title": "y"}),
                    api.post(url(company, f"/{hidden['id']}/lose"), headers=viewer.auth, json={"reason": "no"}),
                    api.delete(url(company, f"/{hidden['id']}"), headers=viewer.auth)):
        assert_problem(await attempt, 403, "crm_read_only")

    pipeline = await default_pipeline(api, company)
    assert (await api.get(purl(company), headers=rep.auth)).status_code == 200
    for member in (rep, viewer):
        assert_problem(await api.post(purl(company), headers=member.auth, json={"name": "Mine", "stages": []}),
                       403, "crm_read_only")
        assert_problem(await api.patch(purl(company, f"/{pipeline['id']}"), headers=member.auth,
                                       json={"name": "Renamed"}), 403, "crm_read_only")
    assert await counts(company) == before
    assert (await _strict_pipeline(api, company, auth=manager.auth))["is_default"] is False


async def test_other_tenants_deals_do_not_exist(api, alpha, beta) -> None:
    account = await make_account(api, alpha, name="Alpha Account")
    deal = await make(api, alpha, account, title="Alpha Only Deal")
    for call in (api.get(url(beta, f"/{deal['id']}"), headers=beta.auth),
                 api.patch(url(beta, f"/{deal['id']}"), headers=beta.auth, json={"title": "x"}),
                 api.post(url(beta, f"/{deal['id']}/win"), headers=beta.auth),
                 api.get(url(beta, f"/{deal['id']}/history"), headers=beta.auth)):
        assert_problem(await call, 404, "deal_not_found")
    assert_problem(await api.get(url(alpha, f"/{deal['id']}"), headers=beta.auth), 404, "tenant_not_found")
    linked = await api.post(url(beta), headers=beta.auth, json={"title": "x", "account_id": account["id"]})
    assert error_fields(assert_problem(linked, 422)) == {"account_id"}
    alpha_pipeline = (await default_pipeline(api, alpha))["id"]
    assert_problem(await api.get(purl(beta, f"/{alpha_pipeline}"), headers=beta.auth), 404, "pipeline_not_found")


async def test_failed_requests_write_nothing(api, company) -> None:
    pipeline = await _strict_pipeline(api, company)
    account = await make_account(api, company)
    archived = await make_account(api, company, name="Gone")
    assert (await api.delete(f"/api/v1/t/{company.slug}/accounts/{archived['id']}", headers=company.auth)).is_success
    deal = await make(api, company, account, pipeline_id=pipeline["id"])
    before = await counts(company)
    failures = [
        (api.post(url(company), headers=company.auth, json={"title": "x", "account_id": archived["id"]}), 422),
        (api.post(url(company), headers=company.auth, json={"title": "x", "account_id": account["id"],
                                                            "amount": "10.555"}), 422),
        (api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                  json={"stage_id": stage_named(pipeline, "Quote")["id"]}), 422),
        (api.post(url(company, f"/{deal['id']}/win"), headers=company.auth), 422),
        (api.post(url(company, f"/{deal['id']}/lose"), headers=company.auth, json={}), 422),
        (api.patch(url(company, f"/{deal['id']}"), headers={**company.auth, "If-Match": 'W/"7"'},
                   json={"title": "Renamed"}), 409),
        (api.patch(purl(company, f"/{pipeline['id']}"), headers=company.auth,
                   json={"stages": [{"name": "Only open"}]}), 422),
    ]
    for call, status in failures:
        assert_problem(await call, status)
    assert await counts(company) == before
    assert (await api.get(url(company, f"/{deal['id']}"), headers=company.auth)).json()["version"] == 1


async def test_idempotent_create(api, company) -> None:
    account = await make_account(api, company)
    headers = {**company.auth, "Idempotency-Key": "deal-import-1"}
    body = {"title": "Once Only", "account_id": account["id"], "amount": "10"}
    first = await api.post(url(company), headers=headers, json=body)
    again = await api.post(url(company), headers=headers, json=body)
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert first.json() == again.json()
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".deals') == 1
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".deal_stage_history') == 1


async def test_products_of_interest_are_deduplicated_bounded_and_audited(api, company) -> None:
    account = await make_account(api, company)
    deal = await make(api, company, account, products_of_interest=[
        " Forklift FX-200 ", "forklift fx-200", "SKU-42", "", "SKU-42", "Pallet jack"])
    assert deal["products_of_interest"] == ["Forklift FX-200", "SKU-42", "Pallet jack"]
    assert (await make(api, company, account))["products_of_interest"] == []
    before = await counts(company)
    for bad in ([f"P{i}" for i in range(21)], ["x" * 81], ["ok", "bell\u0007"]):
        response = await api.post(url(company), headers=company.auth,
                                  json={"title": "x", "account_id": account["id"], "products_of_interest": bad})
        assert error_fields(assert_problem(response, 422)) == {"products_of_interest"}, bad
    assert await counts(company) == before
    twenty = [f"P{i}" for i in range(20)] + ["p0"]  # the 21st repeats the first (ignoring case): 20 remain
    changed = await api.patch(url(company, f"/{deal['id']}"), headers=company.auth,
                              json={"products_of_interest": twenty})
    assert changed.json()["products_of_interest"] == twenty[:20]
    emptied = await api.patch(url(company, f"/{deal['id']}"), headers=company.auth,
                              json={"products_of_interest": None})
    assert (emptied.json()["products_of_interest"], emptied.json()["version"]) == ([], 3)
    rows = await fetch(f'SELECT changes FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_id = :r AND action = 'update' ORDER BY id", r=deal["id"])
    assert rows[1].changes == {"products_of_interest": [twenty[:20], []]}


async def test_stage_checklists_must_be_ticked_before_a_deal_enters(api, company) -> None:
    created = await api.post(purl(company), headers=company.auth, json={"name": "Audited sales", "stages": [
        {"name": "Lead"},
        {"name": "Contract", "checklist": ["NDA signed", "Credit check", " ", "NDA signed"]},
        {"name": "Closed", "kind": "won"}, {"name": "Gone", "kind": "lost"}]})
    assert created.status_code == 201, created.text
    pipeline = created.json()
    contract = stage_named(pipeline, "Contract")
    assert contract["checklist"] == ["NDA signed", "Credit check"]  # blanks and repeats dropped, order kept
    account = await make_account(api, company)
    deal = await make(api, company, account, pipeline_id=pipeline["id"])
    assert deal["checklist_done"] == []
    before = await counts(company)
    blocked = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                             json={"stage_id": contract["id"]})
    assert error_fields(assert_problem(blocked, 422, "stage_requirements")) == {
        "checklist_done[NDA signed]", "checklist_done[Credit check]"}
    half = await api.patch(url(company, f"/{deal['id']}"), headers=company.auth,
                           json={"checklist_done": ["NDA signed"]})
    assert half.status_code == 200, half.text
    still = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                           json={"stage_id": contract["id"]})
    assert error_fields(assert_problem(still, 422, "stage_requirements")) == {"checklist_done[Credit check]"}
    assert (await counts(company))[1] == before[1]  # no stage move was written
    ticked = await api.patch(url(company, f"/{deal['id']}"), headers=company.auth,
                             json={"checklist_done": ["NDA signed", "Credit check"]})
    assert ticked.json()["checklist_done"] == ["NDA signed", "Credit check"]
    moved = await api.post(url(company, f"/{deal['id']}/stage"), headers=company.auth,
                           json={"stage_id": contract["id"]})
    assert (moved.status_code, moved.json()["stage_id"]) == (200, contract["id"])
    bad = await api.post(purl(company), headers=company.auth, json={"name": "Too long", "stages": [
        {"name": "A", "checklist": ["x" * 201]}, {"name": "W", "kind": "won"}, {"name": "L", "kind": "lost"}]})
    assert error_fields(assert_problem(bad, 422)) == {"stages[0].checklist"}
    assert "checklist_done" in await audit_fields(company, deal["id"])


async def audit_fields(company, deal_id: str) -> set[str]:
    rows = await fetch(f'SELECT changes FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_type = 'deal' AND record_id = :r", r=deal_id)
    return {field for r in rows for field in (r.changes or {})}
