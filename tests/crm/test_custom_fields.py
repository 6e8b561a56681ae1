"""Custom fields: definitions (owner/admin only, ETag, archive), validation of each value type on accounts, contacts
and deals, required on create, type change / choice removal refused while in use, ``cf.*`` list filters equal to
hand-computed sets, audit of custom values, tenancy, and failed requests writing nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from backend.api.crm_custom_fields import CustomFieldController
from backend.api.crm_deals import DealController, PipelineController
from backend.app import create_app
from backend.domains.crm import accounts, custom_fields
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import Conflict, Invalid
from tenants.scope import shared_scope, tenant_scope
from tests.api.helpers import add_member, assert_problem, error_fields, fetch, hosted, scalar

CONTROLLERS = (("/api/v1/t/{tenant_slug:str}/custom-fields", CustomFieldController),
               ("/api/v1/t/{tenant_slug:str}/pipelines", PipelineController),
               ("/api/v1/t/{tenant_slug:str}/deals", DealController))


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    for prefix, controller in CONTROLLERS:
        if not any(route.path.startswith(prefix) for route in app.routes):  # app.py may register them already
            app.register(controller)
    async with hosted(app, "192.0.2.81", database) as client:
        yield client


def furl(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/custom-fields{suffix}"


def rurl(company, kind: str, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/{kind}{suffix}"


async def define(api, company, auth=None, **body) -> dict:
    response = await api.post(furl(company), headers=auth or company.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def standard_fields(api, company) -> dict[str, dict]:
    """One field of each type on accounts (``region`` is required)."""
    specs = [
        {"key": "notes_x", "label": "Extra notes", "type": "text"},
        {"key": "fleet_size", "label": "Fleet size", "type": "number"},
        {"key": "renewal_on", "label": "Renewal", "type": "date"},
        {"key": "tier", "label": "Tier", "type": "choice", "choices": ["gold", "silver", "bronze"]},
        {"key": "vip", "label": "VIP", "type": "bool"},
        {"key": "region", "label": "Region", "type": "text", "required": True},
    ]
    return {s["key"]: await define(api, company, entity="account", **s) for s in specs}


async def make_account(api, company, auth=None, **fields) -> dict:
    body = {"name": "Hanbit Trading", **fields}
    response = await api.post(rurl(company, "accounts"), headers=auth or company.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def counts(company) -> tuple[int, ...]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}')
                  for table in ("custom_fields", "accounts", "contacts", "deals", "audit_log")])


async def audit_changes(company, record_id: str) -> list[tuple[str, dict]]:
    rows = await fetch(f'SELECT action, changes FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_id = :r ORDER BY id", r=record_id)
    return [(r.action, r.changes) for r in rows]


# --- definitions -------------------------------------------------------------------------------------------------

async def test_definitions_crud_with_etags_positions_archive_and_audit(api, company) -> None:
    size = await api.post(furl(company), headers=company.auth, json={
        "entity": "account", "key": "fleet_size", "label": " Fleet size ", "type": "number"})
    assert (size.status_code, size.headers["etag"]) == (201, 'W/"1"')
    body = size.json()
    assert (body["label"], body["type"], body["choices"], body["required"], body["position"], body["version"]) == (
        "Fleet size", "number", [], False, 0, 1)
    tier = await define(api, company, entity="account", key="tier", label="Tier", type="choice",
                        choices=[" gold", "silver "])
    assert (tier["choices"], tier["position"]) == (["gold", "silver"], 1)
    person = await define(api, company, entity="contact", key="tier", label="Tier", type="bool", position=7)
    assert person["position"] == 7  # the same key on another record type is another field

    listed = await api.get(furl(company), headers=company.auth, params={"entity": "account"})
    assert [d["key"] for d in listed.json()["items"]] == ["fleet_size", "tier"]
    paged = await api.get(furl(company), headers=company.auth, params={"limit": 1})
    assert [d["key"] for d in paged.json()["items"]] == ["fleet_size"]
    rest = await api.get(furl(company), headers=company.auth,
                         params={"limit": 5, "cursor": paged.json()["next_cursor"]})
    assert [(d["entity"], d["key"]) for d in rest.json()["items"]] == [("account", "tier"), ("contact", "tier")]
    assert_problem(await api.get(furl(company), headers=company.auth, params={"entity": "ship"}), 422)

    one = await api.get(furl(company, f"/{body['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"]) == (200, 'W/"1"')
    renamed = await api.patch(furl(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"label": "Fleet (trucks)", "required": True, "position": 5})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.headers["etag"], renamed.json()["label"], renamed.json()["required"]) == (
        'W/"2"', "Fleet (trucks)", True)
    stale = await api.patch(furl(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"label": "x"})
    assert_problem(stale, 409, "version_conflict")
    same = await api.patch(furl(company, f"/{body['id']}"), headers=company.auth, json={"label": "Fleet (trucks)"})
    assert same.json()["version"] == 2  # no change, no new version

    archived = await api.delete(furl(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"2"'})
    assert (archived.status_code, archived.headers["etag"]) == (200, 'W/"3"')
    assert archived.json()["archived_at"]
    listed = await api.get(furl(company), headers=company.auth, params={"entity": "account"})
    assert [d["key"] for d in listed.json()["items"]] == ["tier"]
    everything = await api.get(furl(company), headers=company.auth, params={"entity": "account", "archived": "true"})
    assert [d["key"] for d in everything.json()["items"]] == ["tier", "fleet_size"]
    again = await api.post(furl(company), headers=company.auth, json={
        "entity": "account", "key": "fleet_size", "label": "Again", "type": "text"})
    assert error_fields(assert_problem(again, 409, "custom_field_key_taken")) == {"key"}
    restored = await api.patch(furl(company, f"/{body['id']}"), headers=company.auth, json={"archived": False})
    assert (restored.json()["archived_at"], restored.json()["version"]) == (None, 4)
    assert [a for a, _ in await audit_changes(company, body["id"])] == ["create", "update", "archive", "restore"]
    assert (await audit_changes(company, body["id"]))[1][1] == {
        "label": ["Fleet size", "Fleet (trucks)"], "required": [False, True], "position": [0, 5]}


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"entity", "key", "label", "type"}),
    ({"entity": "invoice", "key": "x", "label": "X", "type": "text"}, {"entity"}),
    ({"entity": "account", "key": "Size", "label": "X", "type": "text"}, {"key"}),
    ({"entity": "account", "key": "9lives", "label": "X", "type": "text"}, {"key"}),
    ({"entity": "account", "key": "a" * 41, "label": "X", "type": "text"}, {"key"}),
    ({"entity": "account", "key": "size-x", "label": "X", "type": "text"}, {"key"}),
    ({"entity": "account", "key": "x", "label": "", "type": "text"}, {"label"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "money"}, {"type"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "choice"}, {"choices"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "choice", "choices": []}, {"choices"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "choice", "choices": ["a", "a "]}, {"choices"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "choice", "choices": ["a" * 81]}, {"choices"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "text", "choices": ["a"]}, {"choices"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "text", "position": -1}, {"position"}),
    ({"entity": "account", "key": "x", "label": "X", "type": "text", "archived": True}, {"archived"}),
])
async def test_invalid_definitions_are_422_and_write_nothing(api, company, body, fields) -> None:
    before = await counts(company)
    assert error_fields(assert_problem(await api.post(furl(company), headers=company.auth, json=body), 422)) == fields
    assert await counts(company) == before


async def test_only_owners_and_admins_define_fields_everyone_reads(api, company) -> None:
    admin, manager, rep, viewer = [await add_member(company.tenant.id, role)
                                   for role in ("admin", "manager", "rep", "viewer")]
    made = await define(api, company, auth=admin.auth, entity="deal", key="segment", label="Segment", type="text")
    before = await counts(company)
    for member in (manager, rep, viewer):
        refused = await api.post(furl(company), headers=member.auth,
                                 json={"entity": "deal", "key": "other", "label": "Other", "type": "text"})
        assert_problem(refused, 403, "crm_read_only")
        assert_problem(await api.patch(furl(company, f"/{made['id']}"), headers=member.auth, json={"label": "x"}),
                       403, "crm_read_only")
        assert_problem(await api.delete(furl(company, f"/{made['id']}"), headers=member.auth), 403, "crm_read_only")
        assert (await api.get(furl(company, f"/{made['id']}"), headers=member.auth)).status_code == 200
        assert [d["key"] for d in (await api.get(furl(company), headers=member.auth)).json()["items"]] == ["segment"]
    assert await counts(company) == before
    changed = await api.patch(furl(company, f"/{made['id']}"), headers=admin.auth, json={"label": "Market segment"})
    assert changed.json()["label"] == "Market segment"


# --- values ------------------------------------------------------------------------------------------------------

async def test_each_type_is_validated_and_stored_exactly(api, company) -> None:
    await standard_fields(api, company)
    created = await api.post(rurl(company, "accounts"), headers=company.auth, json={"name": "Typed Co", "custom": {
        "notes_x": "  Met at COEX\nline two ", "fleet_size": "12.50", "renewal_on": "2027-03-31", "tier": " gold ",
        "vip": True, "region": "Seoul"}})
    assert created.status_code == 201, created.text
    assert created.json()["custom"] == {"notes_x": "Met at COEX\nline two", "fleet_size": "12.5",
                                        "renewal_on": "2027-03-31", "tier": "gold", "vip": True, "region": "Seoul"}
    stored = await scalar(f'SELECT custom FROM "{company.tenant.schema}".accounts WHERE id = :i',
                          i=created.json()["id"])
    assert stored["fleet_size"] == "12.5"  # a JSON string: exact, never a float

    for sent, kept in ((100, "100"), (99.5, "99.5"), ("1E+2", "100"), ("-0.000", "0"), ("0.1234567890", "0.123456789"),
                       ("999999999999999999.5", "999999999999999999.5")):
        account = await make_account(api, company, name=f"n{sent}", custom={"region": "x", "fleet_size": sent})
        assert account["custom"]["fleet_size"] == kept, sent

    bad = {"notes_x": "x" * 1001, "fleet_size": "twelve", "renewal_on": "31/12/2026", "tier": "platinum",
           "vip": "yes", "region": "Seoul", "nope": 1}
    problem = assert_problem(await api.post(rurl(company, "accounts"), headers=company.auth,
                                            json={"name": "", "custom": bad}), 422)
    assert error_fields(problem) == {"name", "custom.notes_x", "custom.fleet_size", "custom.renewal_on",
                                     "custom.tier", "custom.vip", "custom.nope"}
    reasons = {e["field"]: e["reason"] for e in problem["errors"]}
    assert reasons["custom.nope"] == "no such custom field"
    assert reasons["custom.tier"] == "one of: gold, silver, bronze"
    for field, value in (("fleet_size", True), ("fleet_size", "1e18"), ("fleet_size", "0.12345678901"),
                         ("fleet_size", "NaN"), ("fleet_size", [1]), ("renewal_on", "2026-02-30"),
                         ("renewal_on", 20261231), ("renewal_on", "2026-12-31T10:00"), ("notes_x", 5),
                         ("notes_x", "bell\u0007"), ("vip", 1), ("tier", 3)):
        response = await api.post(rurl(company, "accounts"), headers=company.auth,
                                  json={"name": "x", "custom": {"region": "x", field: value}})
        assert error_fields(assert_problem(response, 422)) == {f"custom.{field}"}, (field, value)
    not_object = await api.post(rurl(company, "accounts"), headers=company.auth, json={"name": "x", "custom": [1]})
    assert error_fields(assert_problem(not_object, 422)) == {"custom"}


async def test_required_on_create_and_merging_patch_with_audit(api, company) -> None:
    await standard_fields(api, company)
    missing = await api.post(rurl(company, "accounts"), headers=company.auth, json={"name": "No Region"})
    assert error_fields(assert_problem(missing, 422)) == {"custom.region"}
    blank = await api.post(rurl(company, "accounts"), headers=company.auth,
                           json={"name": "Blank", "custom": {"region": "  "}})
    assert error_fields(assert_problem(blank, 422)) == {"custom.region"}

    account = await make_account(api, company, custom={"region": "Busan", "tier": "silver", "fleet_size": "7"})
    changed = await api.patch(rurl(company, "accounts", f"/{account['id']}"),
                              headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"custom": {"vip": False, "fleet_size": None, "tier": "gold"}})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["custom"], changed.json()["version"]) == (
        {"region": "Busan", "tier": "gold", "vip": False}, 2)
    untouched = await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                                json={"status": "prospect"})
    assert untouched.json()["custom"] == changed.json()["custom"]
    cleared = await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                              json={"custom": {"region": None}})
    assert error_fields(assert_problem(cleared, 422)) == {"custom.region"}
    trail = await audit_changes(company, account["id"])
    assert [action for action, _ in trail] == ["create", "update", "update"]
    assert {k: v for k, v in trail[0][1].items() if k.startswith("custom.")} == {
        "custom.region": [None, "Busan"], "custom.tier": [None, "silver"], "custom.fleet_size": [None, "7"]}
    assert trail[1][1] == {"custom.fleet_size": ["7", None], "custom.tier": ["silver", "gold"],
                           "custom.vip": [None, False]}
    assert trail[2][1] == {"status": ["lead", "prospect"]}

    # A field made required later is enforced on new records only; old records can still be edited.
    late = await define(api, company, entity="account", key="sector", label="Sector", type="text", required=True)
    assert (await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                            json={"name": "Renamed"})).status_code == 200
    assert error_fields(assert_problem(await api.post(rurl(company, "accounts"), headers=company.auth,
                                                      json={"name": "x", "custom": {"region": "x"}}), 422)) == {
        "custom.sector"}
    # An archived field takes no new values, keeps the stored ones and is no longer required.
    await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                    json={"custom": {"sector": "Retail"}})
    await api.delete(furl(company, f"/{late['id']}"), headers=company.auth)
    refused = await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                              json={"custom": {"sector": "Logistics"}})
    assert [(e["field"], e["reason"]) for e in assert_problem(refused, 422)["errors"]] == [
        ("custom.sector", "this custom field is archived")]
    kept = await api.get(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth)
    assert kept.json()["custom"]["sector"] == "Retail"
    assert (await api.post(rurl(company, "accounts"), headers=company.auth,
                           json={"name": "x", "custom": {"region": "x"}})).status_code == 201


async def test_contacts_and_deals_carry_custom_values(api, company) -> None:
    await define(api, company, entity="contact", key="birthday", label="Birthday", type="date")
    await define(api, company, entity="deal", key="units", label="Units", type="number", required=True)
    await define(api, company, entity="deal", key="urgent", label="Urgent", type="bool")
    contact = await api.post(rurl(company, "contacts"), headers=company.auth,
                             json={"full_name": "Kim Minji", "custom": {"birthday": "1990-05-17"}})
    assert (contact.status_code, contact.json()["custom"]) == (201, {"birthday": "1990-05-17"})
    wrong_entity = await api.post(rurl(company, "contacts"), headers=company.auth,
                                  json={"full_name": "Lee", "custom": {"units": "5"}})
    assert error_fields(assert_problem(wrong_entity, 422)) == {"custom.units"}
    bad_day = await api.patch(rurl(company, "contacts", f"/{contact.json()['id']}"), headers=company.auth,
                              json={"custom": {"birthday": "1990-02-30"}, "job_title": "CFO"})
    assert error_fields(assert_problem(bad_day, 422)) == {"custom.birthday"}
    changed = await api.patch(rurl(company, "contacts", f"/{contact.json()['id']}"), headers=company.auth,
                              json={"custom": {"birthday": None}})
    assert (changed.json()["custom"], changed.json()["version"]) == ({}, 2)
    assert (await audit_changes(company, contact.json()["id"]))[-1] == (
        "update", {"custom.birthday": ["1990-05-17", None]})

    account = await make_account(api, company)
    no_units = await api.post(rurl(company, "deals"), headers=company.auth,
                              json={"title": "Fleet", "account_id": account["id"]})
    assert error_fields(assert_problem(no_units, 422)) == {"custom.units"}
    deal = await api.post(rurl(company, "deals"), headers=company.auth, json={
        "title": "Fleet", "account_id": account["id"], "custom": {"units": 40, "urgent": True}})
    assert (deal.status_code, deal.json()["custom"]) == (201, {"units": "40", "urgent": True})
    patched = await api.patch(rurl(company, "deals", f"/{deal.json()['id']}"), headers=company.auth,
                              json={"custom": {"units": "42.0"}})
    assert patched.json()["custom"] == {"units": "42", "urgent": True}
    assert (await audit_changes(company, deal.json()["id"]))[-1] == ("update", {"custom.units": ["40", "42"]})


async def test_validate_values_in_the_service_collects_every_problem(api, company) -> None:
    await standard_fields(api, company)
    async with tenant_scope(company.tenant) as uow:
        check = Fields()
        merged = await custom_fields.validate_values(uow, "account", {"fleet_size": "3.10", "tier": "lead"},
                                                     check=check)
        assert merged == {"fleet_size": "3.1"}
        assert {(e.field, e.reason) for e in check.errors} == {
            ("custom.tier", "one of: gold, silver, bronze"), ("custom.region", "required")}
        merged = await custom_fields.validate_values(uow, "account", {"vip": True}, current={"region": "x"})
        assert merged == {"region": "x", "vip": True}
        with pytest.raises(Invalid) as raised:
            await custom_fields.validate_values(uow, "account", {"region": None}, current={"region": "x"})
        assert [(e.field, e.reason) for e in raised.value.errors] == [("custom.region", "required")]
        assert custom_fields.changes({"a": 1, "custom.x": "1"}, {"a": 1}) == {"custom.x": ["1", None]}


# --- changing definitions that hold values -----------------------------------------------------------------------

async def test_type_change_and_choice_removal_are_refused_while_in_use(api, company) -> None:
    fields = await standard_fields(api, company)
    tier, size = fields["tier"], fields["fleet_size"]
    account = await make_account(api, company, custom={"region": "x", "tier": "silver", "fleet_size": "3"})
    before = await counts(company)

    retyped = await api.patch(furl(company, f"/{size['id']}"), headers=company.auth, json={"type": "text"})
    body = assert_problem(retyped, 409, "custom_field_in_use")
    assert error_fields(body) == {"type"}
    dropped = await api.patch(furl(company, f"/{tier['id']}"), headers=company.auth,
                              json={"choices": ["gold", "bronze"]})
    assert [(e["field"], e["reason"]) for e in assert_problem(dropped, 409, "choice_in_use")["errors"]] == [
        ("choices", "still in use: silver")]
    renamed_choice = await api.patch(furl(company, f"/{tier['id']}"), headers=company.auth,
                                     json={"choices": ["gold", "Silver", "bronze"]})
    assert_problem(renamed_choice, 409, "choice_in_use")
    to_text = await api.patch(furl(company, f"/{tier['id']}"), headers=company.auth, json={"type": "text"})
    assert_problem(to_text, 409, "custom_field_in_use")
    assert await counts(company) == before
    assert (await api.get(furl(company, f"/{tier['id']}"), headers=company.auth)).json()["version"] == 1

    unused = await api.patch(furl(company, f"/{tier['id']}"), headers=company.auth,
                             json={"choices": ["silver", "gold", "platinum"], "label": "Customer tier"})
    assert unused.status_code == 200, unused.text
    assert (unused.json()["choices"], unused.json()["label"]) == (["silver", "gold", "platinum"], "Customer tier")
    no_values = await api.patch(furl(company, f"/{fields['renewal_on']['id']}"), headers=company.auth,
                                json={"type": "choice", "choices": ["q1", "q2"]})
    assert (no_values.status_code, no_values.json()["type"]) == (200, "choice")
    back = await api.patch(furl(company, f"/{no_values.json()['id']}"), headers=company.auth, json={"type": "bool"})
    assert (back.json()["type"], back.json()["choices"]) == ("bool", [])
    for bad, field in (({"key": "other"}, "key"), ({"entity": "deal"}, "entity"), ({"choices": []}, "choices"),
                       ({"type": "choice"}, "choices")):
        target = tier if field == "choices" and "type" not in bad else size
        response = await api.patch(furl(company, f"/{target['id']}"), headers=company.auth, json=bad)
        assert error_fields(assert_problem(response, 422)) == {field}, bad

    # Once the value is gone, the type may change.
    await api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                    json={"custom": {"fleet_size": None}})
    assert (await api.patch(furl(company, f"/{size['id']}"), headers=company.auth,
                            json={"type": "text"})).json()["type"] == "text"


async def _wait_until_blocked(pid: int) -> None:
    """Poll PostgreSQL until backend ``pid`` waits on a lock (observable state, bounded)."""
    for _ in range(500):
        async with shared_scope() as probe:
            waiting = (await probe.session.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})).scalar()
        if waiting == "Lock":
            return
        await asyncio.sleep(0.01)  # polling interval of a state check, not a synchronisation guess
    raise AssertionError(f"backend {pid} never blocked on a lock")


async def test_a_type_change_waits_for_a_concurrent_value_write_and_then_sees_it(api, company) -> None:
    size = await define(api, company, entity="account", key="size", label="Size", type="number")
    owner = CrmActor("owner", company.user_id)
    pid: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def retype() -> None:
        async with tenant_scope(company.tenant) as uow:
            pid.set_result((await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await custom_fields.update(uow, owner, uuid.UUID(size["id"]), {"type": "text"})

    async with tenant_scope(company.tenant) as writer:
        await accounts.create(writer, owner, {"name": "Racing Co", "custom": {"size": "5"}})
        change = asyncio.create_task(retype())
        await _wait_until_blocked(await pid)  # the definition is share-locked by the uncommitted write
    with pytest.raises(Conflict) as raised:
        await change
    assert raised.value.code == "custom_field_in_use"
    assert (await api.get(furl(company, f"/{size['id']}"), headers=company.auth)).json()["type"] == "number"


# --- filters -----------------------------------------------------------------------------------------------------

async def _ids(api, company, kind: str, params: dict | list, auth=None) -> set[str]:
    response = await api.get(rurl(company, kind), headers=auth or company.auth, params=params)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_filters_return_exactly_the_matching_records(api, company) -> None:
    await standard_fields(api, company)
    rows = {
        "a": {"region": "Seoul", "tier": "gold", "fleet_size": "12.5", "renewal_on": "2027-01-15", "vip": True},
        "b": {"region": "Seoul", "tier": "silver", "fleet_size": "50", "renewal_on": "2027-06-30", "vip": False},
        "c": {"region": "Busan", "tier": "gold", "fleet_size": "9.99", "vip": True},
        "d": {"region": "Busan", "fleet_size": "-3", "renewal_on": "2026-12-31"},
        "e": {"region": "Seoul Metro", "tier": "bronze", "renewal_on": "2027-01-15"},
    }
    made = {name: (await make_account(api, company, name=f"Acct {name}", custom=custom))["id"]
            for name, custom in rows.items()}

    def expect(*names: str) -> set[str]:
        return {made[n] for n in names}

    cases = [
        ({"cf.tier": "gold"}, expect("a", "c")),
        ({"cf.region": "Seoul"}, expect("a", "b")),  # exact, not a prefix
        ({"cf.vip": "true"}, expect("a", "c")),
        ({"cf.vip": "false"}, expect("b")),
        ({"cf.fleet_size": "12.50"}, expect("a")),  # compared as numbers, canonical form
        ({"cf.fleet_size.gte": "10"}, expect("a", "b")),
        ({"cf.fleet_size.lte": "9.99"}, expect("c", "d")),
        ({"cf.fleet_size.gte": "-3", "cf.fleet_size.lte": "12.5"}, expect("a", "c", "d")),
        ({"cf.renewal_on.gte": "2027-01-01", "cf.renewal_on.lte": "2027-03-31"}, expect("a", "e")),
        ({"cf.renewal_on": "2026-12-31"}, expect("d")),
        ({"cf.tier": "gold", "cf.region": "Busan"}, expect("c")),
        ({"cf.tier": "gold", "status": "customer"}, set()),
        ({"cf.tier": "silver", "cf.fleet_size.lte": "10"}, set()),
    ]
    for params, expected in cases:
        assert await _ids(api, company, "accounts", params) == expected, params

    rep = await add_member(company.tenant.id, "rep")
    own = await make_account(api, company, auth=rep.auth, name="Rep gold", custom={"region": "x", "tier": "gold"})
    assert await _ids(api, company, "accounts", {"cf.tier": "gold"}, auth=rep.auth) == {own["id"]}

    for params, field in (({"cf.nope": "1"}, "cf.nope"), ({"cf.tier.gte": "gold"}, "cf.tier.gte"),
                          ({"cf.fleet_size.between": "1"}, "cf.fleet_size.between"),
                          ({"cf.fleet_size": "many"}, "cf.fleet_size"), ({"cf.tier": "platinum"}, "cf.tier"),
                          ({"cf.renewal_on.lte": "soon"}, "cf.renewal_on.lte"), ({"cf.vip": "yes"}, "cf.vip"),
                          ({"cf.region": ""}, "cf.region"), ({"cf.Tier": "gold"}, "cf.Tier")):
        response = await api.get(rurl(company, "accounts"), headers=company.auth, params=params)
        assert error_fields(assert_problem(response, 400, "invalid_filter")) == {field}, params
    too_many = [("cf.tier", "gold")] * 21
    assert_problem(await api.get(rurl(company, "accounts"), headers=company.auth, params=too_many), 400,
                   "invalid_filter")


async def test_contact_and_deal_lists_filter_on_their_own_fields(api, company) -> None:
    await define(api, company, entity="contact", key="language", label="Language", type="choice",
                 choices=["ko", "en", "ja"])
    await define(api, company, entity="deal", key="units", label="Units", type="number")
    await define(api, company, entity="deal", key="tender_on", label="Tender date", type="date")
    people = {}
    for name, language in (("Kim", "ko"), ("Lee", "ko"), ("Smith", "en"), ("Tanaka", None)):
        custom = {"language": language} if language else {}
        response = await api.post(rurl(company, "contacts"), headers=company.auth,
                                  json={"full_name": name, "custom": custom})
        assert response.status_code == 201, response.text
        people[name] = response.json()["id"]
    assert await _ids(api, company, "contacts", {"cf.language": "ko"}) == {people["Kim"], people["Lee"]}
    assert await _ids(api, company, "contacts", {"cf.language": "ja"}) == set()
    assert error_fields(assert_problem(await api.get(rurl(company, "contacts"), headers=company.auth,
                                                     params={"cf.units": "1"}), 400)) == {"cf.units"}

    account = await make_account(api, company)
    deals = {}
    for title, units, day in (("d1", "5", "2027-02-01"), ("d2", "15.5", "2027-03-01"), ("d3", None, "2027-04-01"),
                              ("d4", "100", None)):
        custom = {k: v for k, v in (("units", units), ("tender_on", day)) if v is not None}
        response = await api.post(rurl(company, "deals"), headers=company.auth,
                                  json={"title": title, "account_id": account["id"], "custom": custom})
        assert response.status_code == 201, response.text
        deals[title] = response.json()["id"]
    assert await _ids(api, company, "deals", {"cf.units.gte": "5", "cf.units.lte": "15.5"}) == {
        deals["d1"], deals["d2"]}
    assert await _ids(api, company, "deals", {"cf.units.gte": "15.51"}) == {deals["d4"]}
    assert await _ids(api, company, "deals", {"cf.tender_on.gte": "2027-03-01"}) == {deals["d2"], deals["d3"]}
    assert await _ids(api, company, "deals", {"cf.units": "100.00"}) == {deals["d4"]}
    assert error_fields(assert_problem(await api.get(rurl(company, "deals"), headers=company.auth,
                                                     params={"cf.language": "ko"}), 400)) == {"cf.language"}


# --- tenancy and failures ----------------------------------------------------------------------------------------

async def test_other_tenants_fields_do_not_exist(api, alpha, beta) -> None:
    field = await define(api, alpha, entity="account", key="alpha_only", label="Alpha only", type="text")
    for call in (api.get(furl(beta, f"/{field['id']}"), headers=beta.auth),
                 api.patch(furl(beta, f"/{field['id']}"), headers=beta.auth, json={"label": "x"}),
                 api.delete(furl(beta, f"/{field['id']}"), headers=beta.auth)):
        assert_problem(await call, 404, "custom_field_not_found")
    for call in (api.get(furl(alpha), headers=beta.auth), api.get(furl(alpha, f"/{field['id']}"), headers=beta.auth),
                 api.post(furl(alpha), headers=beta.auth,
                          json={"entity": "account", "key": "x", "label": "X", "type": "text"}),
                 api.get(rurl(alpha, "accounts"), headers=beta.auth, params={"cf.alpha_only": "x"})):
        assert_problem(await call, 404, "tenant_not_found")
    assert "alpha_only" not in {d["key"] for d in (await api.get(furl(beta), headers=beta.auth)).json()["items"]}
    foreign_key = await api.post(rurl(beta, "accounts"), headers=beta.auth,
                                 json={"name": "Beta Co", "custom": {"alpha_only": "x"}})
    assert error_fields(assert_problem(foreign_key, 422)) == {"custom.alpha_only"}
    assert error_fields(assert_problem(await api.get(rurl(beta, "accounts"), headers=beta.auth,
                                                     params={"cf.alpha_only": "x"}), 400)) == {"cf.alpha_only"}


async def test_failed_requests_write_nothing(api, company) -> None:
    fields = await standard_fields(api, company)
    account = await make_account(api, company, custom={"region": "x", "tier": "gold"})
    contact = await api.post(rurl(company, "contacts"), headers=company.auth, json={"full_name": "Kim"})
    before = await counts(company)
    failures = [
        (api.post(furl(company), headers=company.auth, json={"entity": "account", "key": "Bad Key", "label": "x",
                                                             "type": "text"}), 422),
        (api.post(furl(company), headers=company.auth, json={"entity": "account", "key": "tier", "label": "x",
                                                             "type": "text"}), 409),
        (api.patch(furl(company, f"/{fields['tier']['id']}"), headers=company.auth, json={"choices": ["silver"]}), 409),
        (api.patch(furl(company, f"/{fields['tier']['id']}"), headers={**company.auth, "If-Match": 'W/"5"'},
                   json={"label": "x"}), 409),
        (api.post(rurl(company, "accounts"), headers=company.auth, json={"name": "x"}), 422),
        (api.patch(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth,
                   json={"name": "Renamed", "custom": {"fleet_size": "x"}}), 422),
        (api.patch(rurl(company, "contacts", f"/{contact.json()['id']}"), headers=company.auth,
                   json={"job_title": "CEO", "custom": {"nope": 1}}), 422),
        (api.get(rurl(company, "accounts"), headers=company.auth, params={"cf.nope": "1"}), 400),
    ]
    for call, status in failures:
        assert_problem(await call, status)
    assert await counts(company) == before
    again = await api.get(rurl(company, "accounts", f"/{account['id']}"), headers=company.auth)
    assert (again.json()["name"], again.json()["custom"], again.json()["version"]) == (
        "Hanbit Trading", {"region": "x", "tier": "gold"}, 1)


async def test_idempotent_definition(api, company) -> None:
    headers = {**company.auth, "Idempotency-Key": "cf-1"}
    body = {"entity": "deal", "key": "units", "label": "Units", "type": "number"}
    first = await api.post(furl(company), headers=headers, json=body)
    again = await api.post(furl(company), headers=headers, json=body)
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert first.json() == again.json()
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".custom_fields') == 1
