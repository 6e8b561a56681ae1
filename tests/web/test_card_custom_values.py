"""Record cards show every custom field's value read-only in their details: dates and numbers in the reader's
format, yes/no, a dash when empty; archived fields only where the record still holds a value; for every role."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.helpers import execute
from tests.conftest import Company
from tests.web.conftest import assert_page
from tests.web.crm_data import api_account, api_deal
from tests.web.test_custom_field_inputs import define


def facts(page: str) -> dict[str, str]:
    """The custom values of a card: ``cv-<key>`` → the text shown."""
    return {key: re.sub(r"<[^>]+>", "", text).strip()
            for key, text in re.findall(r'<dd class="custom-value" id="cv-([a-z0-9_]+)">(.*?)</dd>', page, re.S)}


def label_of(page: str, key: str) -> str:
    found = re.search(rf'<dt>([^<]*)</dt><dd class="custom-value" id="cv-{key}">', page)
    assert found, page[:3000]
    return found.group(1)


async def every_type(client: httpx.AsyncClient, company: Company, entity: str) -> None:
    await define(client, company, entity=entity, key="since", label="Customer since", type="date")
    await define(client, company, entity=entity, key="fleet", label="Fleet size", type="number")
    await define(client, company, entity=entity, key="vip", label="VIP", type="bool")
    await define(client, company, entity=entity, key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    await define(client, company, entity=entity, key="note", label="Note <b>", type="text")


VALUES = {"since": "2031-03-01", "fleet": "1234567.125", "vip": False, "tier": "gold"}
SHOWN_EN = {"since": "Mar 1, 2031", "fleet": "1,234,567.125", "vip": "No", "tier": "gold", "note": "—"}


async def test_account_card_shows_custom_values_for_every_reader(owner, company, client, member_of) -> None:
    await every_type(client, company, "account")
    account = await api_account(client, company, name="Valued Co", custom=VALUES)
    page = await owner.get(f"/t/{company.slug}/accounts/{account['id']}")
    assert facts(assert_page(page, 200, "Details")) == SHOWN_EN
    assert label_of(page.text, "note") == "Note &lt;b&gt;"  # labels are escaped
    viewer, _ = await member_of(company, "viewer")
    assert facts((await viewer.get(f"/t/{company.slug}/accounts/{account['id']}")).text) == SHOWN_EN


async def test_contact_card_shows_custom_values_in_the_readers_language(owner, company, client) -> None:
    await every_type(client, company, "contact")
    account = await api_account(client, company)
    made = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=company.auth,
                             json={"full_name": "Kim Minji", "account_id": account["id"],
                                   "custom": {**VALUES, "vip": True, "note": "Prefers mornings"}})
    assert made.status_code == 201, made.text
    url = f"/t/{company.slug}/contacts/{made.json()['id']}"
    assert facts((await owner.get(url)).text) == {**SHOWN_EN, "vip": "Yes", "note": "Prefers mornings"}
    await execute("UPDATE shared.users SET locale = 'ru' WHERE id = :i", i=company.user_id)
    shown = {k: v.replace("\xa0", " ").replace("\u202f", " ") for k, v in facts((await owner.get(url)).text).items()}
    assert shown["since"] == "1 мар. 2031 г."  # noqa: RUF001
    assert shown["fleet"] == "1 234 567,125"
    assert shown["vip"] == "Да"


async def test_deal_card_shows_custom_values_and_archived_fields_only_with_a_value(owner, company, client) -> None:
    await every_type(client, company, "deal")
    region = await define(client, company, entity="deal", key="region", label="Region", type="text")
    old = await define(client, company, entity="deal", key="legacy", label="Legacy code", type="text")
    deal = await api_deal(client, company, title="Custom deal", custom={"fleet": "7", "region": "Busan"})
    url = f"/t/{company.slug}/deals/{deal['id']}"
    shown = facts(assert_page(await owner.get(url), 200, "Fleet size"))
    assert shown == {"since": "—", "fleet": "7", "vip": "—", "tier": "—", "note": "—", "region": "Busan",
                     "legacy": "—"}
    for definition in (region, old):
        archived = await client.delete(f"/api/v1/t/{company.slug}/custom-fields/{definition['id']}",
                                       headers=company.auth)
        assert archived.status_code == 200, archived.text
    shown = facts((await owner.get(url)).text)
    assert shown["region"] == "Busan"  # archived, but the deal holds a value: still shown
    assert "legacy" not in shown  # archived and empty: left out


async def test_card_values_need_no_edit_form(company, client, member_of) -> None:
    await every_type(client, company, "deal")
    body: dict[str, Any] = {"custom": {"tier": "silver"}}
    deal = await api_deal(client, company, title="Read only values", **body)
    viewer, _ = await member_of(company, "viewer")
    page = await viewer.get(f"/t/{company.slug}/deals/{deal['id']}")
    assert 'id="edit"' not in page.text
    assert facts(page.text)["tier"] == "silver"
