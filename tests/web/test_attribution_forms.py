"""Marketing event attribution in the staff forms: the new-account form, the account edit form, the new-deal form
and the deal card's edit form offer the tenant's unarchived events (and an empty choice), keep a current event that
was archived since (marked so), save through the account and deal services with the record's version, and refuse an
unknown, foreign or archived event next to the field without writing anything."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.helpers import scalar
from tests.conftest import Company
from tests.web.conftest import assert_page, assert_redirect
from tests.web.crm_data import api_account, api_deal, api_get
from tests.web.html_forms import as_data, form_fields, replace, value

EXPO = {"name": "COEX Expo", "channel": "exhibition", "budget": "1000", "currency": "USD"}


async def api_event(client: httpx.AsyncClient, company: Company, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/t/{company.slug}/marketing-events", headers=company.auth,
                                 json={**EXPO, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def archive_event(client: httpx.AsyncClient, company: Company, event: dict[str, Any]) -> None:
    response = await client.patch(f"/api/v1/t/{company.slug}/marketing-events/{event['id']}", headers=company.auth,
                                  json={"archived": True})
    assert response.status_code == 200, response.text


def event_choices(page: str) -> list[tuple[str, str, bool]]:
    """The marketing event select's options: (value, text, selected)."""
    found = re.search(r'<select id="f-marketing_event_id" name="marketing_event_id"[^>]*>(.*?)</select>', page, re.S)
    assert found, page[:3000]
    return [(v, text.strip(), "selected" in attrs)
            for v, attrs, text in re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', found.group(1))]


async def writes(company: Company) -> tuple[int, int, int]:
    """Accounts, deals and audit rows of the tenant: a refused form changes none of them."""
    schema = company.tenant.schema
    return (int(await scalar(f'SELECT count(*) FROM "{schema}".accounts')),
            int(await scalar(f'SELECT count(*) FROM "{schema}".deals')),
            int(await scalar(f'SELECT count(*) FROM "{schema}".audit_log')))


async def test_new_account_lists_unarchived_events_and_saves_the_choice(owner, company, client) -> None:
    busan = await api_event(client, company, name="Busan Show")
    seoul = await api_event(client, company, name="Seoul Seminar", channel="seminar")
    gone = await api_event(client, company, name="Old Fair")
    await archive_event(client, company, gone)
    form = assert_page(await owner.get(f"/t/{company.slug}/accounts/new"), 200, "Marketing event")
    assert event_choices(form) == [("", "No marketing event", True), (busan["id"], "Busan Show", False),
                                   (seoul["id"], "Seoul Seminar", False)]
    made = await owner.submit(f"/t/{company.slug}/accounts/new", data={
        "name": "Attributed Ltd", "kind": "organization", "status": "lead", "marketing_event_id": seoul["id"]})
    assert made.status_code == 303, made.text[:2000]
    account_id = made.headers["location"].rsplit("/", 1)[1]
    assert (await api_get(client, company, f"accounts/{account_id}"))["marketing_event_id"] == seoul["id"]
    card = assert_page(await owner.get(made.headers["location"]), 200, "Seoul Seminar")
    assert f'href="/t/{company.slug}/marketing-events/{seoul["id"]}"' in card
    # no choice is fine too
    plain = await owner.submit(f"/t/{company.slug}/accounts/new", data={
        "name": "Plain Ltd", "kind": "organization", "status": "lead", "marketing_event_id": ""})
    assert plain.status_code == 303
    assert (await api_get(client, company, f"accounts/{plain.headers['location'].rsplit('/', 1)[1]}"))[
        "marketing_event_id"] is None


async def test_new_account_refuses_foreign_unknown_and_archived_events(owner, company, client,
                                                                      make_company) -> None:
    other = await make_company()
    foreign = await api_event(client, other, name="Their Expo")
    gone = await api_event(client, company, name="Old Fair")
    await archive_event(client, company, gone)
    before = await writes(company)
    for bad, reason in ((foreign["id"], "no such marketing event"), ("not-an-id", "not an id"),
                        (gone["id"], "the marketing event is archived")):
        refused = await owner.submit(f"/t/{company.slug}/accounts/new", data={
            "name": "Sneaky Ltd", "kind": "organization", "status": "lead", "marketing_event_id": bad})
        shown = assert_page(refused, 422, "Please correct the highlighted fields.", 'value="Sneaky Ltd"')
        assert re.search(rf'id="e-marketing_event_id" class="error">{reason}<', shown), (bad, shown[:3000])
    assert await writes(company) == before


async def test_account_edit_keeps_an_archived_event_and_changes_it_with_the_version(owner, company, client) -> None:
    fair = await api_event(client, company, name="Autumn Fair")
    webinar = await api_event(client, company, name="Cloud Webinar", channel="webinar")
    account = await api_account(client, company, name="Kept Co", marketing_event_id=fair["id"])
    await archive_event(client, company, fair)
    card = assert_page(await owner.get(f"/t/{company.slug}/accounts/{account['id']}"), 200, "Autumn Fair")
    edit_url = f"/t/{company.slug}/accounts/{account['id']}/edit"
    assert f'href="{edit_url}"' in card
    page = assert_page(await owner.get(edit_url), 200, "Edit account")
    assert event_choices(page) == [("", "No marketing event", False), (webinar["id"], "Cloud Webinar", False),
                                   (fair["id"], "Autumn Fair (archived)", True)]
    fields = form_fields(page, "account-form")
    assert value(fields, "version") == "1"
    # another field changes; the archived event stays (it is not sent again)
    token = await owner.csrf(edit_url)
    saved = await owner.post(edit_url, {**as_data(replace(fields, "website", "https://kept.example")),
                                        "_csrf_token": token})
    assert_redirect(saved, f"/t/{company.slug}/accounts/{account['id']}")
    assert owner.flash(saved) == "Account saved."
    body = await api_get(client, company, f"accounts/{account['id']}")
    assert (body["website"], body["marketing_event_id"], body["version"]) == (
        "https://kept.example", fair["id"], 2)
    # a stale form is refused with the current state and writes nothing
    stale = await owner.post(edit_url, {**as_data(replace(fields, "marketing_event_id", webinar["id"])),
                                        "_csrf_token": token})
    shown = assert_page(stale, 409, "This account was changed by someone else meanwhile.")
    assert 'name="version" value="2"' in shown
    assert (await api_get(client, company, f"accounts/{account['id']}"))["marketing_event_id"] == fair["id"]
    # with the current version the new event is saved
    fields = form_fields((await owner.get(edit_url)).text, "account-form")
    changed = await owner.post(edit_url, {**as_data(replace(fields, "marketing_event_id", webinar["id"])),
                                          "_csrf_token": token})
    assert_redirect(changed, f"/t/{company.slug}/accounts/{account['id']}")
    body = await api_get(client, company, f"accounts/{account['id']}")
    assert (body["marketing_event_id"], body["version"]) == (webinar["id"], 3)
    # the archived event cannot be chosen again, and the form says so next to the field
    fields = form_fields((await owner.get(edit_url)).text, "account-form")
    assert all(v != fair["id"] for v, _ in fields)
    back = await owner.post(edit_url, {**as_data(replace(fields, "marketing_event_id", fair["id"])),
                                       "_csrf_token": token})
    shown = assert_page(back, 422, "Please correct the highlighted fields.")
    assert re.search(r'id="e-marketing_event_id" class="error">the marketing event is archived<', shown)
    assert ("", "No marketing event", False) in event_choices(shown)
    assert (fair["id"], "Autumn Fair (archived)", True) in event_choices(shown)  # the reader's choice is kept
    assert (await api_get(client, company, f"accounts/{account['id']}"))["version"] == 3


async def test_account_edit_refuses_a_foreign_event_and_nothing_is_written(owner, company, client,
                                                                          make_company) -> None:
    other = await make_company()
    foreign = await api_event(client, other, name="Their Expo")
    account = await api_account(client, company, name="Guarded Co")
    edit_url = f"/t/{company.slug}/accounts/{account['id']}/edit"
    before = await writes(company)
    refused = await owner.submit(edit_url, data={"version": "1", "name": "Renamed Co",
                                                 "marketing_event_id": foreign["id"]})
    shown = assert_page(refused, 422, "Please correct the highlighted fields.", 'value="Renamed Co"')
    assert re.search(r'id="e-marketing_event_id" class="error">no such marketing event<', shown)
    assert await writes(company) == before
    body = await api_get(client, company, f"accounts/{account['id']}")
    assert (body["name"], body["marketing_event_id"], body["version"]) == ("Guarded Co", None, 1)


async def test_new_deal_form_starts_from_the_account_and_saves_the_event(owner, company, client) -> None:
    event = await api_event(client, company, name="Spring Webinar", channel="webinar")
    account = await api_account(client, company, name="Deal Host Co")
    card = await owner.get(f"/t/{company.slug}/accounts/{account['id']}")
    new_url = f"/t/{company.slug}/deals/new?account={account['id']}"
    assert f'href="{new_url}"' in card.text
    board = await owner.get(f"/t/{company.slug}/deals/")
    assert f'href="/t/{company.slug}/deals/new?pipeline=' in board.text
    page = assert_page(await owner.get(new_url), 200, "New deal", "Deal Host Co")
    fields = form_fields(page, "deal-form")
    assert value(fields, "account_id") == account["id"]
    assert value(fields, "marketing_event_id") == ""
    assert (event["id"], "Spring Webinar", False) in event_choices(page)
    fields = replace(replace(replace(fields, "title", "Webinar lead"), "amount", "1200"), "marketing_event_id",
                     event["id"])
    made = await owner.post("/t/" + company.slug + "/deals/new",
                            {**as_data(fields), "_csrf_token": await owner.csrf(new_url)})
    assert made.status_code == 303, made.text[:2000]
    assert owner.flash(made) == "Deal created."
    deal_id = made.headers["location"].rsplit("/", 1)[1]
    body = await api_get(client, company, f"deals/{deal_id}")
    assert (body["title"], body["account_id"], body["amount"], body["marketing_event_id"]) == (
        "Webinar lead", account["id"], "1200.00", event["id"])


async def test_new_deal_refuses_bad_input_next_to_the_fields(owner, company, client, make_company) -> None:
    other = await make_company()
    foreign = await api_event(client, other, name="Their Expo")
    account = await api_account(client, company, name="Deal Host Co")
    before = await writes(company)
    refused = await owner.submit(f"/t/{company.slug}/deals/new", data={
        "title": "", "account_id": account["id"], "amount": "1.234", "marketing_event_id": foreign["id"]})
    shown = assert_page(refused, 422, "Please correct the highlighted fields.")
    for name in ("title", "amount"):
        assert f'id="e-{name}"' in shown, name
    assert await writes(company) == before
    refused = await owner.submit(f"/t/{company.slug}/deals/new", data={
        "title": "Foreign attribution", "account_id": account["id"], "marketing_event_id": foreign["id"]})
    shown = assert_page(refused, 422, 'value="Foreign attribution"')
    assert re.search(r'id="e-marketing_event_id" class="error">no such marketing event<', shown)
    assert await writes(company) == before


async def test_deal_card_edit_shows_an_archived_event_and_changes_it(owner, company, client, make_company) -> None:
    fair = await api_event(client, company, name="Summer Fair")
    ads = await api_event(client, company, name="Search Ads", channel="ads")
    deal = await api_deal(client, company, title="Attributed deal", marketing_event_id=fair["id"])
    await archive_event(client, company, fair)
    card_url = f"/t/{company.slug}/deals/{deal['id']}"
    page = assert_page(await owner.get(card_url), 200, "Summer Fair")
    assert (fair["id"], "Summer Fair (archived)", True) in event_choices(page)
    fields = form_fields(page, "deal-edit")
    token = await owner.csrf(card_url)
    saved = await owner.post(card_url, {**as_data(replace(fields, "next_action", "Call")), "_csrf_token": token})
    assert_redirect(saved, card_url)
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["next_action"], body["marketing_event_id"], body["version"]) == ("Call", fair["id"], 2)
    other = await make_company()
    foreign = await api_event(client, other, name="Their Expo")
    gone = await api_event(client, company, name="Gone Fair")
    await archive_event(client, company, gone)
    before = await writes(company)
    fields = form_fields((await owner.get(card_url)).text, "deal-edit")
    refused = await owner.post(card_url, {**as_data(replace(fields, "marketing_event_id", foreign["id"])),
                                          "_csrf_token": token})
    shown = assert_page(refused, 422, "Please correct the highlighted fields.")
    assert re.search(r'id="e-marketing_event_id" class="error">no such marketing event<', shown)
    assert await writes(company) == before
    refused = await owner.post(card_url, {**as_data(replace(fields, "marketing_event_id", gone["id"])),
                                          "_csrf_token": token})
    shown = assert_page(refused, 422, "Please correct the highlighted fields.")
    assert re.search(r'id="e-marketing_event_id" class="error">the marketing event is archived<', shown)
    assert (gone["id"], "Gone Fair (archived)", True) in event_choices(shown)  # the reader's choice is kept
    assert (fair["id"], "Summer Fair (archived)", False) in event_choices(shown)  # and the deal's current one
    assert await writes(company) == before
    changed = await owner.post(card_url, {**as_data(replace(fields, "marketing_event_id", ads["id"])),
                                          "_csrf_token": token})
    assert_redirect(changed, card_url)
    assert (await api_get(client, company, f"deals/{deal['id']}"))["marketing_event_id"] == ads["id"]
    cleared = await owner.post(card_url, {**as_data(replace(form_fields((await owner.get(card_url)).text,
                                                                        "deal-edit"), "marketing_event_id", "")),
                                          "_csrf_token": token})
    assert_redirect(cleared, card_url)
    assert (await api_get(client, company, f"deals/{deal['id']}"))["marketing_event_id"] is None


