"""Tasks API and service: due time or day, one linked record, assignee rules, done/undone, "my tasks"
today/overdue/upcoming in the user's time zone (around local midnight), visibility per role, pages, audit, tenancy,
failed requests writing nothing, Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.domains.crm import tasks
from backend.domains.crm.visibility import CrmActor
from tenants.scope import tenant_scope
from tests.api.helpers import add_member, assert_problem, error_fields, execute
from tests.crm.activity_helpers import (
    audit_actions,
    base,
    counts,
    hosted_api,
    make_account,
    make_contact,
    make_deal,
    make_task,
    set_user_zone,
)

TABLES = ("tasks", "audit_log")
SEOUL = ZoneInfo("Asia/Seoul")  # UTC+9 all year: local midnight is 15:00 UTC the day before


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    async for client in hosted_api(settings, database, "192.0.2.82"):
        yield client


def url(company, suffix: str = "") -> str:
    return base(company, "tasks") + suffix


def titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()["items"]]


async def test_create_change_done_undone_archive_with_etags_and_audit(api, company) -> None:
    account = await make_account(api, company)
    deal = await make_deal(api, company, account)
    made = await api.post(url(company), headers=company.auth, json={
        "title": "  Send the quote ", "notes": "Two options\nwith delivery", "due_date": "2026-12-01",
        "link_type": "deal", "link_id": deal["id"]})
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == 'W/"1"'
    task = made.json()
    assert (task["title"], task["due_date"], task["due_at"], task["assignee_user_id"]) == (
        "Send the quote", "2026-12-01", None, str(company.user_id))
    assert (task["link_type"], task["link_id"], task["deal_id"], task["account_id"], task["contact_id"]) == (
        "deal", deal["id"], deal["id"], account["id"], None)
    assert (task["done"], task["created_by_user_id"]) == (False, str(company.user_id))

    one = await api.get(url(company, f"/{task['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()) == (200, 'W/"1"', task)
    timed = await api.patch(url(company, f"/{task['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"due_at": "2026-12-01T17:00:00+09:00"})
    assert timed.status_code == 200, timed.text
    assert (timed.json()["due_at"], timed.json()["due_date"], timed.headers["etag"]) == (
        "2026-12-01T08:00:00Z", None, 'W/"2"')  # setting one kind of due clears the other
    assert_problem(await api.patch(url(company, f"/{task['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                                   json={"title": "x"}), 409, "version_conflict")
    unlinked = await api.patch(url(company, f"/{task['id']}"), headers=company.auth,
                               json={"link_type": None, "link_id": None})
    assert (unlinked.json()["link_type"], unlinked.json()["account_id"], unlinked.json()["deal_id"]) == (
        None, None, None)

    done = await api.post(url(company, f"/{task['id']}/done"), headers={**company.auth, "If-Match": 'W/"3"'})
    assert done.status_code == 200, done.text
    assert (done.json()["done"], done.json()["done_by_user_id"], done.headers["etag"]) == (
        True, str(company.user_id), 'W/"4"')
    assert abs(datetime.fromisoformat(done.json()["done_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    again = await api.post(url(company, f"/{task['id']}/done"), headers=company.auth)
    assert (again.json()["done_at"], again.headers["etag"]) == (done.json()["done_at"], 'W/"4"')
    undone = await api.post(url(company, f"/{task['id']}/undone"), headers=company.auth)
    assert (undone.json()["done"], undone.json()["done_at"], undone.json()["done_by_user_id"]) == (False, None, None)
    archived = await api.delete(url(company, f"/{task['id']}"), headers={**company.auth, "If-Match": 'W/"5"'})
    assert (archived.status_code, archived.headers["etag"], bool(archived.json()["archived_at"])) == (
        200, 'W/"6"', True)
    assert titles(await api.get(url(company), headers=company.auth)) == []
    assert titles(await api.get(url(company), headers=company.auth, params={"archived": "true"})) == [
        "Send the quote"]
    assert await audit_actions(company, "task", task["id"]) == ["create", "update", "update", "done", "undone",
                                                                 "archive"]
    history = await api.get(base(company, "audit"), headers=company.auth, params={"record": f"task:{task['id']}"})
    assert history.json()["items"][2]["action"] == "done"


async def test_links_fill_the_account(api, company) -> None:
    account = await make_account(api, company)
    contact = await make_contact(api, company, account)
    loner = await make_contact(api, company, None, full_name="No Account")
    on_account = await make_task(api, company, link_type="account", link_id=account["id"])
    on_contact = await make_task(api, company, link_type="contact", link_id=contact["id"])
    on_loner = await make_task(api, company, link_type="contact", link_id=loner["id"])
    assert (on_account["link_type"], on_account["account_id"]) == ("account", account["id"])
    assert (on_contact["link_type"], on_contact["contact_id"], on_contact["account_id"]) == (
        "contact", contact["id"], account["id"])
    assert (on_loner["contact_id"], on_loner["account_id"]) == (loner["id"], None)
    listed = await api.get(url(company), headers=company.auth, params={"account_id": account["id"], "sort": "created"})
    assert [t["id"] for t in listed.json()["items"]] == [on_account["id"], on_contact["id"]]
    by_contact = await api.get(url(company), headers=company.auth, params={"contact_id": loner["id"]})
    assert [t["id"] for t in by_contact.json()["items"]] == [on_loner["id"]]


async def test_field_errors_and_nothing_written(api, company, beta) -> None:
    account = await make_account(api, company)
    gone = await make_account(api, company, name="Gone")
    await api.delete(base(company, f"accounts/{gone['id']}"), headers=company.auth)
    stranger = await add_member(beta.tenant.id, "rep")  # a user, but not of this company
    task = await make_task(api, company)
    before = await counts(company, *TABLES)
    for body, fields in (
        ({}, {"title"}),
        ({"title": "   "}, {"title"}),
        ({"title": "x", "due_at": "2026-12-01T10:00:00+09:00", "due_date": "2026-12-01"}, {"due_date"}),
        ({"title": "x", "due_at": "2026-12-01T10:00:00"}, {"due_at"}),
        ({"title": "x", "link_type": "invoice", "link_id": account["id"]}, {"link_type"}),
        ({"title": "x", "link_type": "deal"}, {"link_id"}),
        ({"title": "x", "link_type": "deal", "link_id": account["id"]}, {"link_id"}),
        ({"title": "x", "link_type": "account", "link_id": gone["id"]}, {"link_id"}),
        ({"title": "x", "assignee_user_id": str(stranger.user_id)}, {"assignee_user_id"}),
        ({"title": "x" * 201, "notes": "y"}, {"title"}),
    ):
        response = await api.post(url(company), headers=company.auth, json=body)
        assert error_fields(assert_problem(response, 422)) == fields, (body, response.text)
    for call, status in (
        (api.patch(url(company, f"/{task['id']}"), headers=company.auth, json={"title": None}), 422),
        (api.patch(url(company, f"/{task['id']}"), headers={**company.auth, "If-Match": 'W/"9"'},
                   json={"title": "y"}), 409),
        (api.post(url(company, f"/{task['id']}/done"), headers={**company.auth, "If-Match": 'W/"9"'}), 409),
        (api.delete(url(company, f"/{task['id']}"), headers={**company.auth, "If-Match": 'W/"9"'}), 409),
        (api.get(url(company), headers=company.auth, params={"due": "someday"}), 422),
        (api.get(url(company), headers=company.auth, params={"sort": "title"}), 422),
    ):
        assert_problem(await call, status)
    assert await counts(company, *TABLES) == before
    assert (await api.get(url(company, f"/{task['id']}"), headers=company.auth)).json()["version"] == 1


async def test_roles_assignment_and_visibility(api, company) -> None:
    rep, other_rep, manager, viewer = [await add_member(company.tenant.id, r)
                                       for r in ("rep", "rep", "manager", "viewer")]
    rep_account = await make_account(api, company, auth=rep.auth, name="Rep Co")
    private = await make_account(api, company, name="Owner Co")
    shared = await make_account(api, company, name="Shared Co", is_shared=True)
    own = await make_task(api, company, auth=rep.auth, title="rep own")
    assert own["assignee_user_id"] == str(rep.user_id)
    for_rep = await make_task(api, company, auth=manager.auth, title="manager for rep",
                              assignee_user_id=str(rep.user_id), link_type="account", link_id=private["id"])
    await make_task(api, company, auth=manager.auth, title="on rep account for other",
                    assignee_user_id=str(other_rep.user_id), link_type="account", link_id=rep_account["id"])
    await make_task(api, company, title="on shared for owner", link_type="account", link_id=shared["id"])
    hidden = await make_task(api, company, title="owner private", link_type="account", link_id=private["id"])
    await make_task(api, company, auth=manager.auth, title="other rep plain", assignee_user_id=str(other_rep.user_id))
    await make_task(api, company, title="nobody's", assignee_user_id=None)
    for_viewer = await make_task(api, company, title="viewer chore", assignee_user_id=str(viewer.user_id))

    assert sorted(titles(await api.get(url(company), headers=rep.auth))) == sorted([
        "rep own", "manager for rep", "on rep account for other", "on shared for owner", "nobody's"])
    assert titles(await api.get(url(company), headers=rep.auth, params={"mine": "true", "sort": "created"})) == [
        "rep own", "manager for rep"]
    assert len(titles(await api.get(url(company), headers=manager.auth))) == 8
    assert len(titles(await api.get(url(company), headers=viewer.auth))) == 8
    assert_problem(await api.get(url(company, f"/{hidden['id']}"), headers=rep.auth), 404, "task_not_found")
    assert_problem(await api.post(url(company, f"/{hidden['id']}/done"), headers=rep.auth), 404, "task_not_found")

    before = await counts(company, *TABLES)
    for body, fields in (({"title": "x", "assignee_user_id": str(other_rep.user_id)}, {"assignee_user_id"}),
                         ({"title": "x", "assignee_user_id": None}, {"assignee_user_id"}),
                         ({"title": "x", "link_type": "account", "link_id": private["id"]}, {"link_id"})):
        response = await api.post(url(company), headers=rep.auth, json=body)
        assert error_fields(assert_problem(response, 422)) == fields, body
    handed = await api.patch(url(company, f"/{own['id']}"), headers=rep.auth,
                             json={"assignee_user_id": str(other_rep.user_id)})
    assert error_fields(assert_problem(handed, 422)) == {"assignee_user_id"}
    for call in (api.post(url(company), headers=viewer.auth, json={"title": "x"}),
                 api.patch(url(company, f"/{for_viewer['id']}"), headers=viewer.auth, json={"title": "y"}),
                 api.delete(url(company, f"/{for_viewer['id']}"), headers=viewer.auth),
                 api.post(url(company, f"/{hidden['id']}/done"), headers=viewer.auth)):
        assert_problem(await call, 403, "crm_read_only")
    assert await counts(company, *TABLES) == before

    # the assignee may always tick their own task, whatever their role
    ticked = await api.post(url(company, f"/{for_viewer['id']}/done"), headers=viewer.auth)
    assert (ticked.status_code, ticked.json()["done_by_user_id"]) == (200, str(viewer.user_id))
    worked = await api.post(url(company, f"/{for_rep['id']}/done"), headers=rep.auth)
    assert worked.json()["done"] is True
    reassigned = await api.patch(url(company, f"/{own['id']}"), headers=manager.auth,
                                 json={"assignee_user_id": str(other_rep.user_id)})
    assert reassigned.json()["assignee_user_id"] == str(other_rep.user_id)
    assert_problem(await api.get(url(company, f"/{own['id']}"), headers=rep.auth), 404, "task_not_found")


async def _due_fixture(api, company, zone: ZoneInfo, local_today: date) -> None:
    """Tasks around local midnight of ``local_today`` in ``zone``, named for where they belong."""
    midnight = datetime.combine(local_today, datetime.min.time(), tzinfo=zone)
    tomorrow = midnight + timedelta(days=1)
    for title, due in (("yesterday 23:59", {"due_at": (midnight - timedelta(minutes=1)).isoformat()}),
                       ("today 00:00", {"due_at": midnight.isoformat()}),
                       ("today 23:59", {"due_at": (tomorrow - timedelta(minutes=1)).isoformat()}),
                       ("tomorrow 00:00", {"due_at": tomorrow.isoformat()}),
                       ("yesterday", {"due_date": (local_today - timedelta(days=1)).isoformat()}),
                       ("today", {"due_date": local_today.isoformat()}),
                       ("tomorrow", {"due_date": (local_today + timedelta(days=1)).isoformat()}),
                       ("no due", {})):
        await make_task(api, company, title=title, **due)
    finished = await make_task(api, company, title="done last week",
                               due_date=(local_today - timedelta(days=7)).isoformat())
    assert (await api.post(url(company, f"/{finished['id']}/done"), headers=company.auth)).status_code == 200


async def test_my_tasks_by_local_day_across_the_zone_boundary(api, company) -> None:
    """Seoul's 2026-03-10 runs from 2026-03-09T15:00Z to 2026-03-10T15:00Z; 'now' is 01:00 Seoul on the 10th,
    which is still the 9th in UTC."""
    await _due_fixture(api, company, SEOUL, date(2026, 3, 10))
    now = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    actor = CrmActor(role="owner", user_id=company.user_id)

    async def bucket(zone: ZoneInfo, due: str, done: bool | None = False) -> list[str]:
        async with tenant_scope(company.tenant) as uow:
            page = await tasks.list_tasks(uow, actor, zone, mine=True, due=due, done=done, now=now)
        return sorted(t.title for t in page.items)  # order is tested on its own (a due day ties with 00:00)

    assert await bucket(SEOUL, "overdue") == ["yesterday", "yesterday 23:59"]
    assert await bucket(SEOUL, "today") == ["today", "today 00:00", "today 23:59"]
    assert await bucket(SEOUL, "upcoming") == ["tomorrow", "tomorrow 00:00"]
    assert await bucket(SEOUL, "none") == ["no due"]
    assert await bucket(SEOUL, "overdue", done=None) == ["yesterday", "yesterday 23:59"]  # done is never overdue
    assert await bucket(SEOUL, "all", done=True) == ["done last week"]
    # The same tasks seen from UTC, where it is still the 9th: the Seoul-day dates move, the instants stay put.
    utc = ZoneInfo("UTC")
    assert await bucket(utc, "overdue") == []
    assert await bucket(utc, "today") == ["today 00:00", "yesterday", "yesterday 23:59"]
    assert await bucket(utc, "upcoming") == ["today", "today 23:59", "tomorrow", "tomorrow 00:00"]


def zone_near_noon() -> ZoneInfo:
    """A fixed-offset zone where it is about noon now (so no local midnight passes during the test), never UTC."""
    offset = 12 - datetime.now(UTC).hour or 1
    return ZoneInfo(f"Etc/GMT{-offset:+d}")  # POSIX signs: Etc/GMT-9 is UTC+9


async def test_my_tasks_api_uses_the_profile_zone(api, company) -> None:
    zone = zone_near_noon()
    await set_user_zone(company.user_id, zone.key)
    local_today = datetime.now(zone).date()
    await _due_fixture(api, company, zone, local_today)  # its 00:00 or its 23:59 falls on another UTC day
    rep = await add_member(company.tenant.id, "rep")
    await make_task(api, company, auth=rep.auth, title="rep today", due_date=local_today.isoformat())
    params = {"mine": "true", "done": "false"}
    today = titles(await api.get(url(company), headers=company.auth, params={**params, "due": "today"}))
    assert sorted(today) == ["today", "today 00:00", "today 23:59"]
    overdue = titles(await api.get(url(company), headers=company.auth, params={**params, "due": "overdue"}))
    assert overdue == ["yesterday", "yesterday 23:59"]  # a due day sorts at its local midnight
    everything = titles(await api.get(url(company), headers=company.auth, params={"mine": "true"}))
    assert everything[-1] == "no due"
    assert len(everything) == 9
    key = await api.post(base(company, "api-keys"), headers=company.auth, json={"name": "bot", "role": "manager"})
    assert key.status_code == 201, key.text
    keyed = {"Authorization": f"Bearer {key.json()['secret']}"}
    assert_problem(await api.get(url(company), headers=keyed, params={"mine": "true"}), 422)
    # an API key has no profile: its days are the company's (UTC until changed)
    await execute(f'UPDATE "{company.tenant.schema}".company_settings SET timezone = :z', z=zone.key)
    assert "rep today" in titles(await api.get(url(company), headers=keyed, params={"due": "today"}))


async def test_sorted_by_due_with_keyset_pages_without_gaps(api, company) -> None:
    base_time = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    expected = []
    for n in range(7):
        expected.append((await make_task(api, company, title=f"timed {n}",
                                         due_at=(base_time + timedelta(hours=n // 2)).isoformat()))["id"])
    for n in range(3):
        await make_task(api, company, title=f"undated {n}")
    await make_task(api, company, title="dated", due_date="2026-05-31")
    seen, cursor = [], None
    while True:
        page = await api.get(url(company), headers=company.auth,
                             params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({t["id"] for t in seen}) == 11
    assert seen[0]["title"] == "dated"
    assert sorted(t["id"] for t in seen[1:8]) == sorted(expected)
    assert [t["due_at"] for t in seen[1:8]] == sorted(t["due_at"] for t in seen[1:8])
    assert {t["title"] for t in seen[8:]} == {"undated 0", "undated 1", "undated 2"}
    newest = await api.get(url(company), headers=company.auth, params={"sort": "-created", "limit": 200})
    assert [t["id"] for t in newest.json()["items"]] == [t["id"] for t in sorted(
        seen, key=lambda t: (t["created_at"], t["id"]), reverse=True)]


async def test_other_tenants_tasks_do_not_exist(api, alpha, beta) -> None:
    account = await make_account(api, alpha, name="Alpha Task Co")
    task = await make_task(api, alpha, title="alpha only task", link_type="account", link_id=account["id"])
    for call in (api.get(url(beta, f"/{task['id']}"), headers=beta.auth),
                 api.patch(url(beta, f"/{task['id']}"), headers=beta.auth, json={"title": "x"}),
                 api.post(url(beta, f"/{task['id']}/done"), headers=beta.auth),
                 api.delete(url(beta, f"/{task['id']}"), headers=beta.auth)):
        assert_problem(await call, 404, "task_not_found")
    assert "alpha only task" not in (await api.get(url(beta), headers=beta.auth)).text
    assert_problem(await api.get(url(alpha), headers=beta.auth), 404, "tenant_not_found")
    linked = await api.post(url(beta), headers=beta.auth,
                            json={"title": "x", "link_type": "account", "link_id": account["id"]})
    assert error_fields(assert_problem(linked, 422)) == {"link_id"}


async def test_idempotent_create(api, company) -> None:
    headers = {**company.auth, "Idempotency-Key": f"task-{uuid.uuid4()}"}
    body = {"title": "Once", "due_date": "2026-07-01"}
    first = await api.post(url(company), headers=headers, json=body)
    again = await api.post(url(company), headers=headers, json=body)
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert first.json() == again.json()
    assert await counts(company, "tasks") == (1,)
