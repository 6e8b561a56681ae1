"""Activity pages: the account card's timeline (feed, older pages by htmx and by plain link), logging an
interaction and adding a task from the card (errors next to fields, nothing written on error), the tasks page
(tabs by local day in the reader's zone, member switch for managers, done/undo by htmx and plain form), CSRF,
roles, tenants and escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.crm.activity_helpers import counts, make_account, make_contact, make_deal, make_task, set_user_zone
from tests.web.conftest import assert_page, assert_redirect
from tests.web.crm_data import name_user

HOSTILE = '<script>alert("x")</script>'


def card(company, account) -> str:
    return f"/t/{company.slug}/accounts/{account['id']}"


def tasks_url(company, query: str = "") -> str:
    return f"/t/{company.slug}/tasks/{query}"


def zone_near_noon() -> ZoneInfo:
    """A fixed-offset zone where it is about noon now (no local midnight passes during the test), never UTC."""
    offset = 12 - datetime.now(UTC).hour or 1
    return ZoneInfo(f"Etc/GMT{-offset:+d}")  # POSIX signs: Etc/GMT-9 is UTC+9


async def log(client, company, account, **fields):
    body = {"kind": "note", "account_id": account["id"], "body": "Talked", **fields}
    response = await client.post(f"/api/v1/t/{company.slug}/interactions", headers=company.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_timeline_shows_the_feed_with_names_links_and_times(owner, company, client) -> None:
    await name_user(company.user_id, "Olga Owner")
    account = await make_account(client, company, name="Hanbit Trading")
    contact = await make_contact(client, company, account, full_name="Ivan Petrov")
    deal = await make_deal(client, company, account, title="Forklift fleet")
    await log(client, company, account, kind="call", direction="outbound", duration_seconds=600,
              subject="Spring order", contact_id=contact["id"], deal_id=deal["id"],
              occurred_at="2025-03-01T09:30:00Z")
    await make_task(client, company, title="Send the offer", link_type="account", link_id=account["id"])
    page = await owner.get(card(company, account))
    shown = assert_page(page, 200, "Timeline", "Call", "Spring order", "Outbound", "10 minutes", "Olga Owner",
                        "Ivan Petrov", "Forklift fleet", "Task added", "Send the offer", "Deal created",
                        "Log an interaction", "Add a task")
    assert f'href="/t/{company.slug}/contacts/{contact["id"]}"' in page.text
    assert f'href="/t/{company.slug}/deals/{deal["id"]}"' in page.text
    assert 'datetime="2025-03-01T09:30:00+00:00"' in page.text
    assert "ago" in shown  # relative time
    # newest first: the task (now) above the call of March 2025
    assert shown.index("Send the offer") < shown.index("Spring order")


async def test_times_are_shown_in_the_readers_zone(owner, company, client) -> None:
    await set_user_zone(company.user_id, "Asia/Seoul")
    account = await make_account(client, company)
    await log(client, company, account, subject="Late call", occurred_at="2025-03-01T23:30:00Z")
    page = await owner.get(card(company, account))
    assert_page(page, 200, "3/2/25, 8:30")  # 08:30 on 2 March in Seoul


async def test_timeline_pages_by_htmx_and_by_plain_link(owner, company, client) -> None:
    account = await make_account(client, company, name="Busy Co")
    start = datetime(2025, 1, 1, 10, tzinfo=UTC)
    for n in range(25):
        await log(client, company, account, subject=f"Visit no. {n:02d}",
                  occurred_at=(start + timedelta(days=n)).isoformat())
    first = await owner.get(card(company, account))
    assert_page(first, 200, "Visit no. 24", "Visit no. 05", "Older")
    assert "Visit no. 04" not in first.text
    older = re.search(r'hx-get="([^"]+)"', first.text)
    plain = re.search(r'<a class="button" href="([^"]+timeline_cursor=[^"]+)"', first.text)
    assert older
    assert plain
    fragment = await owner.get(older.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Visit no. 04" in fragment.text
    assert "Visit no. 00" in fragment.text
    assert "Visit no. 05" not in fragment.text
    assert "Older" not in fragment.text  # the last page
    second = await owner.get(plain.group(1).replace("&amp;", "&"))
    assert_page(second, 200, "Visit no. 04", "Visit no. 00", "Newest")
    assert "Visit no. 05" not in second.text
    # the fragment URL opened without htmx leads to the card at that page
    assert (await owner.get(older.group(1).replace("&amp;", "&"))).status_code == 303
    stale = await owner.get(card(company, account), params={"timeline_cursor": "bogus"})
    assert_page(stale, 200, "Invalid cursor.", "Visit no. 24")


async def test_log_an_interaction_good_and_bad(owner, company, client) -> None:
    await set_user_zone(company.user_id, "Asia/Seoul")
    account = await make_account(client, company, name="Log Co")
    contact = await make_contact(client, company, account, full_name="Mina Kim")
    before = await counts(company, "interactions", "audit_log")
    bad = await owner.submit(card(company, account), f"{card(company, account)}/interactions", data={
        "kind": "call", "subject": "No direction", "duration_minutes": "abc", "occurred_at": ""})
    assert_page(bad, 422, "whole minutes")
    assert 'id="e-duration_minutes"' in bad.text
    assert 'value="No direction"' in bad.text  # the input is kept
    bad = await owner.submit(card(company, account), f"{card(company, account)}/interactions", data={
        "kind": "call", "subject": "No direction", "duration_minutes": "5"})
    assert_page(bad, 422, "required for a call")
    assert 'id="e-direction"' in bad.text
    bad = await owner.submit(card(company, account), f"{card(company, account)}/interactions", data={
        "kind": "note", "address": "Somewhere"})
    assert 'id="e-body"' in bad.text
    assert 'id="e-address"' in bad.text
    assert await counts(company, "interactions", "audit_log") == before
    good = await owner.submit(card(company, account), f"{card(company, account)}/interactions", data={
        "kind": "call", "direction": "inbound", "duration_minutes": "12", "subject": "Asked for prices",
        "body": "Wants 40 units", "contact_id": contact["id"], "occurred_at": "2025-05-01T14:30"})
    assert_redirect(good, f"{card(company, account)}#timeline")
    stored = (await client.get(f"/api/v1/t/{company.slug}/interactions", headers=company.auth,
                               params={"account_id": account["id"]})).json()["items"]
    assert len(stored) == 1
    assert stored[0]["occurred_at"] == "2025-05-01T05:30:00Z"  # 14:30 in Seoul
    assert stored[0]["duration_seconds"] == 720
    assert stored[0]["contact_id"] == contact["id"]
    assert stored[0]["source"] == "web"
    assert_page(await owner.get(card(company, account)), 200, "Asked for prices", "Mina Kim", "Inbound")


async def test_add_task_from_the_card(owner, company, client, member_of) -> None:
    account = await make_account(client, company)
    before = await counts(company, "tasks")
    bad = await owner.submit(card(company, account), f"{card(company, account)}/tasks",
                             data={"title": "", "due_date": "2031-02-30", "due_time": "9:99"})
    assert bad.status_code == 422
    assert 'id="e-due_date"' in bad.text
    assert 'id="e-due_time"' in bad.text
    bad = await owner.submit(card(company, account), f"{card(company, account)}/tasks", data={"title": ""})
    assert 'id="e-title"' in bad.text
    assert await counts(company, "tasks") == before
    _, rep = await member_of(company, "rep")
    made = await owner.submit(card(company, account), f"{card(company, account)}/tasks", data={
        "title": "Bring samples", "due_date": "2031-02-03", "due_time": "09:00",
        "assignee_user_id": str(rep.user_id)})
    assert_redirect(made, f"{card(company, account)}#timeline")
    stored = (await client.get(f"/api/v1/t/{company.slug}/tasks", headers=company.auth,
                               params={"account_id": account["id"]})).json()["items"]
    assert [(t["title"], t["assignee_user_id"], t["due_at"]) for t in stored] == [
        ("Bring samples", str(rep.user_id), "2031-02-03T09:00:00Z")]


async def test_tasks_tabs_by_local_day(owner, company, client) -> None:
    zone = zone_near_noon()
    await set_user_zone(company.user_id, zone.key)
    today = datetime.now(zone).date()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    account = await make_account(client, company, name="Linked Holding")
    await make_task(client, company, title="late night yesterday", due_at=(midnight - timedelta(minutes=1)).isoformat())
    await make_task(client, company, title="first thing today", due_at=midnight.isoformat(),
                    link_type="account", link_id=account["id"])
    await make_task(client, company, title="today by day", due_date=today.isoformat())
    await make_task(client, company, title="tomorrow by day", due_date=(today + timedelta(days=1)).isoformat())
    finished = await make_task(client, company, title="finished one", due_date=today.isoformat())
    await client.post(f"/api/v1/t/{company.slug}/tasks/{finished['id']}/done", headers=company.auth)

    async def titles(tab: str) -> set[str]:
        page = await owner.get(tasks_url(company), params={"tab": tab})
        assert page.status_code == 200, page.text[:500]
        return set(re.findall(r'<td class="task-title">(?:<s>)?([^<]+)', page.text))

    assert await titles("today") == {"first thing today", "today by day"}
    assert await titles("overdue") == {"late night yesterday"}
    assert await titles("upcoming") == {"tomorrow by day"}
    assert await titles("open") == {"late night yesterday", "first thing today", "today by day", "tomorrow by day"}
    assert await titles("done") == {"finished one"}
    page = await owner.get(tasks_url(company))
    assert_page(page, 200, "Today", "Overdue", "Upcoming", "All open", "Done", "Linked Holding")
    assert f'href="/t/{company.slug}/accounts/{account["id"]}"' in page.text
    home = await owner.get(f"/t/{company.slug}/")
    assert f'href="/t/{company.slug}/tasks"' in home.text  # nav entry from the module registry


async def test_done_and_undo_by_htmx_and_by_form(owner, company, client) -> None:
    task = await make_task(client, company, title="Ring the bell", due_date="2020-01-01")
    page = tasks_url(company, "?tab=overdue")
    token_page = await owner.get(page)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', token_page.text)
    assert token
    swapped = await owner.post(f"/t/{company.slug}/tasks/{task['id']}/done",
                               {"_csrf_token": token.group(1), "return_to": page}, headers={"HX-Request": "true"})
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith(f'<tr id="task-{task["id"]}"')
    assert "Undo" in swapped.text
    assert "<s>Ring the bell</s>" in swapped.text
    undone = await owner.submit(page, f"/t/{company.slug}/tasks/{task['id']}/undone", data={"return_to": page})
    assert_redirect(undone, page)
    stored = (await client.get(f"/api/v1/t/{company.slug}/tasks/{task['id']}", headers=company.auth)).json()
    assert stored["done"] is False
    done = await owner.submit(page, f"/t/{company.slug}/tasks/{task['id']}/done",
                              data={"return_to": "https://evil.example/"})
    assert_redirect(done, f"/t/{company.slug}/tasks/")  # never an open redirect
    assert (await client.get(f"/api/v1/t/{company.slug}/tasks/{task['id']}", headers=company.auth)).json()["done"]


async def test_quick_new_task_and_manager_member_switch(owner, company, client, member_of) -> None:
    rep_browser, rep = await member_of(company, "rep")
    await name_user(rep.user_id, "Rita Rep")
    bad = await owner.submit(tasks_url(company), f"/t/{company.slug}/tasks/new", data={"title": " ", "tab": "open"})
    assert bad.status_code == 422
    assert 'id="e-title"' in bad.text
    made = await owner.submit(tasks_url(company), f"/t/{company.slug}/tasks/new", data={
        "title": "Rep's chore", "assignee_user_id": str(rep.user_id), "tab": "open"})
    assert_redirect(made, tasks_url(company, "?tab=open"))
    mine = await owner.get(tasks_url(company, "?tab=open"))
    assert "Rep&#39;s chore" not in mine.text
    theirs = await owner.get(tasks_url(company), params={"tab": "open", "member": str(rep.user_id)})
    assert_page(theirs, 200, "Rep's chore", "Rita Rep")
    # a rep sees their own list, cannot look at others', and their new tasks are their own
    own = await rep_browser.get(tasks_url(company), params={"tab": "open", "member": str(company.user_id)})
    assert_page(own, 200, "Rep's chore")
    assert 'id="f-member"' not in own.text
    rep_made = await rep_browser.submit(tasks_url(company), f"/t/{company.slug}/tasks/new",
                                        data={"title": "My own", "assignee_user_id": str(company.user_id)})
    assert rep_made.status_code == 303
    stored = (await client.get(f"/api/v1/t/{company.slug}/tasks", headers=company.auth,
                               params={"assignee": str(rep.user_id)})).json()["items"]
    assert {t["title"] for t in stored} == {"Rep's chore", "My own"}


async def test_csrf_roles_and_tenants(owner, company, client, member_of, new_browser, make_company) -> None:
    account = await make_account(client, company)
    task = await make_task(client, company, title="Guarded")
    before = await counts(company, "interactions", "tasks")
    no_token = await owner.post(f"{card(company, account)}/interactions", {"kind": "note", "body": "x"})
    assert no_token.status_code == 403
    assert (await owner.post(f"/t/{company.slug}/tasks/{task['id']}/done", {})).status_code == 403
    viewer_browser, _ = await member_of(company, "viewer")
    viewer_card = await viewer_browser.get(card(company, account))
    assert_page(viewer_card, 200, "Timeline")
    assert "Log an interaction" not in viewer_card.text
    for action, data in ((f"{card(company, account)}/interactions", {"kind": "note", "body": "x"}),
                         (f"{card(company, account)}/tasks", {"title": "x"}),
                         (f"/t/{company.slug}/tasks/new", {"title": "x"}),
                         (f"/t/{company.slug}/tasks/{task['id']}/done", {})):
        refused = await viewer_browser.submit(tasks_url(company), action, data=data)
        assert refused.status_code == 403, (action, refused.status_code)
    assert await counts(company, "interactions", "tasks") == before
    rep_browser, _ = await member_of(company, "rep")
    assert (await rep_browser.get(card(company, account))).status_code == 404  # owner's account: hidden
    assert (await rep_browser.submit(tasks_url(company), f"{card(company, account)}/interactions",
                                     data={"kind": "note", "body": "x"})).status_code == 404
    other = await make_company()
    stranger = new_browser().sign_in(other.token)
    assert (await stranger.get(card(company, account))).status_code == 404
    assert (await stranger.get(tasks_url(company))).status_code == 404
    own_page = f"/t/{other.slug}/tasks/"
    assert (await stranger.submit(own_page, f"/t/{company.slug}/tasks/{task['id']}/done")).status_code == 404
    assert (await stranger.submit(own_page, f"/t/{other.slug}/tasks/{task['id']}/done")).status_code == 404
    assert (await stranger.get(f"/t/{other.slug}/accounts/{account['id']}")).status_code == 404
    assert await counts(company, "interactions", "tasks") == before


async def test_hostile_subjects_are_escaped(owner, company, client) -> None:
    account = await make_account(client, company)
    await log(client, company, account, subject=HOSTILE, body=HOSTILE)
    await make_task(client, company, title=HOSTILE, link_type="account", link_id=account["id"], due_date="2020-01-01")
    for url in (card(company, account), tasks_url(company, "?tab=overdue")):
        page = await owner.get(url)
        assert page.status_code == 200
        assert HOSTILE not in page.text
        assert "&lt;script&gt;" in page.text
