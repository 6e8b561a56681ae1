"""Interactions API: kinds and their fields, NUMERIC coordinates, links to contact and deal on the same account,
occurred_at rules, author/manager edits, visibility through the account, filters and keyset pages, audit, tenancy,
failed requests writing nothing, Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backend.domains.crm import interactions
from tenants.scope import tenant_scope
from tests.api.helpers import add_member, assert_problem, error_fields, scalar
from tests.crm.activity_helpers import (
    audit_actions,
    base,
    counts,
    hosted_api,
    make_account,
    make_contact,
    make_deal,
    make_interaction,
    set_user_zone,
)

TABLES = ("interactions", "audit_log")


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    async for client in hosted_api(settings, database, "192.0.2.81"):
        yield client


def url(company, suffix: str = "") -> str:
    return base(company, "interactions") + suffix


async def test_log_read_change_archive_with_etags_and_audit(api, company) -> None:
    account = await make_account(api, company)
    contact = await make_contact(api, company, account)
    deal = await make_deal(api, company, account)
    made = await api.post(url(company), headers=company.auth, json={
        "kind": "call", "account_id": account["id"], "contact_id": contact["id"], "deal_id": deal["id"],
        "direction": "outbound", "duration_seconds": 420, "subject": "  Price check ", "body": "Wants 5% off"})
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == 'W/"1"'
    call = made.json()
    assert (call["kind"], call["direction"], call["duration_seconds"], call["subject"], call["source"]) == (
        "call", "outbound", 420, "Price check", "api")
    assert (call["author_user_id"], call["author_api_key_id"], call["version"]) == (str(company.user_id), None, 1)
    assert abs(datetime.fromisoformat(call["occurred_at"]) - datetime.now(UTC)) < timedelta(minutes=1)

    one = await api.get(url(company, f"/{call['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()) == (200, 'W/"1"', call)
    changed = await api.patch(url(company, f"/{call['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"duration_seconds": 600, "occurred_at": "2026-03-02T10:00:00+09:00"})
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["duration_seconds"], changed.json()["occurred_at"]) == (
        'W/"2"', 600, "2026-03-02T01:00:00Z")
    stale = await api.patch(url(company, f"/{call['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"subject": "x"})
    assert_problem(stale, 409, "version_conflict")
    archived = await api.delete(url(company, f"/{call['id']}"), headers={**company.auth, "If-Match": 'W/"2"'})
    assert (archived.status_code, archived.headers["etag"], bool(archived.json()["archived_at"])) == (
        200, 'W/"3"', True)
    assert (await api.get(url(company), headers=company.auth)).json()["items"] == []
    with_archived = await api.get(url(company), headers=company.auth, params={"archived": "true"})
    assert [i["id"] for i in with_archived.json()["items"]] == [call["id"]]
    assert await audit_actions(company, "interaction", call["id"]) == ["create", "update", "archive"]
    history = await api.get(base(company, "audit"), headers=company.auth,
                            params={"record": f"interaction:{call['id']}"})
    assert history.status_code == 200, history.text
    assert history.json()["items"][1]["changes"]["duration_seconds"] == [420, 600]


async def test_every_kind_with_its_own_fields(api, company) -> None:
    account = await make_account(api, company)
    visit = await make_interaction(api, company, account, kind="visit", latitude="37.5665", longitude=126.978,
                                   address="Sejong-daero 110, Seoul", subject="Site visit", body=None)
    assert (visit["latitude"], visit["longitude"], visit["address"]) == ("37.566500", "126.978000",
                                                                        "Sejong-daero 110, Seoul")
    stored = await scalar(f'SELECT latitude FROM "{company.tenant.schema}".interactions WHERE id = :i', i=visit["id"])
    assert str(stored) == "37.566500"
    precise = await make_interaction(api, company, account, kind="visit", latitude="-33.86881234",
                                     longitude="151.2092995", body=None)
    assert (precise["latitude"], precise["longitude"]) == ("-33.868812", "151.209300")
    for kind, extra in (("meeting", {}), ("sms", {"direction": "inbound"}), ("email", {"direction": "outbound"}),
                        ("email", {}), ("note", {"source": "bot"})):
        made = await make_interaction(api, company, account, kind=kind, **extra)
        assert (made["kind"], made["direction"]) == (kind, extra.get("direction"))
    assert (await make_interaction(api, company, account, source="email"))["source"] == "email"


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"kind", "account_id"}),
    ({"kind": "chat"}, {"kind"}),
    ({"kind": "call"}, {"direction"}),
    ({"kind": "call", "direction": "sideways"}, {"direction"}),
    ({"kind": "call", "direction": "inbound", "duration_seconds": -1}, {"duration_seconds"}),
    ({"kind": "call", "direction": "inbound", "duration_seconds": 90_000}, {"duration_seconds"}),
    ({"kind": "meeting", "duration_seconds": 60, "direction": "inbound"}, {"duration_seconds", "direction"}),
    ({"kind": "meeting", "latitude": "10", "longitude": "10", "address": "x"}, {"latitude", "longitude", "address"}),
    ({"kind": "visit", "latitude": "90.5", "longitude": "10"}, {"latitude"}),
    ({"kind": "visit", "latitude": "10", "longitude": "-180.01"}, {"longitude"}),
    ({"kind": "visit", "latitude": "north", "longitude": "10"}, {"latitude"}),
    ({"kind": "visit", "latitude": "10"}, {"longitude"}),
    ({"kind": "note"}, {"body"}),
    ({"kind": "note", "body": "x", "source": "fax"}, {"source"}),
    ({"kind": "note", "body": "x", "subject": "s" * 201}, {"subject"}),
    ({"kind": "meeting", "occurred_at": "2026-05-01T14:30:00"}, {"occurred_at"}),
    ({"kind": "meeting", "occurred_at": "FUTURE"}, {"occurred_at"}),
])
async def test_field_errors(api, alpha, body, fields) -> None:
    account = await make_account(api, alpha, name="Validation Co")
    if body.get("occurred_at") == "FUTURE":
        body = {**body, "occurred_at": (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat()}
    payload = {"account_id": account["id"], **body} if body else {}
    before = await counts(alpha, *TABLES)
    response = await api.post(url(alpha), headers=alpha.auth, json=payload)
    assert error_fields(assert_problem(response, 422)) == fields, response.text
    assert await counts(alpha, *TABLES) == before


async def test_occurred_at_up_to_a_day_ahead_and_kind_changes_checked_whole(api, company) -> None:
    account = await make_account(api, company)
    soon = (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    planned = await make_interaction(api, company, account, kind="meeting", occurred_at=soon)
    assert datetime.fromisoformat(planned["occurred_at"]) > datetime.now(UTC)
    call = await make_interaction(api, company, account, kind="call", direction="inbound", body=None)
    to_visit = await api.patch(url(company, f"/{call['id']}"), headers=company.auth, json={"kind": "visit"})
    assert error_fields(assert_problem(to_visit, 422)) == {"kind"}  # the stored direction does not fit a visit
    fixed = await api.patch(url(company, f"/{call['id']}"), headers=company.auth,
                            json={"kind": "visit", "direction": None, "latitude": 55.7558, "longitude": 37.6173})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["kind"], fixed.json()["direction"], fixed.json()["latitude"]) == ("visit", None, "55.755800")
    assert_problem(await api.patch(url(company, f"/{call['id']}"), headers=company.auth,
                                   json={"occurred_at": None}), 422)


async def test_contact_and_deal_must_be_on_the_same_account(api, company) -> None:
    account, other = await make_account(api, company), await make_account(api, company, name="Other Co")
    theirs = await make_contact(api, company, other, full_name="Ivan Petrov")
    free = await make_contact(api, company, None, full_name="Free Agent")
    their_deal = await make_deal(api, company, other)
    for field, value in (("contact_id", theirs["id"]), ("deal_id", their_deal["id"]),
                         ("contact_id", "00000000-0000-0000-0000-000000000001")):
        response = await api.post(url(company), headers=company.auth,
                                  json={"kind": "note", "body": "x", "account_id": account["id"], field: value})
        assert error_fields(assert_problem(response, 422)) == {field}, (field, response.text)
    linked = await make_interaction(api, company, account, contact_id=free["id"])
    assert linked["contact_id"] == free["id"]  # a contact without an account may be named anywhere
    moved = await api.patch(url(company, f"/{linked['id']}"), headers=company.auth, json={"account_id": other["id"]})
    assert moved.json()["account_id"] == other["id"]
    on_deal = await make_interaction(api, company, other, deal_id=their_deal["id"])
    away = await api.patch(url(company, f"/{on_deal['id']}"), headers=company.auth, json={"account_id": account["id"]})
    assert error_fields(assert_problem(away, 422)) == {"deal_id"}
    archived = await make_account(api, company, name="Gone Co")
    await api.delete(base(company, f"accounts/{archived['id']}"), headers=company.auth)
    on_archived = await api.post(url(company), headers=company.auth,
                                 json={"kind": "note", "body": "x", "account_id": archived["id"]})
    assert error_fields(assert_problem(on_archived, 422)) == {"account_id"}


async def test_visibility_follows_the_account_and_edits_need_the_author_or_a_manager(api, company) -> None:
    rep, other_rep, manager, viewer = [await add_member(company.tenant.id, r)
                                       for r in ("rep", "rep", "manager", "viewer")]
    mine = await make_account(api, company, auth=rep.auth, name="Rep Co")
    shared = await make_account(api, company, name="Shared Co", is_shared=True)
    private = await make_account(api, company, name="Owner Co")
    unowned = await make_account(api, company, name="Nobody Co", owner_user_id=None)
    on_mine = await make_interaction(api, company, mine, auth=rep.auth, subject="rep on own")
    on_shared = await make_interaction(api, company, shared, auth=other_rep.auth, subject="other rep on shared")
    on_private = await make_interaction(api, company, private, subject="owner on private")
    on_unowned = await make_interaction(api, company, unowned, subject="owner on unowned")

    seen = await api.get(url(company), headers=rep.auth)
    assert {i["subject"] for i in seen.json()["items"]} == {"rep on own", "other rep on shared", "owner on unowned"}
    assert_problem(await api.get(url(company, f"/{on_private['id']}"), headers=rep.auth), 404, "interaction_not_found")
    hidden = await api.get(url(company), headers=rep.auth, params={"account_id": private["id"]})
    assert hidden.json()["items"] == []
    refused = await api.post(url(company), headers=rep.auth,
                             json={"kind": "note", "body": "x", "account_id": private["id"]})
    assert error_fields(assert_problem(refused, 422)) == {"account_id"}

    before = await counts(company, *TABLES)
    for call in (api.patch(url(company, f"/{on_shared['id']}"), headers=rep.auth, json={"subject": "mine now"}),
                 api.delete(url(company, f"/{on_shared['id']}"), headers=rep.auth),
                 api.patch(url(company, f"/{on_unowned['id']}"), headers=rep.auth, json={"subject": "x"})):
        assert_problem(await call, 403, "crm_read_only")
    for call in (api.post(url(company), headers=viewer.auth, json={"kind": "note", "body": "x",
                                                                   "account_id": shared["id"]}),
                 api.patch(url(company, f"/{on_private['id']}"), headers=viewer.auth, json={"subject": "x"}),
                 api.delete(url(company, f"/{on_private['id']}"), headers=viewer.auth)):
        assert_problem(await call, 403, "crm_read_only")
    assert await counts(company, *TABLES) == before
    assert (await api.get(url(company, f"/{on_private['id']}"), headers=viewer.auth)).status_code == 200
    assert len((await api.get(url(company), headers=viewer.auth)).json()["items"]) == 4

    own_edit = await api.patch(url(company, f"/{on_mine['id']}"), headers=rep.auth, json={"subject": "edited"})
    assert own_edit.json()["subject"] == "edited"
    managed = await api.patch(url(company, f"/{on_shared['id']}"), headers=manager.auth, json={"subject": "fixed"})
    assert (managed.status_code, managed.json()["author_user_id"]) == (200, str(other_rep.user_id))
    assert (await api.delete(url(company, f"/{on_mine['id']}"), headers=manager.auth)).status_code == 200


async def test_filters_periods_in_the_users_zone_and_keyset_pages(api, company) -> None:
    await set_user_zone(company.user_id, "Asia/Seoul")
    account, other = await make_account(api, company), await make_account(api, company, name="Other Co")
    contact = await make_contact(api, company, account)
    deal = await make_deal(api, company, account)
    rep = await add_member(company.tenant.id, "rep")
    # 2026-03-01 00:30 in Seoul is still 2026-02-28 in UTC
    times = ["2026-02-28T23:30:00+09:00", "2026-03-01T00:30:00+09:00", "2026-03-01T12:00:00+09:00",
             "2026-03-01T23:59:00+09:00", "2026-03-02T00:00:00+09:00"]
    made = [await make_interaction(api, company, account, kind="meeting", occurred_at=t, subject=f"m{n}")
            for n, t in enumerate(times)]
    same_time = [await make_interaction(api, company, account, kind="note", occurred_at=times[2], subject=f"tie{n}")
                 for n in range(3)]
    await make_interaction(api, company, account, kind="call", direction="inbound", contact_id=contact["id"],
                           deal_id=deal["id"], subject="linked", occurred_at="2026-01-05T09:00:00Z")
    await make_interaction(api, company, other, subject="elsewhere", occurred_at="2026-01-01T09:00:00Z")
    shared = await make_account(api, company, name="Shared", is_shared=True)
    await make_interaction(api, company, shared, auth=rep.auth, subject="by rep", occurred_at="2026-01-02T09:00:00Z")

    def subjects(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [i["subject"] for i in response.json()["items"]]

    march_first = await api.get(url(company), headers=company.auth, params={"from": "2026-03-01", "to": "2026-03-01"})
    assert sorted(subjects(march_first)) == sorted(["m1", "m2", "m3", "tie0", "tie1", "tie2"])
    instants = await api.get(url(company), headers=company.auth,
                             params={"from": "2026-03-01T03:00:00Z", "to": "2026-03-01T14:59:00Z"})
    assert sorted(subjects(instants)) == ["m2", "tie0", "tie1", "tie2"]  # an instant `to` is exclusive
    assert subjects(await api.get(url(company), headers=company.auth, params={"kind": "call"})) == ["linked"]
    assert subjects(await api.get(url(company), headers=company.auth, params={"contact_id": contact["id"]})) == [
        "linked"]
    assert subjects(await api.get(url(company), headers=company.auth, params={"deal_id": deal["id"]})) == ["linked"]
    assert subjects(await api.get(url(company), headers=company.auth, params={"author": str(rep.user_id)})) == [
        "by rep"]
    for bad in ({"kind": "chat"}, {"from": "yesterday"}, {"from": "2026-03-02", "to": "2026-03-01"},
                {"cursor": "not-a-cursor"}):
        assert_problem(await api.get(url(company), headers=company.auth, params=bad), 422)

    seen, cursor = [], None
    while True:
        page = await api.get(url(company), headers=company.auth,
                             params={"account_id": account["id"], "limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({i["id"] for i in seen}) == len(made) + len(same_time) + 1
    keys = [(i["occurred_at"], i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True)
    assert seen[0]["subject"] == "m4"


async def test_last_interaction_per_account(api, company) -> None:
    account, quiet = await make_account(api, company), await make_account(api, company, name="Quiet")
    await make_interaction(api, company, account, occurred_at="2026-01-01T00:00:00Z")
    newest = await make_interaction(api, company, account, occurred_at="2026-02-01T00:00:00Z")
    await api.delete(url(company, f"/{newest['id']}"), headers=company.auth)
    async with tenant_scope(company.tenant) as uow:
        found = await interactions.last_interaction_at(uow, [uuid.UUID(account["id"]), uuid.UUID(quiet["id"])])
    assert found == {uuid.UUID(account["id"]): datetime(2026, 1, 1, tzinfo=UTC)}


async def test_other_tenants_interactions_do_not_exist(api, alpha, beta) -> None:
    account = await make_account(api, alpha, name="Alpha Only")
    item = await make_interaction(api, alpha, account, subject="alpha secret")
    for call in (api.get(url(beta, f"/{item['id']}"), headers=beta.auth),
                 api.patch(url(beta, f"/{item['id']}"), headers=beta.auth, json={"subject": "x"}),
                 api.delete(url(beta, f"/{item['id']}"), headers=beta.auth)):
        assert_problem(await call, 404, "interaction_not_found")
    assert "alpha secret" not in (await api.get(url(beta), headers=beta.auth)).text
    assert_problem(await api.get(url(alpha), headers=beta.auth), 404, "tenant_not_found")
    assert_problem(await api.get(url(alpha, f"/{item['id']}"), headers=beta.auth), 404, "tenant_not_found")
    linked = await api.post(url(beta), headers=beta.auth,
                            json={"kind": "note", "body": "x", "account_id": account["id"]})
    assert error_fields(assert_problem(linked, 422)) == {"account_id"}


async def test_failed_requests_write_nothing(api, company) -> None:
    account = await make_account(api, company)
    item = await make_interaction(api, company, account)
    before = await counts(company, *TABLES)
    for call, status in (
        (api.post(url(company), headers=company.auth, json={"kind": "call", "account_id": account["id"]}), 422),
        (api.post(url(company), headers=company.auth, json={"kind": "note", "account_id": account["id"],
                                                            "body": "x", "unknown": 1}), 422),
        (api.patch(url(company, f"/{item['id']}"), headers=company.auth, json={"kind": "call"}), 422),
        (api.patch(url(company, f"/{item['id']}"), headers={**company.auth, "If-Match": 'W/"5"'},
                   json={"subject": "x"}), 409),
        (api.delete(url(company, f"/{item['id']}"), headers={**company.auth, "If-Match": 'W/"5"'}), 409),
    ):
        assert_problem(await call, status)
    assert await counts(company, *TABLES) == before
    assert (await api.get(url(company, f"/{item['id']}"), headers=company.auth)).json()["version"] == 1


async def test_idempotent_create(api, company) -> None:
    account = await make_account(api, company)
    headers = {**company.auth, "Idempotency-Key": "visit-log-1"}
    body = {"kind": "visit", "account_id": account["id"], "latitude": "35.6762", "longitude": "139.6503"}
    first = await api.post(url(company), headers=headers, json=body)
    again = await api.post(url(company), headers=headers, json=body)
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert (first.json(), first.headers["etag"]) == (again.json(), again.headers["etag"])
    assert await counts(company, "interactions") == (1,)
    reused = await api.post(url(company), headers=headers, json={**body, "latitude": "35.0"})
    assert_problem(reused, 422, "idempotency_key_reused")