async def test_readers_get_no_forms_and_reps_work_their_own(company, client, member_of) -> None:
    account = await api_account(client, company, name="Owner's Co")
    viewer, _ = await member_of(company, "viewer")
    card = assert_page(await viewer.get(f"/t/{company.slug}/accounts/{account['id']}"), 200, "Owner's Co")
    assert "/edit" not in card
    assert "/deals/new" not in card
    assert "/deals/new" not in (await viewer.get(f"/t/{company.slug}/deals/")).text
    assert (await viewer.get(f"/t/{company.slug}/accounts/{account['id']}/edit")).status_code == 403
    assert (await viewer.get(f"/t/{company.slug}/deals/new")).status_code == 403
    before = await writes(company)
    token = await viewer.csrf(f"/t/{company.slug}/accounts/")
    for path, data in ((f"/t/{company.slug}/accounts/{account['id']}/edit", {"version": "1", "name": "Mine now"}),
                       (f"/t/{company.slug}/deals/new", {"title": "Sneaky", "account_id": account["id"]})):
        assert (await viewer.post(path, {**data, "_csrf_token": token})).status_code == 403, path
    assert await writes(company) == before
    rep, member = await member_of(company, "rep")
    assert (await rep.get(f"/t/{company.slug}/accounts/{account['id']}/edit")).status_code == 404  # not theirs
    own = await api_account(client, company, {"Authorization": f"Bearer {member.token}"}, name="Rep's Co")
    made = await rep.submit(f"/t/{company.slug}/deals/new?account={own['id']}", f"/t/{company.slug}/deals/new",
                            data={"title": "Rep deal", "account_id": own["id"]})
    assert made.status_code == 303, made.text[:2000]
    body = await api_get(client, company, f"deals/{made.headers['location'].rsplit('/', 1)[1]}")
    assert (body["owner_user_id"], body["account_id"]) == (str(member.user_id), own["id"])
