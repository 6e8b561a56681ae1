"""Marketing events pages: list (channel filter, name search, cursor pages), new and edit forms (field errors, nothing
written on bad input, stale versions), archive and restore, the event page with ROI per currency and the accounts
and deals attributed to it; managers and up change events, every other role only reads."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.helpers import execute, scalar
from tests.conftest import Company
from tests.web.conftest import assert_page, assert_redirect
from tests.web.crm_data import api_account, api_deal, api_get

EXPO = {"name": "COEX Logistics Expo", "channel": "exhibition", "starts_on": "2026-10-01", "ends_on": "2026-10-03",
        "budget": "1000", "currency": "USD"}


def events_url(company: Company, suffix: str = "") -> str:
    return f"/t/{company.slug}/marketing-events{suffix}"


async def api_event(client: httpx.AsyncClient, company: Company, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/t/{company.slug}/marketing-events", headers=company.auth,
                                 json={**EXPO, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def counts(company: Company) -> tuple[int, int]:
    schema = company.tenant.schema
    return (int(await scalar(f'SELECT count(*) FROM "{schema}".marketing_events')),
            int(await scalar(f'SELECT count(*) FROM "{schema}".audit_log')))


async def test_a_manager_creates_edits_archives_and_restores_an_event(company, client, member_of) -> None:
    manager, _ = await member_of(company, "manager")
    listing = assert_page(await manager.get(events_url(company, "/")), 200, "Marketing events",
                          "No marketing events found")
    assert f'href="{events_url(company, "/new")}"' in listing
    assert f'href="/t/{company.slug}/marketing-events"' in listing  # the navigation link
    form = assert_page(await manager.get(events_url(company, "/new")), 200, "New marketing event")
    assert 'name="currency" type="text" value="USD"' in form  # the company's currency is the default
    made = await manager.submit(events_url(company, "/new"), data={
        "name": " Busan Motor Show ", "channel": "exhibition", "starts_on": "2026-05-01", "ends_on": "2026-05-03",
        "budget": "12500.50", "currency": "eur", "notes": "Hall B"})
    assert made.status_code == 303, made.text[:2000]
    event_id = made.headers["location"].rsplit("/", 1)[1]
    assert manager.flash(made) == "Marketing event created."
    body = await api_get(client, company, f"marketing-events/{event_id}")
    assert (body["name"], body["budget"], body["currency"], body["starts_on"], body["version"]) == (
        "Busan Motor Show", "12500.50", "EUR", "2026-05-01", 1)
    page = assert_page(await manager.get(events_url(company, f"/{event_id}")), 200, "Busan Motor Show",
                       "Exhibition", "May 1, 2026", "€12,500.50", "Hall B", "ROI")

    edit_url = events_url(company, f"/{event_id}/edit")
    assert_page(await manager.get(edit_url), 200, "Edit marketing event", 'value="12500.50"')
    saved = await manager.submit(edit_url, data={**EXPO, "name": "Busan Motor Show 2026", "budget": "0",
                                                 "currency": "EUR", "version": "1"})
    assert_redirect(saved, events_url(company, f"/{event_id}"))
    body = await api_get(client, company, f"marketing-events/{event_id}")
    assert (body["name"], body["budget"], body["channel"], body["version"]) == (
        "Busan Motor Show 2026", "0.00", "exhibition", 2)
    page = assert_page(await manager.get(events_url(company, f"/{event_id}")), 200, "no budget")

    archived = await manager.submit(events_url(company, f"/{event_id}"), events_url(company, f"/{event_id}/archive"),
                                    data={"version": "2"})
    assert_redirect(archived, events_url(company, f"/{event_id}"))
    assert manager.flash(archived) == "Marketing event archived."
    assert (await api_get(client, company, f"marketing-events/{event_id}"))["archived_at"] is not None
    listing = await manager.get(events_url(company, "/"))
    assert "Busan Motor Show 2026" not in listing.text  # archived events are left out ...
    listing = await manager.get(events_url(company, "/"), params={"archived": "on"})
    assert_page(listing, 200, "Busan Motor Show 2026", "Archived")  # ... unless asked for
    page = assert_page(await manager.get(events_url(company, f"/{event_id}")), 200, "Restore")
    stale = await manager.submit(events_url(company, f"/{event_id}"), events_url(company, f"/{event_id}/restore"),
                                 data={"version": "2"})
    assert_redirect(stale, events_url(company, f"/{event_id}"))
    assert "changed by someone else" in manager.flash(stale)
    restored = await manager.submit(events_url(company, f"/{event_id}"), events_url(company, f"/{event_id}/restore"),
                                    data={"version": "3"})
    assert manager.flash(restored) == "Marketing event restored."
    assert (await api_get(client, company, f"marketing-events/{event_id}"))["archived_at"] is None
    assert "Archive" in page


async def test_bad_input_is_shown_next_to_the_fields_and_nothing_is_written(owner, company, client) -> None:
    before = await counts(company)
    bad = await owner.submit(events_url(company, "/new"), data={
        "name": "  ", "channel": "exhibition", "starts_on": "2026-05-03", "ends_on": "2026-05-01",
        "budget": "-5", "currency": "EURO"})
    shown = assert_page(bad, 422, "Please correct the highlighted fields.")
    assert re.search(r'id="e-name" class="error">required<', shown)
    assert re.search(r'id="e-budget" class="error">out of range<', shown)
    assert 'id="e-ends_on"' in shown
    assert 'id="e-currency"' in shown
    assert 'value="-5"' in shown
    assert 'value="EURO"' in shown
    assert await counts(company) == before

    event = await api_event(client, company)
    before = await counts(company)
    edit_url = events_url(company, f"/{event['id']}/edit")
    bad = await owner.submit(edit_url, data={**EXPO, "name": "", "budget": "12.345", "version": "1"})
    shown = assert_page(bad, 422)
    assert 'id="e-name"' in shown
    assert re.search(r'id="e-budget" class="error">a number with at most 2 decimals<', shown)
    body = await api_get(client, company, f"marketing-events/{event['id']}")
    assert (body["name"], body["budget"], body["version"]) == (EXPO["name"], "1000.00", 1)
    assert await counts(company) == before

    changed = await client.patch(f"/api/v1/t/{company.slug}/marketing-events/{event['id']}", headers=company.auth,
                                 json={"name": "Changed meanwhile"})
    assert changed.status_code == 200
    stale = await owner.submit(edit_url, data={**EXPO, "name": "Mine", "version": "1"})
    shown = assert_page(stale, 409, "This marketing event was changed by someone else meanwhile.")
    assert 'name="version" value="2"' in shown
    assert 'value="Mine"' in shown
    assert (await api_get(client, company, f"marketing-events/{event['id']}"))["name"] == "Changed meanwhile"


async def test_readers_see_events_and_every_change_is_refused(company, client, member_of) -> None:
    event = await api_event(client, company, name="Read only fair")
    before = await counts(company)
    for role in ("viewer", "rep", "accountant"):
        reader, _ = await member_of(company, role)
        listing = assert_page(await reader.get(events_url(company, "/")), 200, "Read only fair")
        assert events_url(company, "/new") not in listing, role
        page = assert_page(await reader.get(events_url(company, f"/{event['id']}")), 200, "Read only fair", "ROI")
        assert "/archive" not in page, role
        assert "/edit" not in page, role
        assert (await reader.get(events_url(company, "/new"))).status_code == 403, role
        assert (await reader.get(events_url(company, f"/{event['id']}/edit"))).status_code == 403, role
        token = await reader.csrf(events_url(company, "/"))
        for action, data in (("/new", {**EXPO, "name": "Sneaky"}),
                             (f"/{event['id']}/edit", {**EXPO, "name": "Sneaky", "version": "1"}),
                             (f"/{event['id']}/archive", {"version": "1"})):
            tried = await reader.post(events_url(company, action), {**data, "_csrf_token": token})
            assert tried.status_code == 403, (role, action)
    assert await counts(company) == before
    assert (await api_get(client, company, f"marketing-events/{event['id']}"))["name"] == "Read only fair"


async def test_the_list_filters_by_channel_and_name_and_pages(owner, company, client) -> None:
    await api_event(client, company, name="Seoul Webinar", channel="webinar")
    await api_event(client, company, name="Tokyo Fair", channel="exhibition")
    found = await owner.get(events_url(company, "/"), params={"channel": "webinar"})
    assert_page(found, 200, "Seoul Webinar")
    assert "Tokyo Fair" not in found.text
    found = await owner.get(events_url(company, "/"), params={"q": "tokyo"}, headers={"HX-Request": "true"})
    assert_page(found, 200, "Tokyo Fair")
    assert "Seoul Webinar" not in found.text
    assert "<html" not in found.text
    schema = company.tenant.schema
    await execute(f'INSERT INTO "{schema}".marketing_events (id, name, channel, budget, currency, created_at) '
                  "SELECT gen_random_uuid(), 'Ad ' || lpad(n::text, 3, '0'), 'ads', 10, 'USD', "
                  "now() - n * interval '1 minute' FROM generate_series(1, 55) AS n")
    first = await owner.get(events_url(company, "/"), params={"channel": "ads"})
    assert first.text.count("/marketing-events/") >= 50
    pager = re.search(r'href="([^"]*cursor=[^"]+)"', first.text)
    assert pager, first.text[-2000:]
    second = await owner.get(pager.group(1).replace("&amp;", "&"))
    shown = assert_page(second, 200, "Ad 055")
    assert "Ad 001" not in shown
    assert "Next page" not in shown
    junk = await owner.get(events_url(company, "/"), params={"cursor": "not-a-cursor"})
    assert junk.status_code == 200  # a stale cursor shows the first page


async def test_roi_is_shown_per_currency_with_the_attributed_records(owner, company, client) -> None:
    event = await api_event(client, company, name="Seminar", channel="seminar", budget="750", currency="USD")
    account = await api_account(client, company, name="Attributed Co", marketing_event_id=event["id"])
    await api_account(client, company, name="Elsewhere Co")
    for title, amount, currency, win in (("US win", "2500", "USD", True), ("Euro win", "300", "EUR", True),
                                         ("US open", "400", "USD", False)):
        deal = await api_deal(client, company, account, title=title, amount=amount, currency=currency,
                              marketing_event_id=event["id"])
        if win:
            won = await client.post(f"/api/v1/t/{company.slug}/deals/{deal['id']}/win", headers=company.auth)
            assert won.status_code == 200, won.text
    await api_deal(client, company, account, title="Not attributed", amount="999", currency="USD")
    page = await owner.get(events_url(company, f"/{event['id']}"))
    shown = assert_page(page, 200, "Attributed Co", "US win", "Euro win", "US open", "1 account attributed.")
    assert "Elsewhere Co" not in shown
    assert "Not attributed" not in shown
    usd, eur = row_cells(shown, "roi-USD"), row_cells(shown, "roi-EUR")
    assert usd == ["USD", "$750.00", "$2,500.00", "1", "$400.00", "1", "3.3333"], usd  # 4 decimals, as computed
    assert eur == ["EUR", "—", "€300.00", "1", "€0.00", "0", "—"], eur  # no budget, no ROI: never summed
    assert "$2,800.00" not in shown


def row_cells(page: str, row_id: str) -> list[str]:
    row = page.split(f'id="{row_id}"', 1)[1].split(">", 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
