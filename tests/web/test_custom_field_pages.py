"""Custom field settings pages without a browser: owners and admins only, a definition created, edited, archived
and restored as the API shows it, the service's refusals next to their field with nothing written, and a stale
edit form refused with the conflict message."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Browser, assert_page, assert_redirect
from tests.web.crm_data import api_account, api_get


async def definitions(client, company, entity: str, archived: bool = False) -> list[dict[str, Any]]:
    found = await api_get(client, company, f"custom-fields?entity={entity}&archived={str(archived).lower()}")
    return list(found["items"])


async def create(browser: Browser, company, entity: str, **fields: str):
    page = f"/t/{company.slug}/custom-fields/{entity}"
    return await browser.submit(page, data=fields)


async def test_owners_and_admins_only(owner, company, member_of) -> None:
    home = await owner.get(f"/t/{company.slug}/")
    assert f'href="/t/{company.slug}/custom-fields/"' in home.text
    index = await owner.get(f"/t/{company.slug}/custom-fields/")
    assert_redirect(index, f"/t/{company.slug}/custom-fields/account")
    for entity, tab in (("account", "Accounts"), ("contact", "Contacts"), ("deal", "Deals")):
        page = assert_page(await owner.get(f"/t/{company.slug}/custom-fields/{entity}"), 200, "Custom fields",
                           "No custom fields here yet.", "New custom field", tab)
        assert f'href="/t/{company.slug}/custom-fields/{entity}" aria-current="page"' in page
    assert (await owner.get(f"/t/{company.slug}/custom-fields/invoice")).status_code == 404

    admin, _ = await member_of(company, "admin")
    assert_page(await admin.get(f"/t/{company.slug}/custom-fields/deal"), 200, "New custom field")
    for role in ("manager", "rep", "viewer"):
        browser, _ = await member_of(company, role)
        home = await browser.get(f"/t/{company.slug}/")
        assert f'href="/t/{company.slug}/custom-fields/"' not in home.text
        assert (f'href="/t/{company.slug}/pipelines/"' in home.text) == (role == "manager")
        assert_page(await browser.get(f"/t/{company.slug}/custom-fields/account"), 403,
                    "Your role cannot open this page.")
        token = await browser.csrf(f"/t/{company.slug}/")
        tried = await browser.post(f"/t/{company.slug}/custom-fields/account",
                                   {"key": "region", "label": "Region", "type": "text", "_csrf_token": token})
        assert tried.status_code == 403


async def test_create_edit_archive_and_restore(owner, company, client) -> None:
    made = await create(owner, company, "deal", label="Competitor", key="competitor", type="choice",
                        choices="Acme\n\n Globex \n", required="on")
    assert_redirect(made, f"/t/{company.slug}/custom-fields/deal")
    assert "Custom field “Competitor” created." in owner.flash(made)
    await create(owner, company, "deal", label="Budget", key="budget", type="number", choices="ignored for numbers")
    (competitor, budget) = await definitions(client, company, "deal")
    assert (competitor["key"], competitor["type"], competitor["choices"], competitor["required"]) == (
        "competitor", "choice", ["Acme", "Globex"], True)
    assert (budget["key"], budget["type"], budget["choices"], budget["position"]) == ("budget", "number", [], 1)
    listing = assert_page(await owner.get(f"/t/{company.slug}/custom-fields/deal"), 200, "Competitor",
                          "Choice: Acme, Globex", "Budget", "Number")
    assert listing.index('id="field-competitor"') < listing.index('id="field-budget"')  # by position

    edit_url = f"/t/{company.slug}/custom-fields/deal/{competitor['id']}"
    assert_page(await owner.get(edit_url), 200, "Competitor", "competitor", "Choices", "Position")
    saved = await owner.submit(edit_url, data={"label": "Main competitor", "choices": "Acme\nGlobex\nInitech",
                                                "position": "5", "version": str(competitor["version"])})
    assert_redirect(saved, f"/t/{company.slug}/custom-fields/deal")
    assert "Custom field saved." in owner.flash(saved)
    (budget, competitor) = await definitions(client, company, "deal")
    assert (competitor["label"], competitor["choices"], competitor["required"], competitor["position"]) == (
        "Main competitor", ["Acme", "Globex", "Initech"], False, 5)
    assert budget["key"] == "budget"

    same = await owner.submit(edit_url, data={"label": "Main competitor", "choices": "Acme\nGlobex\nInitech",
                                               "position": "5", "version": str(competitor["version"])})
    assert "Nothing to change." in owner.flash(same)

    archive = await owner.submit(edit_url, f"{edit_url}/archive",
                                 data={"archived": "1", "version": str(competitor["version"])})
    assert_redirect(archive, f"/t/{company.slug}/custom-fields/deal?archived=true")
    assert "Custom field archived." in owner.flash(archive)
    assert [d["key"] for d in await definitions(client, company, "deal")] == ["budget"]
    shown = assert_page(await owner.get(f"/t/{company.slug}/custom-fields/deal"), 200, "Budget")
    assert "Main competitor" not in shown
    assert_page(await owner.get(f"/t/{company.slug}/custom-fields/deal?archived=true"), 200, "Main competitor",
                "Archived", "Restore")
    restore = await owner.submit(edit_url, f"{edit_url}/archive", data={"archived": "0"})
    assert "Custom field restored." in owner.flash(restore)
    assert [d["key"] for d in await definitions(client, company, "deal")] == ["budget", "competitor"]


async def test_refusals_next_to_their_field_and_nothing_written(owner, company, client) -> None:
    page = f"/t/{company.slug}/custom-fields/contact"
    no_choices = await create(owner, company, "contact", label="Tier", key="tier", type="choice", choices=" \n")
    shown = assert_page(no_choices, 422, "Please correct the highlighted fields.", "required for fields of type choice")
    assert 'id="e-choices"' in shown
    assert 'value="Tier"' in shown  # the input is kept
    bad_key = await create(owner, company, "contact", label="Tier", key="Tier level", type="text")
    assert 'id="e-key"' in assert_page(bad_key, 422, "lowercase letters, digits and _, starting with a letter")
    no_label = await create(owner, company, "contact", label=" ", key="tier", type="bogus")
    shown = assert_page(no_label, 422)
    assert 'id="e-label"' in shown
    assert 'id="e-type"' in shown
    assert await definitions(client, company, "contact", archived=True) == []

    await create(owner, company, "contact", label="Tier", key="tier", type="choice", choices="Gold\nSilver")
    taken = await create(owner, company, "contact", label="Tier again", key="tier", type="text")
    assert 'id="e-key"' in assert_page(taken, 409, "already used")
    (tier,) = await definitions(client, company, "contact")

    account = await api_account(client, company, name="Tier Co")
    contact = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=company.auth,
                                json={"full_name": "Gold Member", "account_id": account["id"],
                                      "custom": {"tier": "Gold"}})
    assert contact.status_code == 201, contact.text
    edit_url = f"{page}/{tier['id']}"
    in_use = await owner.submit(edit_url, data={"label": "Tier", "choices": "Silver", "position": "0",
                                                 "version": str(tier["version"])})
    shown = assert_page(in_use, 409, "A choice that records still use cannot be removed.", "still in use: Gold")
    assert 'id="e-choices"' in shown
    bad_position = await owner.submit(edit_url, data={"label": "Renamed", "choices": "Gold\nSilver",
                                                       "position": "-3", "version": str(tier["version"])})
    assert 'id="e-position"' in assert_page(bad_position, 422, "a whole number from 0 to 10000")
    assert await definitions(client, company, "contact") == [tier]

    changed = await client.patch(f"/api/v1/t/{company.slug}/custom-fields/{tier['id']}", headers=company.auth,
                                 json={"label": "Changed elsewhere"})
    assert changed.status_code == 200, changed.text
    stale = await owner.submit(edit_url, data={"label": "Mine", "choices": "Gold\nSilver", "position": "0",
                                               "version": str(tier["version"])})
    shown = assert_page(stale, 409, "This custom field was changed by someone else meanwhile.")
    assert 'value="Changed elsewhere"' in shown
    assert (await definitions(client, company, "contact"))[0]["label"] == "Changed elsewhere"
    assert (await owner.get(f"/t/{company.slug}/custom-fields/deal/{tier['id']}")).status_code == 404
