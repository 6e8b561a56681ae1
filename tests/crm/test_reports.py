"""Reports API on a hand-built dataset (tests/crm/reports_data.py): every figure worked out by hand below.

Funnel, forecast, rep KPIs, ABC/XYZ and BCG per role (what each role may see), bad parameters (400 with field
reasons, nothing written), tenancy (404), and activities per rep over a table with the interactions columns.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, text
from sqlalchemy.dialects.postgresql import UUID

from backend.domains.crm.analytics import activities, scope
from backend.domains.crm.analytics.params import Period
from backend.domains.crm.visibility import CrmActor
from backend.models import tenant_metadata
from tenants.scope import tenant_scope
from tests.api.helpers import assert_problem, bearer, error_fields, scalar
from tests.conftest import new_company
from tests.crm.reports_data import Dataset, build

YEAR = {"from": "2025-01-01", "to": "2025-12-31"}
REPORTS = ("funnel", "forecast", "reps", "abc-xyz", "bcg")


@pytest.fixture(scope="module")
async def data(settings, database) -> Dataset:
    return await build(await new_company(settings))


async def report(client, data: Dataset, name: str, who: str = "maya", auth=None, **params) -> dict:
    response = await client.get(f"/api/v1/t/{data.company.slug}/reports/{name}", headers=auth or data.auth(who),
                                params=params)
    assert response.status_code == 200, response.text
    return response.json()


def steps(body: dict) -> list[tuple]:
    return [(s["name"], s["kind"], s["reached"], s["conversion"]) for s in body["steps"]]


def outcome(body: dict) -> tuple:
    return body["entered"], body["won"], body["lost"], body["still_open"], body["win_rate"]


# --- funnel ------------------------------------------------------------------------------------------------------

async def test_funnel_counts_reached_stages_with_jumps_and_conversions(client, data) -> None:
    body = await report(client, data, "funnel", **YEAR)
    assert (body["pipeline_name"], body["period"]) == ("Sales", {"from": "2025-01-01", "to": "2025-12-31"})
    # cohort = created in 2025 in Sales: D1 D2 D3 D4 D5 D7 D8 (D6 made in 2024, D9 archived, D10/D18 elsewhere)
    # furthest open stage reached: D1 Negotiation, D2 Qualification (then lost), D3 Proposal + won (so all),
    # D4 Negotiation (skipped Proposal), D5 Qualification, D7 Qualification (its Proposal move is in 2026),
    # D8 won then reopened (so all, but open at the end)
    assert steps(body) == [
        ("Qualification", "open", 7, None),
        ("Proposal", "open", 4, "57.14"),  # D1 D3 D4 D8: 4/7 = 57.142…
        ("Negotiation", "open", 4, "100.00"),  # the same four: 4/4
        ("Won", "won", 2, "50.00"),  # D1 D3 won at the end of 2025: 2/4
    ]
    assert outcome(body) == (7, 2, 2, 3, "28.57")  # lost D2 D4; open D5 D7 D8; 2/7 = 28.571…


async def test_funnel_follows_history_only_up_to_the_end_of_the_range(client, data) -> None:
    june_july = await report(client, data, "funnel", **{"from": "2025-06-01", "to": "2025-07-31"})
    # cohort D5 (06-01), D8 (07-01); D8's win on 08-01 is after the range: both still in Qualification
    assert steps(june_july) == [("Qualification", "open", 2, None), ("Proposal", "open", 0, "0.00"),
                                ("Negotiation", "open", 0, None), ("Won", "won", 0, None)]
    assert outcome(june_july) == (2, 0, 0, 2, "0.00")
    second_half = await report(client, data, "funnel", **{"from": "2025-06-01", "to": "2025-12-31"})
    assert steps(second_half) == [("Qualification", "open", 3, None), ("Proposal", "open", 1, "33.33"),
                                  ("Negotiation", "open", 1, "100.00"), ("Won", "won", 0, "0.00")]
    tenders = await report(client, data, "funnel", pipeline_id=str(data.tenders), **YEAR)
    assert (tenders["pipeline_name"], steps(tenders), tenders["win_rate"]) == (
        "Tenders", [("Lead", "open", 0, None), ("Signed", "won", 0, None)], None)


async def test_funnel_per_role(client, data) -> None:
    assert await report(client, data, "funnel", "vic", **YEAR) == await report(client, data, "funnel", **YEAR)
    rita = await report(client, data, "funnel", "rita", **YEAR)
    # Rita sees her deals D1 D2 D8, unowned D5 and D4 (on shared Gamma Tech): not Sam's D3 D7
    assert steps(rita) == [("Qualification", "open", 5, None), ("Proposal", "open", 3, "60.00"),
                           ("Negotiation", "open", 3, "100.00"), ("Won", "won", 1, "33.33")]
    assert outcome(rita) == (5, 1, 2, 2, "20.00")
    sam = await report(client, data, "funnel", "sam", **YEAR)
    # Sam: D3 D4 D7 and unowned D5
    assert steps(sam) == [("Qualification", "open", 4, None), ("Proposal", "open", 2, "50.00"),
                          ("Negotiation", "open", 2, "100.00"), ("Won", "won", 1, "50.00")]
    assert outcome(sam) == (4, 1, 1, 2, "25.00")


# --- forecast ----------------------------------------------------------------------------------------------------

def months_from(today: date) -> list[str]:
    index = today.year * 12 + today.month - 1
    return [f"{(index + i) // 12}-{(index + i) % 12 + 1:02d}" for i in range(12)]


def buckets(body: dict) -> dict[str, list[tuple]]:
    return {b["key"]: [(c["currency"], c["deals"], c["amount"], c["weighted"]) for c in b["cells"]]
            for b in body["buckets"]}


def expected_buckets(today: date, **filled: list[tuple]) -> dict[str, list[tuple]]:
    keys = ["overdue", *months_from(today), "later", "undated"]
    named = {"m0": keys[1], "m1": keys[2]}
    return {k: filled.get(next((n for n, v in named.items() if v == k), k), []) for k in keys}


async def test_forecast_weighs_open_deals_by_month_and_currency(client, data) -> None:
    body = await report(client, data, "forecast")
    assert body["today"] == data.today.isoformat()
    assert [b["key"] for b in body["buckets"]] == ["overdue", *months_from(data.today), "later", "undated"]
    assert buckets(body) == expected_buckets(
        data.today,
        overdue=[("USD", 1, "100.00", "25.00")],  # D12: 100.00 x 25 %
        m0=[("USD", 2, "1070.00", "114.00")],  # D5 1000.00 x 10 % + D10 (Tenders) 70.00 x 20 %
        m1=[("EUR", 1, "500.00", "200.00"),  # D8 500.00 x 40 %
            ("USD", 2, "583.38", "183.36"),  # D7 333.33 x 10 % = 33.333 + D11 250.05 x 60 % = 150.03 -> 183.363
            (None, 1, "10.00", "5.00")],  # D16 has no currency: never added to another
        later=[("USD", 1, "1000.00", "500.00")],  # D14 in 400 days
        undated=[("USD", 1, "80.00", "26.66")],  # D13 80.00 x 33.33 % = 26.664
    )
    assert body["currencies"] == ["EUR", "USD", None]
    assert [(t["currency"], t["deals"], t["amount"], t["weighted"]) for t in body["totals"]] == [
        ("EUR", 1, "500.00", "200.00"), ("USD", 7, "2833.38", "849.02"), (None, 1, "10.00", "5.00")]


async def test_forecast_filters_and_visibility(client, data) -> None:
    tenders = await report(client, data, "forecast", pipeline_id=str(data.tenders))
    assert buckets(tenders) == expected_buckets(data.today, m0=[("USD", 1, "70.00", "14.00")])
    euros = await report(client, data, "forecast", currency="eur")
    assert buckets(euros) == expected_buckets(data.today, m1=[("EUR", 1, "500.00", "200.00")])
    rita = await report(client, data, "forecast", "rita")
    assert buckets(rita) == expected_buckets(
        data.today, overdue=[("USD", 1, "100.00", "25.00")], m0=[("USD", 1, "1000.00", "100.00")],
        m1=[("EUR", 1, "500.00", "200.00")], later=[("USD", 1, "1000.00", "500.00")],
        undated=[("USD", 1, "80.00", "26.66")])  # D13 is Sam's, on the shared Gamma Tech
    # the same deals as the deals list shows Rita (open, with an amount)
    listed = await client.get(f"/api/v1/t/{data.company.slug}/deals", headers=data.auth("rita"),
                              params={"status": "open", "limit": 200})
    with_amount = [d for d in listed.json()["items"] if d["amount"] is not None]
    assert sum(t["deals"] for t in rita["totals"]) == len(with_amount) == 5


# --- reps --------------------------------------------------------------------------------------------------------

def rep_rows(body: dict) -> list[tuple]:
    return [(r["name"], r["won"], r["lost"], r["win_rate"], r["avg_cycle_days"],
             [(m["currency"], m["deals"], m["amount"], m["weighted"]) for m in r["open"]]) for r in body["rows"]]


RITA = ("Rita Rep", 2, 1, "66.67",  # won D1 D6, lost D2: 2/3
        "36.50",  # D1 42.5 days (Feb 1 09:00 -> Mar 15 21:00), D2 19, D6 48 (Dec 15 -> Feb 1): 109.5 / 3
        [("EUR", 1, "500.00", "200.00"), ("USD", 1, "100.00", "25.00")])  # D8; D12 (D9 archived)
SAM = ("Sam Seller", 1, 1, "50.00", "45.50",  # D3 won in 30 days, D4 lost in 61
       [("USD", 3, "663.38", "210.03"),  # D7 33.333 + D11 150.03 + D13 26.664 = 210.027
        (None, 1, "10.00", "5.00")])  # D16
UNASSIGNED = (None, 1, 0, "100.00", "31.00",  # D18 won Jan 1 after 31 days
              [("USD", 2, "2000.00", "600.00")])  # D5 100.00 + D14 500.00 (D15 has no amount)


async def test_rep_kpis(client, data) -> None:
    body = await report(client, data, "reps", pipeline_id=str(data.sales), **YEAR)
    assert body["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    assert rep_rows(body) == [RITA, SAM, UNASSIGNED]
    assert [r["user_id"] for r in body["rows"]] == [str(data.user("rita")), str(data.user("sam")), None]
    assert await report(client, data, "reps", "vic", pipeline_id=str(data.sales), **YEAR) == body


async def test_reps_see_only_their_own_row(client, data) -> None:
    rita = await report(client, data, "reps", "rita", pipeline_id=str(data.sales), **YEAR)
    assert rep_rows(rita) == [RITA]
    sam = await report(client, data, "reps", "sam", pipeline_id=str(data.sales), **YEAR)
    assert rep_rows(sam) == [SAM]
    key = await client.post(f"/api/v1/t/{data.company.slug}/api-keys", headers=data.company.auth,
                            json={"name": "rep bot", "role": "rep"})
    assert key.status_code == 201, key.text
    bot = await report(client, data, "reps", auth=bearer(key.json()["secret"]), **YEAR)
    assert bot["rows"] == []  # a rep-level key owns nothing


async def test_activities_part_is_present_exactly_when_the_interactions_table_is(client, data) -> None:
    body = await report(client, data, "reps", pipeline_id=str(data.sales), **YEAR)
    if "interactions" in tenant_metadata.tables:
        assert isinstance(body["activity_kinds"], list)
        assert all(isinstance(r["activities"], dict) for r in body["rows"])
    else:
        assert "activity_kinds" not in body
        assert all("activities" not in r for r in body["rows"])


async def test_activities_per_author_and_kind(data) -> None:
    """``activities.per_author`` on a table with the interactions columns (the real one lives on another branch)."""
    columns = "account_id uuid, author_user_id uuid, kind varchar(16), occurred_at timestamptz, archived_at timestamptz"
    table = Table("interactions_standin", MetaData(), Column("account_id", UUID(as_uuid=True)),
                  Column("author_user_id", UUID(as_uuid=True)), Column("kind", String(16)),
                  Column("occurred_at", DateTime(timezone=True)), Column("archived_at", DateTime(timezone=True)))
    rita, sam = data.user("rita"), data.user("sam")
    rows = [(rita, "call", "2025-03-01"), (rita, "call", "2025-04-01"), (rita, "meeting", "2025-05-01"),
            (sam, "email", "2025-06-01"), (None, "note", "2025-06-02"),
            (rita, "call", "2024-12-31"),  # before the range
            (sam, "visit", "2026-01-01")]  # after it
    async with tenant_scope(data.company.tenant) as uow:
        await uow.session.execute(text(f"CREATE TEMP TABLE interactions_standin ({columns}) ON COMMIT DROP"))
        for author, kind, day in rows:
            await uow.session.execute(table.insert().values(
                account_id=data.accounts["A1"], author_user_id=author, kind=kind,
                occurred_at=datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)))
        await uow.session.execute(table.insert().values(  # archived: not counted
            account_id=data.accounts["A1"], author_user_id=rita, kind="call",
            occurred_at=datetime(2025, 7, 1, tzinfo=UTC), archived_at=datetime(2025, 7, 2, tzinfo=UTC)))
        cal = await scope.calendar(uow)
        year = Period(date(2025, 1, 1), date(2025, 12, 31))
        manager = await activities.per_author(uow, CrmActor("manager", data.user("maya")), table, cal, year)
        as_rita = await activities.per_author(uow, CrmActor("rep", rita), table, cal, year)
        as_key = await activities.per_author(uow, CrmActor("rep", None, uuid.uuid4()), table, cal, year)
    assert manager == {rita: {"call": 2, "meeting": 1}, sam: {"email": 1}, None: {"note": 1}}
    assert as_rita == {rita: {"call": 2, "meeting": 1}}
    assert as_key == {}


# --- ABC / XYZ ---------------------------------------------------------------------------------------------------

def abc_rows(body: dict) -> list[tuple]:
    return [(r["name"], r["revenue"], r["share"], r["cumulative"], r["abc"], r["cv"], r["xyz"]) for r in body["rows"]]


async def test_abc_xyz_classes(client, data) -> None:
    body = await report(client, data, "abc-xyz", to="2025-12-31")
    assert (body["period"], body["xyz_period"], body["currency"]) == (
        {"from": "2025-01-01", "to": "2025-12-31"}, {"from": "2025-01-01", "to": "2025-12-31"}, "USD")
    assert (body["abc_thresholds"], body["xyz_thresholds"], body["total"]) == (["80", "15", "5"], ["0.5", "1.0"],
                                                                              "10000.00")
    # USD won in 2025 (archived account/deal, EUR, 2026 and no-amount deals left out): 6000 + 2400 + 1200 + 200 + 200
    # ABC by the share before each account: 0 % A, 60 % A, 84 % B, then the 200/200 tie at 96 %: both C
    # XYZ (monthly CV): Alpha 500 every month: 0; Beta 400 in six months, 0 in six: mean 200, sd 200 -> 1;
    # one month only: mean R/12, sd R*sqrt(11)/12 -> sqrt(11) = 3.31662…
    assert abc_rows(body) == [
        ("Alpha Steel", "6000.00", "60.00", "60.00", "A", "0.0000", "X"),
        ("Beta Foods", "2400.00", "24.00", "84.00", "A", "1.0000", "Y"),
        ("Gamma Tech", "1200.00", "12.00", "96.00", "B", "3.3166", "Z"),
        ("Delta Retail", "200.00", "2.00", "98.00", "C", "3.3166", "Z"),
        ("Epsilon <b>&Co</b>", "200.00", "2.00", "100.00", "C", "3.3166", "Z"),
    ]
    assert body["matrix"] == {"AX": 1, "AY": 1, "AZ": 0, "BX": 0, "BY": 0, "BZ": 1, "CX": 0, "CY": 0, "CZ": 2}


async def test_abc_xyz_thresholds_ties_currency_and_visibility(client, data) -> None:
    custom = await report(client, data, "abc-xyz", to="2025-12-31", abc="60,38,2", xyz="0.1,5")
    # Beta starts at 60 %: not under 60 -> B; the tie at 96 % (< 98) is B for both, though Epsilon alone would be C
    assert [(r["name"], r["abc"], r["xyz"]) for r in custom["rows"]] == [
        ("Alpha Steel", "A", "X"), ("Beta Foods", "B", "Y"), ("Gamma Tech", "B", "Y"), ("Delta Retail", "B", "Y"),
        ("Epsilon <b>&Co</b>", "B", "Y")]
    euros = await report(client, data, "abc-xyz", to="2025-12-31", currency="EUR")
    assert (euros["total"], abc_rows(euros)) == ("999.00", [("Beta Foods", "999.00", "100.00", "100.00", "A",
                                                             "3.3166", "Z")])
    rita = await report(client, data, "abc-xyz", "rita", to="2025-12-31")
    # Rita sees Alpha, Epsilon (hers), Delta (unowned), Gamma (shared): 6000 + 1200 + 200 + 200 = 7600
    # before: 0 A; 6000/7600 = 78.9 % A; 7200/7600 = 94.7 % B (tie: both)
    assert (rita["total"], abc_rows(rita)) == ("7600.00", [
        ("Alpha Steel", "6000.00", "78.95", "78.95", "A", "0.0000", "X"),
        ("Gamma Tech", "1200.00", "15.79", "94.74", "A", "3.3166", "Z"),
        ("Delta Retail", "200.00", "2.63", "97.37", "B", "3.3166", "Z"),
        ("Epsilon <b>&Co</b>", "200.00", "2.63", "100.00", "B", "3.3166", "Z")])
    assert await report(client, data, "abc-xyz", "vic", to="2025-12-31") == await report(
        client, data, "abc-xyz", to="2025-12-31")


# --- BCG ---------------------------------------------------------------------------------------------------------

def bcg_points(body: dict) -> list[tuple]:
    return [(p["name"], p["revenue"], p["previous"], p["relative_share"], p["growth"], p["quadrant"])
            for p in body["points"]]


async def test_bcg_quadrants(client, data) -> None:
    body = await report(client, data, "bcg", to="2025-12-31")
    assert (body["last"], body["previous"], body["currency"], body["share_threshold"], body["growth_threshold"]) == (
        {"from": "2025-01-01", "to": "2025-12-31"}, {"from": "2024-01-01", "to": "2024-12-31"}, "USD", "0.5", "10")
    # share = revenue / 6000 (Alpha); growth = (2025 - 2024) / 2024
    assert bcg_points(body) == [
        ("Alpha Steel", "6000.00", "5000.00", "1.0000", "20.00", "star"),
        ("Beta Foods", "2400.00", "3000.00", "0.4000", "-20.00", "dog"),
        ("Gamma Tech", "1200.00", "0.00", "0.2000", None, "question_mark"),  # new: high growth
        ("Delta Retail", "200.00", "190.00", "0.0333", "5.26", "dog"),  # 10 / 190 = 5.263 %
        ("Epsilon <b>&Co</b>", "200.00", "0.00", "0.0333", None, "question_mark"),
        ("Zeta Mills", "0.00", "100.00", "0.0000", "-100.00", "dog"),
    ]
    assert body["counts"] == {"star": 1, "cash_cow": 0, "question_mark": 2, "dog": 3}


async def test_bcg_thresholds_and_visibility(client, data) -> None:
    custom = await report(client, data, "bcg", to="2025-12-31", share="0.4", growth="25")
    assert [(p["name"], p["quadrant"]) for p in custom["points"]] == [
        ("Alpha Steel", "cash_cow"), ("Beta Foods", "cash_cow"), ("Gamma Tech", "question_mark"),
        ("Delta Retail", "dog"), ("Epsilon <b>&Co</b>", "question_mark"), ("Zeta Mills", "dog")]
    rita = await report(client, data, "bcg", "rita", to="2025-12-31")
    assert [(p["name"], p["quadrant"]) for p in rita["points"]] == [
        ("Alpha Steel", "star"), ("Gamma Tech", "question_mark"), ("Delta Retail", "dog"),
        ("Epsilon <b>&Co</b>", "question_mark")]


# --- bad input, tenancy ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "params", "fields"), [
    ("funnel", {"from": "2025-12-31", "to": "2025-01-01"}, {"from"}),
    ("funnel", {"from": "2025-13-01"}, {"from"}),
    ("funnel", {"to": "31/12/2025"}, {"to"}),
    ("funnel", {"from": "2015-01-01", "to": "2025-12-31"}, {"from"}),
    ("funnel", {"pipeline_id": "nope"}, {"pipeline_id"}),
    ("funnel", {"pipeline_id": str(uuid.UUID(int=7))}, {"pipeline_id"}),
    ("forecast", {"currency": "US"}, {"currency"}),
    ("reps", {"currency": "U$D", "from": "x"}, {"currency", "from"}),
    ("abc-xyz", {"abc": "80,15,4"}, {"abc"}),
    ("abc-xyz", {"abc": "80,20"}, {"abc"}),
    ("abc-xyz", {"abc": "-10,90,20"}, {"abc"}),
    ("abc-xyz", {"abc": "a,b,c", "xyz": "1,0.5"}, {"abc", "xyz"}),
    ("abc-xyz", {"xyz": "nan,1"}, {"xyz"}),
    ("bcg", {"share": "0"}, {"share"}),
    ("bcg", {"share": "1.5", "growth": "fast"}, {"share", "growth"}),
    ("bcg", {"growth": "-200"}, {"growth"}),
])
async def test_bad_parameters_are_400_with_field_reasons(client, data, name, params, fields) -> None:
    response = await client.get(f"/api/v1/t/{data.company.slug}/reports/{name}", headers=data.auth("maya"),
                                params=params)
    assert error_fields(assert_problem(response, 400, "invalid_report_query")) == fields


async def test_a_refused_report_writes_nothing(client, company) -> None:
    response = await client.get(f"/api/v1/t/{company.slug}/reports/funnel", headers=company.auth,
                                params={"from": "2025-02-01", "to": "2025-01-01"})
    assert_problem(response, 400, "invalid_report_query")
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".pipelines') == 0
    made = await client.get(f"/api/v1/t/{company.slug}/reports/funnel", headers=company.auth)
    assert (made.status_code, made.json()["entered"], made.json()["pipeline_name"]) == (200, 0, "Sales")


async def test_other_tenants_get_404_and_see_nothing(client, data, make_company) -> None:
    other = await make_company()
    for name in REPORTS:
        response = await client.get(f"/api/v1/t/{data.company.slug}/reports/{name}", headers=other.auth)
        assert_problem(response, 404, "tenant_not_found")
    own = await client.get(f"/api/v1/t/{other.slug}/reports/abc-xyz", headers=other.auth, params={"to": "2025-12-31"})
    assert (own.status_code, own.json()["rows"]) == (200, [])
    foreign_pipeline = await client.get(f"/api/v1/t/{other.slug}/reports/funnel", headers=other.auth,
                                        params={"pipeline_id": str(data.sales)})
    assert error_fields(assert_problem(foreign_pipeline, 400)) == {"pipeline_id"}


async def test_reports_follow_the_company_time_zone(client, company) -> None:
    """A deal won at 2025-12-31 20:00 UTC is January revenue in Seoul (UTC+9)."""
    account = await client.post(f"/api/v1/t/{company.slug}/accounts", headers=company.auth, json={"name": "Seoul Co"})
    deal = await client.post(f"/api/v1/t/{company.slug}/deals", headers=company.auth, json={
        "title": "Late win", "account_id": account.json()["id"], "amount": "100.00", "currency": "USD"})
    assert (await client.post(f"/api/v1/t/{company.slug}/deals/{deal.json()['id']}/win",
                              headers=company.auth)).status_code == 200
    schema = company.tenant.schema
    async with tenant_scope(company.tenant) as uow:
        await uow.session.execute(text(f"UPDATE \"{schema}\".deals SET won_at = '2025-12-31 20:00+00'"))
        await uow.session.execute(text(f"UPDATE \"{schema}\".company_settings SET timezone = 'Asia/Seoul'"))
    december = await client.get(f"/api/v1/t/{company.slug}/reports/abc-xyz", headers=company.auth,
                                params={"from": "2025-12-01", "to": "2025-12-31"})
    january = await client.get(f"/api/v1/t/{company.slug}/reports/abc-xyz", headers=company.auth,
                               params={"from": "2026-01-01", "to": "2026-01-31"})
    assert (december.json()["total"], january.json()["total"]) == ("0.00", "100.00")


def test_default_period_is_the_last_twelve_months() -> None:
    from backend.domains.crm.analytics.params import default_period, parse

    assert default_period(date(2026, 3, 15)) == Period(date(2025, 4, 1), date(2026, 3, 15))
    assert parse({"to": "2026-01-31"}, today=date(2030, 1, 1)).period == Period(date(2025, 2, 1), date(2026, 1, 31))
    assert parse({}, today=date(2026, 12, 31)).period == Period(date(2026, 1, 1), date(2026, 12, 31))
    assert date(2026, 1, 1) - timedelta(days=1) == date(2025, 12, 31)
