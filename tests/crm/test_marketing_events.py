"""Marketing events: CRUD with ETags, validation, archive/restore, lists; roles (managers up edit, others read);
attribution of accounts and deals (existing, unarchived events only; ON DELETE SET NULL); ROI figures computed by
hand with Decimal (zero budget, mixed currencies, a rep's share); tenancy; failed requests writing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from backend.api.crm_deals import DealController, PipelineController
from backend.api.crm_marketing_events import MarketingEventController
from backend.app import create_app
from tests.api.helpers import add_member, assert_problem, error_fields, execute, fetch, hosted, scalar

CONTROLLERS = (("/api/v1/t/{tenant_slug:str}/marketing-events", MarketingEventController),
               ("/api/v1/t/{tenant_slug:str}/pipelines", PipelineController),
               ("/api/v1/t/{tenant_slug:str}/deals", DealController))
EXPO = {"name": "COEX Logistics Expo", "channel": "exhibition", "starts_on": "2026-10-01", "ends_on": "2026-10-03",
        "budget": "10000", "currency": "USD"}


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    for prefix, controller in CONTROLLERS:
        if not any(route.path.startswith(prefix) for route in app.routes):  # app.py may register them already
            app.register(controller)
    async with hosted(app, "192.0.2.82", database) as client:
        yield client


def url(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/marketing-events{suffix}"


def rurl(company, kind: str, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/{kind}{suffix}"


async def make_event(api, company, auth=None, **fields) -> dict:
    response = await api.post(url(company), headers=auth or company.auth, json={**EXPO, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def make_account(api, company, auth=None, **fields) -> dict:
    response = await api.post(rurl(company, "accounts"), headers=auth or company.auth,
                              json={"name": "Hanbit Trading", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def make_deal(api, company, account, auth=None, outcome: str = "open", **fields) -> dict:
    auth = auth or company.auth
    response = await api.post(rurl(company, "deals"), headers=auth,
                              json={"title": "Forklift fleet", "account_id": account["id"], **fields})
    assert response.status_code == 201, response.text
    deal = response.json()
    if outcome == "won":
        deal = (await api.post(rurl(company, "deals", f"/{deal['id']}/win"), headers=auth)).json()
    elif outcome == "lost":
        deal = (await api.post(rurl(company, "deals", f"/{deal['id']}/lose"), headers=auth,
                               json={"reason": "Budget cut"})).json()
    assert deal["status"] == outcome, deal
    return deal


async def counts(company) -> tuple[int, ...]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}')
                  for table in ("marketing_events", "accounts", "deals", "audit_log")])


async def roi(api, company, event, auth=None) -> dict:
    response = await api.get(url(company, f"/{event['id']}/roi"), headers=auth or company.auth)
    assert response.status_code == 200, response.text
    return response.json()


def ratio(revenue: Decimal, budget: Decimal) -> str:
    return str((revenue / budget).quantize(Decimal("0.0001"), ROUND_HALF_UP))


# --- records -----------------------------------------------------------------------------------------------------

async def test_event_crud_with_etags_archive_restore_and_audit(api, company) -> None:
    created = await api.post(url(company), headers=company.auth, json={
        **EXPO, "name": "  COEX Logistics Expo ", "budget": "12000.5", "currency": "krw", "notes": "Booth B12"})
    assert (created.status_code, created.headers["etag"]) == (201, 'W/"1"')
    body = created.json()
    assert (body["name"], body["channel"], body["budget"], body["currency"], body["starts_on"], body["ends_on"],
            body["notes"]) == ("COEX Logistics Expo", "exhibition", "12000.50", "KRW", "2026-10-01", "2026-10-03",
                               "Booth B12")
    as_number = await make_event(api, company, name="Spring webinar", channel="webinar", budget=500,
                                 starts_on=None, ends_on=None)
    assert as_number["budget"] == "500.00"
    free = await make_event(api, company, name="Referrals", channel="referral", budget=None)
    assert free["budget"] == "0.00"
    stored = await scalar(f'SELECT budget FROM "{company.tenant.schema}".marketing_events WHERE id = :i', i=body["id"])
    assert str(stored) == "12000.50"

    one = await api.get(url(company, f"/{body['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()) == (200, 'W/"1"', body)
    changed = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"budget": "15000", "ends_on": "2026-10-04"})
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["budget"], changed.json()["ends_on"]) == (
        'W/"2"', "15000.00", "2026-10-04")
    stale = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"name": "x"})
    assert_problem(stale, 409, "version_conflict")
    backwards = await api.patch(url(company, f"/{body['id']}"), headers=company.auth, json={"ends_on": "2026-09-30"})
    assert error_fields(assert_problem(backwards, 422)) == {"ends_on"}

    archived = await api.delete(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"2"'})
    assert (archived.status_code, archived.headers["etag"], bool(archived.json()["archived_at"])) == (
        200, 'W/"3"', True)
    listed = await api.get(url(company), headers=company.auth, params={"sort": "name"})
    assert [e["name"] for e in listed.json()["items"]] == ["Referrals", "Spring webinar"]
    everything = await api.get(url(company), headers=company.auth, params={"sort": "name", "archived": "true"})
    assert [e["name"] for e in everything.json()["items"]] == ["COEX Logistics Expo", "Referrals", "Spring webinar"]
    restored = await api.patch(url(company, f"/{body['id']}"), headers=company.auth, json={"archived": False})
    assert (restored.json()["archived_at"], restored.json()["version"]) == (None, 4)
    rows = await fetch(f'SELECT action, changes FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_type = 'marketing_event' AND record_id = :r ORDER BY id", r=body["id"])
    assert [r.action for r in rows] == ["create", "update", "archive", "restore"]
    assert rows[1].changes == {"budget": ["12000.50", "15000.00"], "ends_on": ["2026-10-03", "2026-10-04"]}


async def test_lists_filter_sort_and_page(api, company) -> None:
    for name, channel in (("Busan seminar", "seminar"), ("Autumn webinar", "webinar"), ("Search ads Q4", "ads"),
                          ("Winter webinar", "webinar")):
        await make_event(api, company, name=name, channel=channel)
    seen, cursor = [], None
    while True:
        page = await api.get(url(company), headers=company.auth,
                             params={"sort": "name", "limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += [e["name"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Autumn webinar", "Busan seminar", "Search ads Q4", "Winter webinar"]
    webinars = await api.get(url(company), headers=company.auth, params={"channel": "webinar", "sort": "-name"})
    assert [e["name"] for e in webinars.json()["items"]] == ["Winter webinar", "Autumn webinar"]
    found = await api.get(url(company), headers=company.auth, params={"q": "SEMINAR"})
    assert [e["name"] for e in found.json()["items"]] == ["Busan seminar"]
    newest = await api.get(url(company), headers=company.auth, params={"limit": 1})
    assert [e["name"] for e in newest.json()["items"]] == ["Winter webinar"]
    assert error_fields(assert_problem(await api.get(url(company), headers=company.auth,
                                                     params={"channel": "tv"}), 422)) == {"channel"}
    assert error_fields(assert_problem(await api.get(url(company), headers=company.auth,
                                                     params={"sort": "budget"}), 422)) == {"sort"}


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name", "channel", "currency"}),
    ({**EXPO, "channel": "tv"}, {"channel"}),
    ({**EXPO, "budget": "-1"}, {"budget"}),
    ({**EXPO, "budget": "10.001"}, {"budget"}),
    ({**EXPO, "budget": "99999999999999999"}, {"budget"}),
    ({**EXPO, "currency": "US1"}, {"currency"}),
    ({**EXPO, "currency": "EURO"}, {"currency"}),
    ({**EXPO, "currency": None}, {"currency"}),
    ({**EXPO, "ends_on": "2026-09-30"}, {"ends_on"}),
    ({**EXPO, "name": " "}, {"name"}),
    ({**EXPO, "notes": "bell\u0007"}, {"notes"}),
    ({**EXPO, "archived": True}, {"archived"}),
    ({**EXPO, "roi": "1"}, {"roi"}),
])
async def test_invalid_events_are_422_and_write_nothing(api, company, body, fields) -> None:
    before = await counts(company)
    assert error_fields(assert_problem(await api.post(url(company), headers=company.auth, json=body), 422)) == fields
    assert await counts(company) == before


async def test_managers_and_up_edit_everyone_else_reads(api, company) -> None:
    manager, admin, rep, viewer, accountant = [await add_member(company.tenant.id, role)
                                               for role in ("manager", "admin", "rep", "viewer", "accountant")]
    event = await make_event(api, company, auth=manager.auth)
    changed = await api.patch(url(company, f"/{event['id']}"), headers=admin.auth, json={"name": "Renamed"})
    assert changed.json()["name"] == "Renamed"
    before = await counts(company)
    for member in (rep, viewer, accountant):
        assert_problem(await api.post(url(company), headers=member.auth, json=EXPO), 403, "crm_read_only")
        assert_problem(await api.patch(url(company, f"/{event['id']}"), headers=member.auth, json={"name": "x"}),
                       403, "crm_read_only")
        assert_problem(await api.delete(url(company, f"/{event['id']}"), headers=member.auth), 403, "crm_read_only")
        assert (await api.get(url(company, f"/{event['id']}"), headers=member.auth)).json()["name"] == "Renamed"
        assert [e["id"] for e in (await api.get(url(company), headers=member.auth)).json()["items"]] == [event["id"]]
        assert (await api.get(url(company, f"/{event['id']}/roi"), headers=member.auth)).status_code == 200
    assert await counts(company) == before
    assert (await api.delete(url(company, f"/{event['id']}"), headers=manager.auth)).status_code == 200


# --- attribution -------------------------------------------------------------------------------------------------

async def test_accounts_and_deals_are_attributed_to_live_events_only(api, company) -> None:
    expo, webinar = await make_event(api, company), await make_event(api, company, name="Webinar", channel="webinar")
    gone = await make_event(api, company, name="Old fair")
    await api.delete(url(company, f"/{gone['id']}"), headers=company.auth)
    missing = "00000000-0000-0000-0000-000000000001"

    account = await make_account(api, company, marketing_event_id=expo["id"])
    assert account["marketing_event_id"] == expo["id"]
    for event_id, reason in ((missing, "no such marketing event"), (gone["id"], "the marketing event is archived")):
        refused = await api.post(rurl(company, "accounts"), headers=company.auth,
                                 json={"name": "x", "marketing_event_id": event_id})
        assert [(e["field"], e["reason"]) for e in assert_problem(refused, 422)["errors"]] == [
            ("marketing_event_id", reason)]
        refused = await api.post(rurl(company, "deals"), headers=company.auth,
                                 json={"title": "x", "account_id": account["id"], "marketing_event_id": event_id})
        assert [(e["field"], e["reason"]) for e in assert_problem(refused, 422)["errors"]] == [
            ("marketing_event_id", reason)]

    deal = await make_deal(api, company, account, marketing_event_id=expo["id"])
    other = await make_deal(api, company, account, title="Other", marketing_event_id=webinar["id"])
    await make_deal(api, company, account, title="Unattributed")
    listed = await api.get(rurl(company, "deals"), headers=company.auth, params={"marketing_event_id": expo["id"]})
    assert [d["id"] for d in listed.json()["items"]] == [deal["id"]]
    moved = await api.patch(rurl(company, "deals", f"/{other['id']}"), headers=company.auth,
                            json={"marketing_event_id": expo["id"]})
    assert moved.json()["marketing_event_id"] == expo["id"]
    changes = (await fetch(f'SELECT changes FROM "{company.tenant.schema}".audit_log'
                           " WHERE record_id = :r AND action = 'update'", r=other["id"]))[0].changes
    assert changes == {"marketing_event_id": [webinar["id"], expo["id"]]}

    # Archiving the event keeps existing attributions; the records stay editable and may keep it.
    await api.delete(url(company, f"/{expo['id']}"), headers=company.auth)
    kept = await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                           json={"status": "customer", "marketing_event_id": expo["id"]})
    assert (kept.status_code, kept.json()["marketing_event_id"]) == (200, expo["id"])
    cleared = await api.patch(rurl(company, "deals", f"/{deal['id']}"), headers=company.auth,
                              json={"marketing_event_id": None})
    assert cleared.json()["marketing_event_id"] is None

    # The foreign key is ON DELETE SET NULL (events are only archived through the API).
    await execute(f'DELETE FROM "{company.tenant.schema}".marketing_events WHERE id = :i', i=expo["id"])
    assert (await api.get(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth)).json()[
        "marketing_event_id"] is None
    assert (await api.get(rurl(company, "deals", f"/{other['id']}"), headers=company.auth)).json()[
        "marketing_event_id"] is None


# --- ROI ---------------------------------------------------------------------------------------------------------

async def test_roi_is_won_revenue_over_budget_in_the_event_currency(api, company) -> None:
    rep = await add_member(company.tenant.id, "rep")
    event = await make_event(api, company, budget="10000.00", currency="USD")
    elsewhere = await make_event(api, company, name="Elsewhere")
    attributed = {"marketing_event_id": event["id"]}
    first = await make_account(api, company, name="First", **attributed)
    second = await make_account(api, company, name="Second", **attributed)
    dropped = await make_account(api, company, name="Dropped", **attributed)
    await make_account(api, company, name="Other event", marketing_event_id=elsewhere["id"])
    await make_account(api, company, name="Unattributed")
    reps = await make_account(api, company, auth=rep.auth, name="Rep account", **attributed)

    usd = {"currency": "USD", **attributed}
    await make_deal(api, company, reps, auth=rep.auth, outcome="won", amount="1500.50", **usd)
    await make_deal(api, company, first, outcome="won", amount="2500.25", **usd)
    await make_deal(api, company, first, outcome="won", **usd)  # won without an amount: counted, worth nothing
    await make_deal(api, company, second, amount="1000", **usd)
    await make_deal(api, company, second, amount="333.33", **usd)
    await make_deal(api, company, second, outcome="lost", amount="700", **usd)
    await make_deal(api, company, first, outcome="won", amount="900", currency="EUR", **attributed)
    await make_deal(api, company, first, amount="100", currency="EUR", **attributed)
    await make_deal(api, company, first, outcome="won", amount="50", **attributed)  # no currency at all
    archived = await make_deal(api, company, first, outcome="won", amount="5000", **usd)
    await api.delete(rurl(company, "deals", f"/{archived['id']}"), headers=company.auth)
    await make_deal(api, company, first, outcome="won", amount="9999", currency="USD",
                    marketing_event_id=elsewhere["id"])
    await api.delete(rurl(company, "accounts", f"/{dropped['id']}"), headers=company.auth)

    won = Decimal("1500.50") + Decimal("2500.25")
    figures = await roi(api, company, event)
    assert figures == {
        "event_id": event["id"], "currency": "USD", "budget": "10000.00",
        "won_revenue": str(won), "won_deals": 3,
        "open_pipeline": str(Decimal("1000.00") + Decimal("333.33")), "open_deals": 2,
        "attributed_accounts": 3, "roi": ratio(won, Decimal("10000.00")), "complete": True,
        "other_currencies": [
            {"currency": "EUR", "won_revenue": "900.00", "won_deals": 1, "open_pipeline": "100.00", "open_deals": 1},
            {"currency": None, "won_revenue": "50.00", "won_deals": 1, "open_pipeline": "0.00", "open_deals": 0},
        ],
    }
    assert figures["roi"] == "0.4001"  # 0.400075 rounded half-up

    # A rep's view covers the deals and accounts the rep may see, and says so.
    mine = await roi(api, company, event, auth=rep.auth)
    assert (mine["won_revenue"], mine["won_deals"], mine["open_pipeline"], mine["attributed_accounts"],
            mine["roi"], mine["complete"], mine["other_currencies"]) == (
        "1500.50", 1, "0.00", 1, ratio(Decimal("1500.50"), Decimal("10000.00")), False, [])
    assert mine["roi"] == "0.1501"  # 0.15005 rounded half-up


async def test_roi_with_zero_budget_and_a_foreign_currency_event(api, company) -> None:
    free = await make_event(api, company, name="Referrals", channel="referral", budget="0", currency="USD")
    euro = await make_event(api, company, name="Hannover Messe", budget="500", currency="EUR")
    account = await make_account(api, company)
    await make_deal(api, company, account, outcome="won", amount="100", currency="USD", marketing_event_id=free["id"])
    await make_deal(api, company, account, outcome="won", amount="1000", currency="USD",
                    marketing_event_id=euro["id"])
    await make_deal(api, company, account, outcome="won", amount="250.10", currency="EUR",
                    marketing_event_id=euro["id"])
    await make_deal(api, company, account, outcome="won", amount="0.01", currency="EUR",
                    marketing_event_id=euro["id"])

    no_budget = await roi(api, company, free)
    assert (no_budget["won_revenue"], no_budget["won_deals"], no_budget["roi"]) == ("100.00", 1, None)
    mixed = await roi(api, company, euro)
    won = Decimal("250.10") + Decimal("0.01")
    assert (mixed["currency"], mixed["won_revenue"], mixed["won_deals"], mixed["roi"]) == (
        "EUR", str(won), 2, ratio(won, Decimal("500.00")))
    assert mixed["roi"] == "0.5002"
    assert mixed["other_currencies"] == [
        {"currency": "USD", "won_revenue": "1000.00", "won_deals": 1, "open_pipeline": "0.00", "open_deals": 0}]
    empty = await roi(api, company, await make_event(api, company, name="Quiet", budget="1"))
    assert (empty["won_revenue"], empty["won_deals"], empty["roi"], empty["other_currencies"]) == (
        "0.00", 0, "0.0000", [])


# --- tenancy and failures ----------------------------------------------------------------------------------------

async def test_other_tenants_events_do_not_exist(api, alpha, beta) -> None:
    event = await make_event(api, alpha, name="Alpha Only Expo")
    for call in (api.get(url(beta, f"/{event['id']}"), headers=beta.auth),
                 api.get(url(beta, f"/{event['id']}/roi"), headers=beta.auth),
                 api.patch(url(beta, f"/{event['id']}"), headers=beta.auth, json={"name": "x"}),
                 api.delete(url(beta, f"/{event['id']}"), headers=beta.auth)):
        assert_problem(await call, 404, "marketing_event_not_found")
    for call in (api.get(url(alpha), headers=beta.auth), api.get(url(alpha, f"/{event['id']}"), headers=beta.auth),
                 api.get(url(alpha, f"/{event['id']}/roi"), headers=beta.auth),
                 api.post(url(alpha), headers=beta.auth, json=EXPO)):
        assert_problem(await call, 404, "tenant_not_found")
    assert "Alpha Only Expo" not in {e["name"] for e in (await api.get(url(beta), headers=beta.auth)).json()["items"]}
    linked = await api.post(rurl(beta, "accounts"), headers=beta.auth,
                            json={"name": "Beta Co", "marketing_event_id": event["id"]})
    assert error_fields(assert_problem(linked, 422)) == {"marketing_event_id"}


async def test_failed_requests_write_nothing(api, company) -> None:
    rep = await add_member(company.tenant.id, "rep")
    event = await make_event(api, company)
    gone = await make_event(api, company, name="Gone")
    await api.delete(url(company, f"/{gone['id']}"), headers=company.auth)
    account = await make_account(api, company)
    deal = await make_deal(api, company, account)
    before = await counts(company)
    failures = [
        (api.post(url(company), headers=company.auth, json={**EXPO, "budget": "-5"}), 422),
        (api.post(url(company), headers=rep.auth, json=EXPO), 403),
        (api.patch(url(company, f"/{event['id']}"), headers={**company.auth, "If-Match": 'W/"9"'},
                   json={"name": "x"}), 409),
        (api.patch(url(company, f"/{event['id']}"), headers=company.auth,
                   json={"name": "Renamed", "starts_on": "2026-12-01"}), 422),
        (api.post(rurl(company, "accounts"), headers=company.auth,
                  json={"name": "x", "marketing_event_id": gone["id"]}), 422),
        (api.patch(rurl(company, "deals", f"/{deal['id']}"), headers=company.auth,
                   json={"title": "Renamed", "marketing_event_id": gone["id"]}), 422),
        (api.get(url(company, "/00000000-0000-0000-0000-000000000001/roi"), headers=company.auth), 404),
    ]
    for call, status in failures:
        assert_problem(await call, status)
    assert await counts(company) == before
    assert (await api.get(url(company, f"/{event['id']}"), headers=company.auth)).json()["version"] == 1
    assert (await api.get(rurl(company, "deals", f"/{deal['id']}"), headers=company.auth)).json()["title"] == (
        "Forklift fleet")


async def test_idempotent_create(api, company) -> None:
    headers = {**company.auth, "Idempotency-Key": "expo-1"}
    first = await api.post(url(company), headers=headers, json=EXPO)
    again = await api.post(url(company), headers=headers, json=EXPO)
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert first.json() == again.json()
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".marketing_events') == 1
