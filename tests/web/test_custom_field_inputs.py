"""Custom field inputs on the staff forms: the new-account form renders the active definitions, stores their values,
shows a field's error next to its input and writes nothing on a bad submission; CSRF is required."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import execute, scalar
from tests.conftest import Company
from tests.web.conftest import assert_page
from tests.web.crm_data import api_deal, api_get


async def define(client: httpx.AsyncClient, company: Company, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/t/{company.slug}/custom-fields", headers=company.auth, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def account_fields(client: httpx.AsyncClient, company: Company) -> None:
    await define(client, company, entity="account", key="region", label="Region", type="text", required=True)
    await define(client, company, entity="account", key="tier", label="Tier", type="choice",
                 choices=["gold", "silver"])
    await define(client, company, entity="account", key="fleet", label="Fleet size", type="number")
    await define(client, company, entity="account", key="vip", label="VIP", type="bool")
    await define(client, company, entity="contact", key="shoe", label="Shoe size", type="number")


async def accounts_count(company: Company) -> int:
    return int(await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".accounts'))


async def stored_custom(company: Company, name: str) -> Any:
    return await scalar(f'SELECT custom FROM "{company.tenant.schema}".accounts WHERE name = :n', n=name)


BASE = {"kind": "organization", "status": "lead"}


async def test_new_account_form_renders_and_stores_custom_values(owner, company, client) -> None:
    await account_fields(client, company)
    url = f"/t/{company.slug}/accounts/new"
    form = assert_page(await owner.get(url), 200, "Region", "Tier", "Fleet size", "VIP")
    assert "Shoe size" not in form  # another entity's fields stay off
    assert 'name="cf.region"' in form
    assert 'name="cf.fleet" type="text" inputmode="decimal"' in form
    assert '<option value="gold"' in form
    assert 'type="checkbox" name="cf.vip"' in form
    made = await owner.submit(url, data={**BASE, "name": "Custom Co", "cf.region": " Seoul ", "cf.tier": "gold",
                                         "cf.fleet": "12.50", "cf.vip": "on"})
    assert made.status_code == 303, made.text[:2000]
    assert await stored_custom(company, "Custom Co") == {"region": "Seoul", "tier": "gold", "fleet": "12.5",
                                                        "vip": True}
    plain = await owner.submit(url, data={**BASE, "name": "Plain Co", "cf.region": "Busan", "cf.tier": "",
                                          "cf.fleet": ""})
    assert plain.status_code == 303, plain.text[:2000]
    assert await stored_custom(company, "Plain Co") == {"region": "Busan", "vip": False}  # empty inputs omitted


async def test_missing_required_and_bad_choice_show_errors_and_write_nothing(owner, company, client) -> None:
    await account_fields(client, company)
    url = f"/t/{company.slug}/accounts/new"
    before = await accounts_count(company)
    missing = await owner.submit(url, data={**BASE, "name": "No Region", "cf.region": "  ", "cf.tier": "silver",
                                            "cf.fleet": "7"})
    shown = assert_page(missing, 422)
    assert 'id="e-cf-region" class="error">required</small>' in shown
    assert 'aria-describedby="e-cf-region"' in shown
    assert '<option value="silver" selected>' in shown  # the other values stay filled in
    assert 'value="7"' in shown
    bad = await owner.submit(url, data={**BASE, "name": "Bad Tier", "cf.region": "Seoul", "cf.tier": "platinum",
                                        "cf.fleet": "lots"})
    shown = assert_page(bad, 422)
    assert 'id="e-cf-tier" class="error">one of: gold, silver</small>' in shown
    assert 'id="e-cf-fleet"' in shown
    assert 'id="e-cf-region"' not in shown
    assert await accounts_count(company) == before


async def test_required_error_is_translated(company, client, member_of) -> None:
    await account_fields(client, company)
    rep, member = await member_of(company, "rep")
    await execute("UPDATE shared.users SET locale = 'ru' WHERE id = :u", u=member.user_id)
    missing = await rep.submit(f"/t/{company.slug}/accounts/new", data={**BASE, "name": "Без региона"})
    shown = assert_page(missing, 422)
    assert 'id="e-cf-region" class="error">обязательное поле</small>' in shown  # the reason went through _()


async def test_csrf_is_required(owner, company, client) -> None:
    await account_fields(client, company)
    before = await accounts_count(company)
    forged = await owner.post(f"/t/{company.slug}/accounts/new", {**BASE, "name": "Forged", "cf.region": "Seoul"})
    assert forged.status_code == 403
    assert await accounts_count(company) == before


async def contact_count_and_versions(company: Company) -> tuple[int, int]:
    schema = company.tenant.schema
    return (int(await scalar(f'SELECT count(*) FROM "{schema}".audit_log')),
            int(await scalar(f'SELECT sum(version) FROM "{schema}".contacts')))


async def test_contact_card_edit_sets_clears_and_checks_custom_values(owner, company, client) -> None:
    await define(client, company, entity="contact", key="shoe", label="Shoe size", type="number")
    await define(client, company, entity="contact", key="since", label="Client since", type="date", required=True)
    await define(client, company, entity="contact", key="newsletter", label="Newsletter", type="bool")
    made = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=company.auth,
                             json={"full_name": "Kim Minji", "custom": {"since": "2024-01-02", "shoe": "250"}})
    assert made.status_code == 201, made.text
    url = f"/t/{company.slug}/contacts/{made.json()['id']}"
    card = assert_page(await owner.get(url), 200, "Shoe size", "Client since", "Newsletter")
    assert 'name="cf.shoe" type="text" inputmode="decimal" value="250"' in card
    assert 'name="cf.since" type="date" value="2024-01-02"' in card
    saved = await owner.submit(url, data={"version": "1", "full_name": "Kim Minji", "cf.shoe": "",
                                          "cf.since": "2025-03-04", "cf.newsletter": "on"})
    assert saved.status_code == 303, saved.text[:2000]
    custom = await scalar(f'SELECT custom FROM "{company.tenant.schema}".contacts WHERE id = :i', i=made.json()["id"])
    assert custom == {"since": "2025-03-04", "newsletter": True}  # the emptied number is cleared
    before = await contact_count_and_versions(company)
    bad = await owner.submit(url, data={"version": "2", "full_name": "Kim Minji", "cf.since": "", "cf.shoe": "big",
                                        "cf.newsletter": "on"})
    shown = assert_page(bad, 422)
    assert 'id="e-cf-since" class="error">required</small>' in shown
    assert 'id="e-cf-shoe"' in shown
    assert 'value="big"' in shown
    assert await contact_count_and_versions(company) == before


async def test_deal_card_edit_sets_custom_values_and_refuses_a_bad_choice(owner, company, client) -> None:
    await define(client, company, entity="deal", key="channel", label="Sales channel", type="choice",
                 choices=["direct", "partner"])
    await define(client, company, entity="deal", key="signed", label="Contract signed", type="bool")
    deal = await api_deal(client, company, title="Custom deal")
    url = f"/t/{company.slug}/deals/{deal['id']}"
    assert_page(await owner.get(url), 200, "Sales channel", "Contract signed")
    saved = await owner.submit(url, data={"version": str(deal["version"]), "title": "Custom deal",
                                          "cf.channel": "partner", "cf.signed": "on"})
    assert saved.status_code == 303, saved.text[:2000]
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert body["custom"] == {"channel": "partner", "signed": True}
    card = assert_page(await owner.get(url), 200)
    assert '<option value="partner" selected>' in card
    bad = await owner.submit(url, data={"version": str(body["version"]), "title": "Custom deal",
                                        "cf.channel": "reseller"})
    shown = assert_page(bad, 422)
    assert 'id="e-cf-channel" class="error">one of: direct, partner</small>' in shown
    after = await api_get(client, company, f"deals/{deal['id']}")
    assert (after["custom"], after["version"]) == (body["custom"], body["version"])
