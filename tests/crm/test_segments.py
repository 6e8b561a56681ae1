"""Segments: every filter field and operator against a hand-built dataset (each result equals the hand-computed
set of ids), any/all nesting, custom fields, visibility per role, bad filters with their paths, static lists,
saved segments (CRUD, ETag/If-Match, roles), tenancy, and failed requests writing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.api.crm_segments import SegmentController
from backend.app import create_app
from tests.api.helpers import Member, add_member, assert_problem, error_fields, execute, hosted, scalar
from tests.conftest import Company, new_company


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    if not any(route.path.startswith("/api/v1/t/{tenant_slug:str}/segments") for route in app.routes):
        app.register(SegmentController)
    async with hosted(app, "192.0.2.86", database) as client:
        yield client


def url(company: Company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/segments{suffix}"


def rurl(company: Company, kind: str, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/{kind}{suffix}"


async def post(api: httpx.AsyncClient, company: Company, kind: str, body: dict[str, Any],
               auth: dict[str, str] | None = None, suffix: str = "") -> dict[str, Any]:
    response = await api.post(rurl(company, kind, suffix), headers=auth or company.auth, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


@dataclass
class World:
    """The hand-built dataset: names → ids, plus the members used to act."""

    company: Company
    rep1: Member
    rep2: Member
    viewer: Member
    ids: dict[str, str] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)
    event: str = ""

    def names(self, ids: set[str]) -> set[str]:
        back = {v: k for k, v in self.ids.items()}
        return {back.get(i, i) for i in ids}


ACCOUNTS = {  # name: (fields, owner, created_at)
    "Alder": ({"status": "lead", "kind": "organization", "tags": ["vip", "north"], "source_channel": "web",
               "custom": {"tier": "gold", "score": "10", "since": "2025-01-10", "active": True,
                          "note": "Loves forklifts"}}, "rep1", "2026-01-05T10:00:00+00:00"),
    "Birch": ({"status": "customer", "kind": "person", "tags": ["north"], "source_channel": "expo", "is_shared": True,
               "custom": {"tier": "silver", "score": "25.5", "since": "2025-06-01", "active": False}}, "rep2",
              "2026-02-15T23:30:00+00:00"),
    "Cedar": ({"status": "prospect", "kind": "organization", "custom": {"tier": "gold", "score": "3"}}, "rep2",
              "2026-03-20T08:00:00+00:00"),
    "Dogwood": ({"status": "churned", "kind": "group", "tags": ["vip"], "source_channel": "web"}, None,
                "2025-12-31T23:59:00+00:00"),
    "Elm": ({"status": "customer", "kind": "organization", "tags": ["south"]}, "boss", "2026-02-01T00:00:00+00:00"),
    "Fir": ({"status": "customer", "kind": "organization", "tags": ["vip"]}, "boss", "2026-02-02T00:00:00+00:00"),
}
CONTACTS = {  # name: (fields, account, owner, created_at)
    "Ann": ({"email": "ann@example.com", "email_consent": True, "email_consent_source": "web form",
             "roles": ["decision_maker"], "custom": {"lang": "ko"}}, "Alder", "rep1", "2026-01-06T00:00:00+00:00"),
    "Ben": ({"phone": "+821012345678", "sms_consent": True, "sms_consent_source": "expo", "roles": ["payer", "user"],
             "custom": {"lang": "en"}}, "Birch", "rep2", "2026-02-16T00:00:00+00:00"),
    "Cat": ({"email": "cat@example.com"}, "Cedar", "rep2", "2026-03-21T00:00:00+00:00"),
    "Dan": ({"email": "dan@example.com", "email_consent": True, "email_consent_source": "web form",
             "roles": ["user"]}, None, None, "2025-12-01T00:00:00+00:00"),
    "Eve": ({"email": "eve@example.com", "email_consent": True, "email_consent_source": "call",
             "phone": "+821098765432", "roles": ["decision_maker", "payer"]}, "Elm", "boss",
            "2026-02-02T00:00:00+00:00"),
    "Fay": ({"email": "fay@example.com", "email_consent": True, "email_consent_source": "web form"}, "Elm", "boss",
            "2026-02-03T00:00:00+00:00"),
}


async def build(api: httpx.AsyncClient, settings: Any) -> World:
    company = await new_company(settings)
    world = World(company, await add_member(company.tenant.id, "rep"), await add_member(company.tenant.id, "rep"),
                  await add_member(company.tenant.id, "viewer"))
    owners = {"rep1": world.rep1.user_id, "rep2": world.rep2.user_id, "boss": company.user_id, None: None}
    for key, kind, extra in (("tier", "choice", {"choices": ["gold", "silver"]}), ("score", "number", {}),
                             ("since", "date", {}), ("active", "bool", {}), ("note", "text", {})):
        await post(api, company, "custom-fields",
                   {"entity": "account", "key": key, "label": key, "type": kind, **extra})
    await post(api, company, "custom-fields", {"entity": "contact", "key": "lang", "label": "Language",
                                               "type": "choice", "choices": ["ko", "en"]})
    world.event = (await post(api, company, "marketing-events", {"name": "Expo", "channel": "exhibition",
                                                                 "budget": "100", "currency": "USD"}))["id"]
    schema = company.tenant.schema
    for name, (fields, owner, created) in ACCOUNTS.items():
        body = {"name": name, **fields, "owner_user_id": str(owners[owner]) if owner else None}
        if name == "Alder":
            body["marketing_event_id"] = world.event
        world.ids[name] = (await post(api, company, "accounts", body))["id"]
        await execute(f'UPDATE "{schema}".accounts SET created_at = :c WHERE id = :i',
                      c=datetime.fromisoformat(created), i=world.ids[name])
    for name, (fields, account, owner, created) in CONTACTS.items():
        body = {"full_name": name, **fields, "owner_user_id": str(owners[owner]) if owner else None,
                "account_id": world.ids[account] if account else None}
        world.ids[name] = (await post(api, company, "contacts", body))["id"]
        await execute(f'UPDATE "{schema}".contacts SET created_at = :c WHERE id = :i',
                      c=datetime.fromisoformat(created), i=world.ids[name])
    pipeline = (await api.get(rurl(company, "pipelines"), headers=company.auth)).json()["items"][0]
    world.stages = [s["id"] for s in pipeline["stages"]]
    deals = {"D1": ("Alder", 0, "open"), "D2": ("Birch", 0, "won"), "D3": ("Cedar", 0, "lost"),
             "D4": ("Elm", 1, "open"), "D5": ("Dogwood", 0, "archived")}
    for title, (account, stage, outcome) in deals.items():
        deal = await post(api, company, "deals", {"title": title, "account_id": world.ids[account],
                                                  "stage_id": world.stages[stage]})
        world.ids[title] = deal["id"]
        if outcome == "won":
            await post(api, company, "deals", {}, suffix=f"/{deal['id']}/win")
        elif outcome == "lost":
            await post(api, company, "deals", {"reason": "Budget"}, suffix=f"/{deal['id']}/lose")
        elif outcome == "archived":
            assert (await api.delete(rurl(company, "deals", f"/{deal['id']}"), headers=company.auth)).status_code == 200
    now = datetime.now(UTC)
    for account, contact, days, archive in (("Alder", "Ann", 3, False), ("Alder", None, 40, False),
                                            ("Birch", "Ben", 100, False), ("Cedar", "Cat", 1, True),
                                            ("Elm", None, -0.5, False)):  # Elm's is still to come
        made = await post(api, company, "interactions", {
            "kind": "note", "account_id": world.ids[account], "contact_id": world.ids[contact] if contact else None,
            "occurred_at": (now - timedelta(days=days)).isoformat(), "body": "Talked"})
        if archive:
            response = await api.delete(rurl(company, "interactions", f"/{made['id']}"), headers=company.auth)
            assert response.status_code == 200, response.text
    for archived in ("Fir", "Fay"):
        kind = "accounts" if archived == "Fir" else "contacts"
        response = await api.delete(rurl(company, kind, f"/{world.ids[archived]}"), headers=company.auth)
        assert response.status_code == 200, response.text
    return world


@pytest.fixture(scope="module")
async def world(api, settings, database) -> World:
    return await build(api, settings)


async def matched(api: httpx.AsyncClient, world: World, entity: str, filter_: dict[str, Any],
                  auth: dict[str, str] | None = None) -> set[str]:
    response = await api.post(url(world.company, "/preview?limit=200"), headers=auth or world.company.auth,
                              json={"entity": entity, "filter": filter_})
    assert response.status_code == 200, response.text
    body = response.json()
    names = world.names({item["id"] for item in body["items"]})
    assert body["count"] == len(names), body
    counted = await api.post(url(world.company, "/count"), headers=auth or world.company.auth,
                             json={"entity": entity, "filter": filter_})
    assert counted.json() == {"count": body["count"]}
    return names


def one(field_: str, op: str, value: Any = None) -> dict[str, Any]:
    condition = {"field": field_, "op": op}
    if value is not None or op == "eq":
        condition["value"] = value
    return {"all": [condition]}


LIVE_ACCOUNTS = {"Alder", "Birch", "Cedar", "Dogwood", "Elm"}
LIVE_CONTACTS = {"Ann", "Ben", "Cat", "Dan", "Eve"}

ACCOUNT_CASES: list[tuple[str, str, Any, set[str]]] = [
    ("status", "eq", "customer", {"Birch", "Elm"}),
    ("status", "ne", "customer", {"Alder", "Cedar", "Dogwood"}),
    ("status", "in", ["lead", "churned"], {"Alder", "Dogwood"}),
    ("status", "not_in", ["lead", "churned"], {"Birch", "Cedar", "Elm"}),
    ("kind", "eq", "person", {"Birch"}),
    ("kind", "in", ["group", "person"], {"Birch", "Dogwood"}),
    ("owner_user_id", "eq", "me", {"Elm"}),
    ("owner_user_id", "is_null", True, {"Dogwood"}),
    ("owner_user_id", "is_null", False, {"Alder", "Birch", "Cedar", "Elm"}),
    ("is_shared", "eq", True, {"Birch"}),
    ("is_shared", "eq", False, {"Alder", "Cedar", "Dogwood", "Elm"}),
    ("tags", "has_any", ["vip", "south"], {"Alder", "Dogwood", "Elm"}),
    ("tags", "has_all", ["vip", "North"], {"Alder"}),
    ("source_channel", "eq", "web", {"Alder", "Dogwood"}),
    ("source_channel", "ne", "web", {"Birch", "Cedar", "Elm"}),
    ("source_channel", "in", ["expo", "web"], {"Alder", "Birch", "Dogwood"}),
    ("source_channel", "not_in", ["expo"], {"Alder", "Cedar", "Dogwood", "Elm"}),
    ("source_channel", "is_null", True, {"Cedar", "Elm"}),
    ("created_at", "before", "2026-02-01", {"Alder", "Dogwood"}),
    ("created_at", "after", "2026-02-01", {"Birch", "Cedar"}),
    ("created_at", "after", "2026-02-01T00:00:00+00:00", {"Birch", "Cedar"}),
    ("created_at", "between", ["2026-01-01", "2026-02-15"], {"Alder", "Birch", "Elm"}),
    ("created_at", "between", ["2026-02-16T08:00:00+09:00", "2026-12-31"], {"Birch", "Cedar"}),
    ("custom.tier", "eq", "gold", {"Alder", "Cedar"}),
    ("custom.tier", "ne", "gold", {"Birch", "Dogwood", "Elm"}),
    ("custom.tier", "in", ["silver"], {"Birch"}),
    ("custom.tier", "not_in", ["silver"], {"Alder", "Cedar", "Dogwood", "Elm"}),
    ("custom.tier", "is_null", True, {"Dogwood", "Elm"}),
    ("custom.score", "eq", 10, {"Alder"}),
    ("custom.score", "eq", "25.50", {"Birch"}),
    ("custom.score", "gt", "10", {"Birch"}),
    ("custom.score", "gte", "10", {"Alder", "Birch"}),
    ("custom.score", "lt", 10, {"Cedar"}),
    ("custom.score", "lte", "10.0", {"Alder", "Cedar"}),
    ("custom.score", "between", ["3", "10"], {"Alder", "Cedar"}),
    ("custom.score", "is_null", False, {"Alder", "Birch", "Cedar"}),
    ("custom.since", "before", "2025-06-01", {"Alder"}),
    ("custom.since", "after", "2025-01-10", {"Birch"}),
    ("custom.since", "eq", "2025-06-01", {"Birch"}),
    ("custom.since", "between", ["2025-01-10", "2025-06-01"], {"Alder", "Birch"}),
    ("custom.active", "eq", True, {"Alder"}),
    ("custom.active", "eq", False, {"Birch"}),
    ("custom.active", "is_null", True, {"Cedar", "Dogwood", "Elm"}),
    ("custom.note", "contains", "FORK", {"Alder"}),
    ("custom.note", "eq", "Loves forklifts", {"Alder"}),
    ("deal_status", "eq", "open", {"Alder", "Elm"}),
    ("deal_status", "in", ["won", "lost"], {"Birch", "Cedar"}),
]


async def test_every_account_field_and_operator_matches_the_hand_computed_set(api, world) -> None:
    cases = [*ACCOUNT_CASES,
             ("marketing_event_id", "eq", world.event, {"Alder"}),
             ("marketing_event_id", "is_null", True, {"Birch", "Cedar", "Dogwood", "Elm"}),
             ("owner_user_id", "eq", str(world.rep2.user_id), {"Birch", "Cedar"}),
             ("owner_user_id", "in", [str(world.rep1.user_id), "me"], {"Alder", "Elm"}),
             ("owner_user_id", "ne", str(world.rep2.user_id), {"Alder", "Dogwood", "Elm"}),
             ("owner_user_id", "not_in", [str(world.rep2.user_id), "me"], {"Alder", "Dogwood"}),
             ("deal_stage", "eq", world.stages[0], {"Alder"}),  # Dogwood's deal there is archived
             ("deal_stage", "in", [world.stages[0], world.stages[1]], {"Alder", "Elm"})]
    for name, op, value, expected in cases:
        assert await matched(api, world, "account", one(name, op, value)) == expected, (name, op, value)


async def test_every_contact_field_and_operator_matches_the_hand_computed_set(api, world) -> None:
    cases: list[tuple[str, str, Any, set[str]]] = [
        ("email_consent", "eq", True, {"Ann", "Dan", "Eve"}),  # Fay is archived
        ("email_consent", "eq", False, {"Ben", "Cat"}),
        ("sms_consent", "eq", True, {"Ben"}),
        ("has_email", "eq", True, {"Ann", "Cat", "Dan", "Eve"}),
        ("has_phone", "eq", True, {"Ben", "Eve"}),
        ("has_phone", "eq", False, {"Ann", "Cat", "Dan"}),
        ("roles", "has_any", ["payer", "user"], {"Ben", "Dan", "Eve"}),
        ("roles", "has_all", ["decision_maker", "payer"], {"Eve"}),
        ("owner_user_id", "eq", "me", {"Eve"}),
        ("owner_user_id", "eq", str(world.rep2.user_id), {"Ben", "Cat"}),
        ("owner_user_id", "is_null", True, {"Dan"}),
        ("created_at", "before", "2026-01-06", {"Dan"}),
        ("created_at", "between", ["2026-01-06", "2026-02-16"], {"Ann", "Ben", "Eve"}),
        ("custom.lang", "eq", "ko", {"Ann"}),
        ("custom.lang", "not_in", ["ko"], {"Ben", "Cat", "Dan", "Eve"}),
        ("account.status", "eq", "customer", {"Ben", "Eve"}),
        ("account.status", "ne", "customer", {"Ann", "Cat"}),  # only contacts with an account
        ("account.tags", "has_any", ["north"], {"Ann", "Ben"}),
        ("account.is_shared", "eq", False, {"Ann", "Cat", "Eve"}),
        ("account.owner_user_id", "eq", "me", {"Eve"}),
        ("account.custom.tier", "eq", "gold", {"Ann", "Cat"}),
        ("account.custom.score", "gt", "5", {"Ann", "Ben"}),
        ("account.deal_status", "eq", "open", {"Ann", "Eve"}),
        ("account.deal_stage", "eq", world.stages[1], {"Eve"}),
        ("account.marketing_event_id", "eq", world.event, {"Ann"}),
        ("account.created_at", "after", "2026-02-01", {"Ben", "Cat"}),
    ]
    for name, op, value, expected in cases:
        assert await matched(api, world, "contact", one(name, op, value)) == expected, (name, op, value)
    assert await matched(api, world, "contact", {"all": []}) == LIVE_CONTACTS
    assert await matched(api, world, "contact", {"any": []}) == set()


async def test_last_interaction_age(api, world) -> None:
    # Alder: 3 and 40 days ago; Birch: 100 days ago; Cedar: only an archived one; Elm: only one still to come
    cases: list[tuple[str, str, str, Any, set[str]]] = [
        ("account", "last_interaction_days", "lt", 7, {"Alder"}),
        ("account", "last_interaction_days", "lt", 120, {"Alder", "Birch"}),
        ("account", "last_interaction_days", "gt", 30, {"Birch"}),
        ("account", "last_interaction_days", "gt", 2, {"Alder", "Birch"}),
        ("account", "last_interaction_days", "none", None, {"Cedar", "Dogwood", "Elm"}),
        ("contact", "last_interaction_days", "lt", 7, {"Ann"}),
        ("contact", "last_interaction_days", "gt", 30, {"Ben"}),
        ("contact", "last_interaction_days", "none", None, {"Cat", "Dan", "Eve"}),
        ("contact", "account.last_interaction_days", "none", None, {"Cat", "Eve"}),
        ("contact", "account.last_interaction_days", "lt", 60, {"Ann"}),
    ]
    for entity, name, op, value, expected in cases:
        assert await matched(api, world, entity, one(name, op, value)) == expected, (entity, name, op, value)
    for bad in ({"field": "last_interaction_days", "op": "gt", "value": -1},
                {"field": "last_interaction_days", "op": "lt", "value": "7"},
                {"field": "last_interaction_days", "op": "none", "value": 3}):
        response = await api.post(url(world.company, "/count"), headers=world.company.auth,
                                  json={"entity": "account", "filter": {"all": [bad]}})
        assert error_fields(assert_problem(response, 422, "invalid_filter")) == {"filter.all[0].value"}


async def test_nested_any_and_all(api, world) -> None:
    vip_or_customer = {"any": [{"field": "tags", "op": "has_any", "value": ["vip"]},
                               {"field": "status", "op": "eq", "value": "customer"}]}
    assert await matched(api, world, "account", vip_or_customer) == {"Alder", "Birch", "Dogwood", "Elm"}
    assert await matched(api, world, "account", {"all": [
        vip_or_customer, {"field": "created_at", "op": "after", "value": "2026-01-31"}]}) == {"Birch", "Elm"}
    deep = {"any": [{"all": [{"any": [{"field": "custom.tier", "op": "eq", "value": "gold"}]},
                             {"field": "status", "op": "eq", "value": "prospect"}]},
                    {"all": [{"field": "kind", "op": "eq", "value": "group"}]}]}
    assert await matched(api, world, "account", deep) == {"Cedar", "Dogwood"}
    contacts = {"all": [{"field": "email_consent", "op": "eq", "value": True},
                        {"any": [{"field": "account.status", "op": "in", "value": ["lead", "customer"]},
                                 {"field": "roles", "op": "has_any", "value": ["user"]}]}]}
    assert await matched(api, world, "contact", contacts) == {"Ann", "Dan", "Eve"}


async def test_visibility_per_role(api, world) -> None:
    everything = {"all": []}
    # rep1 owns Alder; Birch is shared; Dogwood unowned. Contacts: own/unowned ones or those of visible accounts.
    assert await matched(api, world, "account", everything, world.rep1.auth) == {"Alder", "Birch", "Dogwood"}
    assert await matched(api, world, "contact", everything, world.rep1.auth) == {"Ann", "Ben", "Dan"}
    consent = one("email_consent", "eq", True)
    assert await matched(api, world, "contact", consent, world.rep1.auth) == {"Ann", "Dan"}
    assert await matched(api, world, "contact", consent, world.rep2.auth) == {"Dan"}
    assert await matched(api, world, "contact", consent, world.viewer.auth) == {"Ann", "Dan", "Eve"}
    assert await matched(api, world, "account", one("owner_user_id", "eq", "me"), world.rep2.auth) == {
        "Birch", "Cedar"}
    # rep1 may not see rep2's deals on non-shared accounts; Birch is shared so its won deal counts
    assert await matched(api, world, "account", one("deal_status", "in", ["won", "lost"]), world.rep1.auth) == {
        "Birch"}


async def test_bad_filters_name_their_path(api, world) -> None:
    cases: list[tuple[str, Any, set[str]]] = [
        ("account", {"all": [{"field": "status", "op": "eq", "value": "vip"}]}, {"filter.all[0].value"}),
        ("account", {"all": [{"field": "nope", "op": "eq", "value": 1}]}, {"filter.all[0].field"}),
        ("account", {"all": [{"field": "status", "op": "gt", "value": "lead"}]}, {"filter.all[0].op"}),
        ("account", {"some": []}, {"filter"}),
        ("account", {"all": "x"}, {"filter.all"}),
        ("account", {"all": [{"field": "tags", "op": "has_any", "value": []},
                             {"any": [{"field": "custom.score", "op": "gt", "value": "ten"}]},
                             {"field": "custom.missing", "op": "eq", "value": 1},
                             {"field": "created_at", "op": "between", "value": ["2026-02-01", "2026-01-01"]}]},
         {"filter.all[0].value", "filter.all[1].any[0].value", "filter.all[2].field", "filter.all[3].value[1]"}),
        ("account", {"all": [{"field": "owner_user_id", "op": "in", "value": ["me", "not-an-id"]}]},
         {"filter.all[0].value[1]"}),
        ("account", {"all": [{"field": "deal_stage", "op": "eq", "value": "5b0e8a1e-7c9c-4b4e-9d3f-0d6c8a1e2f3a"}]},
         {"filter.all[0].value"}),
        ("account", {"all": [{"field": "status", "op": "eq", "value": "lead", "extra": 1}]}, {"filter.all[0].extra"}),
        ("account", {"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]}, {"filter.all[0].all[0].all[0].all[0]"}),
        ("account", {"all": [{"field": "status", "op": "eq", "value": "lead"}] * 51}, {"filter"}),
        ("contact", {"all": [{"field": "status", "op": "eq", "value": "lead"}]}, {"filter.all[0].field"}),
        ("contact", {"all": [{"field": "account.roles", "op": "has_any", "value": ["payer"]}]},
         {"filter.all[0].field"}),
        ("contact", {"all": [{"field": "email_consent", "op": "eq", "value": "yes"}]}, {"filter.all[0].value"}),
        ("contact", {"all": [{"field": "custom.lang", "op": "in", "value": ["ko", "fr"]}]},
         {"filter.all[0].value[1]"}),
        ("contact", {"all": [{"field": "account.custom.score", "op": "contains", "value": "1"}]},
         {"filter.all[0].op"}),
        ("contact", {"all": [7]}, {"filter.all[0]"}),
    ]
    for entity, filter_, fields in cases:
        for route in ("/preview", "/count"):
            response = await api.post(url(world.company, route), headers=world.company.auth,
                                      json={"entity": entity, "filter": filter_})
            assert error_fields(assert_problem(response, 422, "invalid_filter")) == fields, (filter_, response.text)
    wrong_entity = await api.post(url(world.company, "/preview"), headers=world.company.auth,
                                  json={"entity": "deal", "filter": {"all": []}})
    assert error_fields(assert_problem(wrong_entity, 422)) == {"entity"}


async def test_saved_dynamic_segment_crud_count_members_and_roles(api, world) -> None:
    company = world.company
    body = {"name": "Consenting", "entity": "contact", "kind": "dynamic",
            "filter": {"all": [{"field": "email_consent", "op": "eq", "value": True}]}}
    created = await api.post(url(company), headers={**world.rep1.auth, "Idempotency-Key": "seg-1"}, json=body)
    assert (created.status_code, created.headers["etag"]) == (201, 'W/"1"'), created.text
    segment = created.json()
    assert (segment["owner_user_id"], segment["is_shared"], segment["filter"]) == (
        str(world.rep1.user_id), False, body["filter"])
    again = await api.post(url(company), headers={**world.rep1.auth, "Idempotency-Key": "seg-1"}, json=body)
    assert again.json()["id"] == segment["id"]
    sid = segment["id"]
    count = await api.get(url(company, f"/{sid}/count"), headers=world.rep1.auth)
    assert count.json() == {"count": 2}  # Ann and Dan for rep1
    assert (await api.get(url(company, f"/{sid}/count"), headers=company.auth)).json() == {"count": 3}
    first = await api.get(url(company, f"/{sid}/members?limit=2"), headers=company.auth)
    page = first.json()
    assert [i["name"] for i in page["items"]] == ["Ann", "Dan"]
    assert page["entity"] == "contact"
    rest = await api.get(url(company, f"/{sid}/members?limit=2&cursor={page['next_cursor']}"), headers=company.auth)
    assert ([i["name"] for i in rest.json()["items"]], rest.json()["next_cursor"]) == (["Eve"], None)

    # private: rep2 and the viewer do not see it; shared: they read it (with their own visibility), not edit it
    for member in (world.rep2, world.viewer):
        assert_problem(await api.get(url(company, f"/{sid}"), headers=member.auth), 404, "segment_not_found")
    shared = await api.patch(url(company, f"/{sid}"), headers={**world.rep1.auth, "If-Match": 'W/"1"'},
                             json={"is_shared": True, "name": "Consenting contacts"})
    assert (shared.status_code, shared.headers["etag"]) == (200, 'W/"2"'), shared.text
    assert_problem(await api.patch(url(company, f"/{sid}"), headers={**world.rep1.auth, "If-Match": 'W/"1"'},
                                   json={"name": "x"}), 409, "version_conflict")
    assert (await api.get(url(company, f"/{sid}/count"), headers=world.rep2.auth)).json() == {"count": 1}
    assert (await api.get(url(company, f"/{sid}"), headers=world.viewer.auth)).status_code == 200
    for member in (world.rep2, world.viewer):
        assert_problem(await api.patch(url(company, f"/{sid}"), headers=member.auth, json={"name": "x"}), 403)
    assert_problem(await api.post(url(company), headers=world.viewer.auth, json=body), 403, "crm_read_only")
    listed = (await api.get(url(company, "?entity=contact"), headers=world.rep2.auth)).json()["items"]
    assert sid in {s["id"] for s in listed}
    # the manager (company owner) edits anyone's segment; a filter change is validated
    bad = await api.patch(url(company, f"/{sid}"), headers=company.auth,
                          json={"filter": {"all": [{"field": "email_consent", "op": "eq", "value": 1}]}})
    assert error_fields(assert_problem(bad, 422, "invalid_filter")) == {"filter.all[0].value"}
    narrowed = await api.patch(url(company, f"/{sid}"), headers=company.auth, json={"filter": {"all": [
        {"field": "email_consent", "op": "eq", "value": True}, {"field": "owner_user_id", "op": "is_null",
                                                               "value": True}]}})
    assert narrowed.status_code == 200, narrowed.text
    assert (await api.get(url(company, f"/{sid}/count"), headers=company.auth)).json() == {"count": 1}
    archived = await api.delete(url(company, f"/{sid}"), headers=world.rep1.auth)
    assert archived.status_code == 200
    assert archived.json()["archived_at"]
    assert sid not in {s["id"] for s in (await api.get(url(company), headers=world.rep1.auth)).json()["items"]}
    actions = await scalar(f'SELECT string_agg(action, \',\' ORDER BY id) FROM "{company.tenant.schema}".audit_log '
                           "WHERE record_type = 'segment' AND record_id = :i", i=sid)
    assert actions == "create,update,update,archive"


async def test_static_list_add_remove_and_rules(api, world) -> None:
    company = world.company
    made = await post(api, company, "segments", {"name": "Call list", "entity": "account", "kind": "static",
                                                 "is_shared": True}, auth=world.rep1.auth)
    sid = made["id"]
    assert made["filter"] is None
    added = await api.post(url(company, f"/{sid}/members"), headers=world.rep1.auth,
                           json={"record_ids": [world.ids["Alder"], world.ids["Birch"], world.ids["Alder"]]})
    assert added.json() == {"changed": 2, "version": 2}, added.text
    hidden = await api.post(url(company, f"/{sid}/members"), headers=world.rep1.auth,
                            json={"record_ids": [world.ids["Dogwood"], world.ids["Cedar"], world.ids["Ann"],
                                                 world.ids["Fir"], "nope"]})
    assert error_fields(assert_problem(hidden, 422)) == {"record_ids[4]"}
    hidden = await api.post(url(company, f"/{sid}/members"), headers=world.rep1.auth,
                            json={"record_ids": [world.ids["Dogwood"], world.ids["Cedar"], world.ids["Ann"],
                                                 world.ids["Fir"]]})
    # Cedar is rep2's private account, Ann a contact, Fir archived
    assert error_fields(assert_problem(hidden, 422)) == {"record_ids[1]", "record_ids[2]", "record_ids[3]"}
    await post(api, company, "segments", {"record_ids": [world.ids["Cedar"], world.ids["Elm"]]},
               suffix=f"/{sid}/members")
    assert (await api.get(url(company, f"/{sid}/count"), headers=company.auth)).json() == {"count": 4}
    assert (await api.get(url(company, f"/{sid}/count"), headers=world.rep1.auth)).json() == {"count": 2}
    names = [i["name"] for i in (await api.get(url(company, f"/{sid}/members"), headers=world.rep2.auth)).json()[
        "items"]]
    assert names == ["Birch", "Cedar"]
    assert_problem(await api.post(url(company, f"/{sid}/members"), headers=world.rep2.auth,
                                  json={"record_ids": [world.ids["Cedar"]]}), 403)
    removed = await api.request("DELETE", url(company, f"/{sid}/members"), headers=world.rep1.auth,
                                json={"record_ids": [world.ids["Birch"], world.ids["Dogwood"]]})
    assert removed.json() == {"changed": 1, "version": 4}, removed.text
    assert (await api.get(url(company, f"/{sid}/count"), headers=company.auth)).json() == {"count": 3}
    dynamic = await post(api, company, "segments", {"name": "Leads", "entity": "account", "kind": "dynamic",
                                                    "filter": {"all": []}})
    assert_problem(await api.post(url(company, f"/{dynamic['id']}/members"), headers=company.auth,
                                  json={"record_ids": [world.ids["Elm"]]}), 409, "segment_not_static")
    with_filter = await api.post(url(company), headers=company.auth, json={
        "name": "x", "entity": "account", "kind": "static", "filter": {"all": []}})
    assert error_fields(assert_problem(with_filter, 422)) == {"filter"}
    no_filter = await api.post(url(company), headers=company.auth, json={"name": "x", "entity": "account",
                                                                          "kind": "dynamic"})
    assert error_fields(assert_problem(no_filter, 422)) == {"filter"}


async def test_other_tenants_segments_do_not_exist(api, world, beta) -> None:
    company = world.company
    made = await post(api, company, "segments", {"name": "Alpha only", "entity": "account", "kind": "static"})
    sid = made["id"]
    for call in (api.get(url(beta, f"/{sid}"), headers=beta.auth),
                 api.get(url(beta, f"/{sid}/count"), headers=beta.auth),
                 api.get(url(beta, f"/{sid}/members"), headers=beta.auth),
                 api.patch(url(beta, f"/{sid}"), headers=beta.auth, json={"name": "x"}),
                 api.post(url(beta, f"/{sid}/members"), headers=beta.auth, json={"record_ids": [world.ids["Elm"]]}),
                 api.delete(url(beta, f"/{sid}"), headers=beta.auth)):
        assert_problem(await call, 404, "segment_not_found")
    for call in (api.get(url(company), headers=beta.auth), api.get(url(company, f"/{sid}"), headers=beta.auth),
                 api.post(url(company, "/preview"), headers=beta.auth,
                          json={"entity": "account", "filter": {"all": []}}),
                 api.post(url(company), headers=beta.auth, json={"name": "x", "entity": "account", "kind": "static"})):
        assert_problem(await call, 404, "tenant_not_found")
    assert "Alpha only" not in {s["name"] for s in (await api.get(url(beta), headers=beta.auth)).json()["items"]}
    mine = await post(api, beta, "segments", {"name": "Beta list", "entity": "account", "kind": "static"})
    other = await api.post(url(beta, f"/{mine['id']}/members"), headers=beta.auth,
                           json={"record_ids": [world.ids["Elm"]]})
    assert error_fields(assert_problem(other, 422)) == {"record_ids[0]"}
    everything = await api.post(url(beta, "/preview"), headers=beta.auth,
                                json={"entity": "account", "filter": {"all": []}})
    assert not set(world.ids.values()) & {i["id"] for i in everything.json()["items"]}


async def counts(company: Company) -> tuple[int, ...]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}')
                  for table in ("segments", "segment_members", "audit_log")])


async def test_failed_requests_write_nothing(api, world) -> None:
    company = world.company
    static = await post(api, company, "segments", {"name": "Keep", "entity": "contact", "kind": "static"})
    before = await counts(company)
    failures = [
        api.post(url(company), headers=company.auth, json={"name": "", "entity": "contact", "kind": "dynamic",
                                                           "filter": {"all": [{"field": "x", "op": "eq"}]}}),
        api.post(url(company), headers=company.auth, json={"name": "x", "entity": "deal", "kind": "static"}),
        api.post(url(company), headers=world.viewer.auth, json={"name": "x", "entity": "contact", "kind": "static"}),
        api.post(url(company, f"/{static['id']}/members"), headers=company.auth,
                 json={"record_ids": [world.ids["Ann"], world.ids["Alder"]]}),
        api.patch(url(company, f"/{static['id']}"), headers=company.auth, json={"filter": {"all": []}}),
        api.patch(url(company, f"/{static['id']}"), headers={**company.auth, "If-Match": 'W/"9"'},
                  json={"name": "Renamed"}),
    ]
    for call in failures:
        response = await call
        assert response.status_code in (403, 409, 422), response.text
    assert await counts(company) == before
    assert (await api.get(url(company, f"/{static['id']}"), headers=company.auth)).json()["name"] == "Keep"
