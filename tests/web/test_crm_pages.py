"""CRM account pages: nav entry, list with search/filter/htmx rows, create form errors, card, visibility."""

from __future__ import annotations

from tests.api.helpers import add_member


async def api_account(client, company, auth=None, **fields):
    response = await client.post(f"/api/v1/t/{company.slug}/accounts", headers=auth or company.auth,
                                 json={"name": "Card Co", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def test_nav_list_search_and_htmx_fragment(owner, company, client) -> None:
    await api_account(client, company, name="Hanbit Trading", status="customer")
    await api_account(client, company, name="Moscow Steel")
    home = await owner.get(f"/t/{company.slug}/")
    assert f'href="/t/{company.slug}/accounts"' in home.text  # the CRM module's nav entry
    listing = await owner.get(f"/t/{company.slug}/accounts/")
    assert listing.status_code == 200
    assert "Hanbit Trading" in listing.text
    assert "Moscow Steel" in listing.text
    found = await owner.get(f"/t/{company.slug}/accounts/", params={"q": "hanbit"})
    assert "Hanbit Trading" in found.text
    assert "Moscow Steel" not in found.text
    customers = await owner.get(f"/t/{company.slug}/accounts/", params={"status": "customer"})
    assert "Moscow Steel" not in customers.text
    fragment = await owner.get(f"/t/{company.slug}/accounts/", params={"q": "steel"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert "Moscow Steel" in fragment.text
    stale = await owner.get(f"/t/{company.slug}/accounts/", params={"cursor": "not-a-cursor"})
    assert stale.status_code == 200
    assert "Invalid cursor." in stale.text


async def test_create_form_errors_then_success_then_card(owner, company) -> None:
    bad = await owner.submit(f"/t/{company.slug}/accounts/new", data={"name": "", "kind": "organization",
                                                                       "status": "lead"})
    assert bad.status_code == 422
    assert 'id="e-name"' in bad.text
    made = await owner.submit(f"/t/{company.slug}/accounts/new", data={
        "name": "Fresh Leads Ltd", "kind": "organization", "status": "prospect", "tags": "vip, seoul"})
    assert made.status_code == 303, made.text[:300]
    card = await owner.get(made.headers["location"])
    assert card.status_code == 200
    assert "Fresh Leads Ltd" in card.text
    assert "seoul, vip" in card.text
    assert "No legal entities" in card.text
    assert "Create" in card.text


async def test_card_shows_entities_contacts_and_respects_visibility(owner, company, client, new_browser) -> None:
    account = await api_account(client, company, name="Visible Holding")
    await client.post(f"/api/v1/t/{company.slug}/legal-entities", headers=company.auth,
                      json={"account_id": account["id"], "registered_name": "Visible Holding LLC", "tax_id": "77-1"})
    await client.post(f"/api/v1/t/{company.slug}/contacts", headers=company.auth,
                      json={"account_id": account["id"], "full_name": "Ivan Petrov", "email": "ivan@visible.example"})
    card = await owner.get(f"/t/{company.slug}/accounts/{account['id']}")
    assert "Visible Holding LLC" in card.text
    assert "Ivan Petrov" in card.text
    rep = await add_member(company.tenant.id, "rep")
    rep_browser = new_browser().sign_in(rep.token)
    hidden = await rep_browser.get(f"/t/{company.slug}/accounts/{account['id']}")
    assert hidden.status_code == 404
    listing = await rep_browser.get(f"/t/{company.slug}/accounts/")
    assert "Visible Holding" not in listing.text
    assert "New account" in listing.text  # reps may create


async def test_viewers_get_no_create_button_and_crm_off_hides_it(owner, company, new_browser) -> None:
    viewer = await add_member(company.tenant.id, "viewer")
    page = await new_browser().sign_in(viewer.token).get(f"/t/{company.slug}/accounts/")
    assert page.status_code == 200
    assert "New account" not in page.text
    saved = await owner.submit(f"/t/{company.slug}/settings", f"/t/{company.slug}/settings/modules",
                               data={"modules": ["sales"]})
    assert saved.status_code == 303
    assert (await owner.get(f"/t/{company.slug}/accounts/")).status_code == 404
    assert f'href="/t/{company.slug}/accounts"' not in (await owner.get(f"/t/{company.slug}/")).text
