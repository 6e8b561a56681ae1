"""Record history on the account, contact and deal cards names what ids stand for: marketing events (marked when
archived, "(deleted)" when gone), accounts and contacts of merges and erasures (hidden when the reader may not see
them), custom fields by their label; lists read as comma-separated values; never a bare id or a field code."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.helpers import execute
from tests.conftest import Company
from tests.web.conftest import assert_page
from tests.web.crm_data import api_account, api_deal, stages
from tests.web.test_attribution_forms import api_event, archive_event
from tests.web.test_custom_field_inputs import define
from tests.web.test_deal_checklist import checklist_on

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def history_of(page: str) -> list[str]:
    """The history table's change lines ("Label: before → after"), tags stripped."""
    table = page.split('<table class="history">', 1)[1]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", line)).strip()
            for line in re.findall(r"<div><span class=\"field-label\">.*?</div>", table, re.S)]


def history_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page.split('<table class="history">', 1)[1])


def assert_no_ids(page: str) -> None:
    text = history_text(page)
    assert not UUID.search(text), UUID.search(text)
    for code in ("_id", "checklist_done", "products_of_interest", "custom.", "merged_from", "moved:", "["):
        assert code not in text, code


async def patch(client: httpx.AsyncClient, company: Company, path: str, body: dict[str, Any]) -> None:
    response = await client.patch(f"/api/v1/t/{company.slug}/{path}", headers=company.auth, json=body)
    assert response.status_code == 200, response.text


async def test_deal_history_names_events_and_lists_checklist_and_products(owner, company, client) -> None:
    await checklist_on(client, company, {"Proposal": ["Budget known", "NDA signed"]})
    spring = await api_event(client, company, name="Spring Expo")
    autumn = await api_event(client, company, name="Autumn Expo")
    deal = await api_deal(client, company, title="Labelled deal", marketing_event_id=spring["id"])
    await patch(client, company, f"deals/{deal['id']}", {
        "checklist_done": ["Budget known", "NDA signed"], "products_of_interest": ["Forklift", "Pallet jack"],
        "marketing_event_id": autumn["id"]})
    await archive_event(client, company, autumn)
    await execute(f'DELETE FROM "{company.tenant.schema}".marketing_events WHERE id = :i', i=spring["id"])
    page = assert_page(await owner.get(f"/t/{company.slug}/deals/{deal['id']}"), 200, "Labelled deal")
    lines = history_of(page)
    assert "Checklist items ticked: — → Budget known, NDA signed" in lines, lines
    assert "Products of interest: — → Forklift, Pallet jack" in lines, lines
    assert "Marketing event: (deleted) → Autumn Expo (archived)" in lines, lines
    assert "Marketing event: — → (deleted)" in lines, lines  # the deal was created with the event since deleted
    assert "Account: — → Card Co" in lines, lines
    pipeline = (await stages(client, company))["_pipeline"]
    assert f"Pipeline: — → {pipeline['name']}" in lines, lines
    assert "Stage: — → Qualification" in lines, lines
    assert_no_ids(page)


async def test_account_history_names_custom_fields_events_and_merges(owner, company, client) -> None:
    await define(client, company, entity="account", key="fleet", label="Fleet size", type="number")
    await define(client, company, entity="account", key="since", label="Customer since", type="date")
    event = await api_event(client, company, name="Busan Show")
    survivor = await api_account(client, company, name="Survivor Co", tags=["seoul", "vip"])
    duplicate = await api_account(client, company, name="Duplicate Co")
    await api_deal(client, company, duplicate, title="Moved deal")
    await patch(client, company, f"accounts/{survivor['id']}", {
        "marketing_event_id": event["id"], "custom": {"fleet": "1234.5", "since": "2031-03-01"}})
    merged = await client.post(f"/api/v1/t/{company.slug}/accounts/{survivor['id']}/merge", headers=company.auth,
                               json={"duplicate_id": duplicate["id"]})
    assert merged.status_code == 200, merged.text
    page = assert_page(await owner.get(f"/t/{company.slug}/accounts/{survivor['id']}"), 200, "Survivor Co")
    lines = history_of(page)
    assert "Tags: — → seoul, vip" in lines, lines
    assert "Marketing event: — → Busan Show" in lines, lines
    assert "Fleet size: — → 1,234.5" in lines, lines
    assert "Customer since: — → Mar 1, 2031" in lines, lines
    assert "Merged from: — → Duplicate Co" in lines, lines
    assert "Deals moved over: 0 → 1" in lines, lines
    assert "Merged" in history_text(page)  # the merge's action, as a word
    assert_no_ids(page)


async def test_contact_history_names_accounts_merged_contacts_and_roles(owner, company, client, member_of) -> None:
    account = await api_account(client, company, name="Employer Co")

    async def contact(**fields: Any) -> dict[str, Any]:
        made = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=company.auth, json=fields)
        assert made.status_code == 201, made.text
        return dict(made.json())

    kept = await contact(full_name="Kim Minji", account_id=account["id"], roles=["decision_maker", "payer"])
    other = await contact(full_name="Minji Kim (old)")
    merged = await client.post(f"/api/v1/t/{company.slug}/contacts/{kept['id']}/merge", headers=company.auth,
                               json={"duplicate_id": other["id"]})
    assert merged.status_code == 200, merged.text
    page = assert_page(await owner.get(f"/t/{company.slug}/contacts/{kept['id']}"), 200, "Kim Minji")
    lines = history_of(page)
    assert "Account: — → Employer Co" in lines, lines
    assert "Roles: — → Decision maker, Payer" in lines, lines
    assert "Merged from: — → Minji Kim (old)" in lines, lines
    assert_no_ids(page)
    duplicate = assert_page(await owner.get(f"/t/{company.slug}/contacts/{other['id']}"), 200, "Minji Kim (old)")
    lines = history_of(duplicate)
    assert "Merged into: — → Kim Minji" in lines, lines
    assert any(line.startswith("Archived at: — → ") for line in lines), lines
    assert "Merged into another record" in history_text(duplicate)
    assert_no_ids(duplicate)
    # a rep who may see the contact (it is unowned) but not the merged one (owned by the owner) reads "Hidden"
    await execute(f'UPDATE "{company.tenant.schema}".contacts SET owner_user_id = NULL WHERE id = :i', i=kept["id"])
    await execute(f'UPDATE "{company.tenant.schema}".contacts SET owner_user_id = :u, account_id = NULL '
                  "WHERE id = :i", u=company.user_id, i=other["id"])
    rep, _ = await member_of(company, "rep")
    shown = await rep.get(f"/t/{company.slug}/contacts/{kept['id']}")
    lines = history_of(assert_page(shown, 200, "Kim Minji"))
    assert "Merged from: — → Hidden contact" in lines, lines
    assert "Minji Kim (old)" not in history_text(shown.text)
    assert_no_ids(shown.text)


async def test_history_labels_follow_the_language(owner, company, client) -> None:
    event = await api_event(client, company, name="Seoul Fair")
    deal = await api_deal(client, company, title="Translated deal", marketing_event_id=event["id"],
                          products_of_interest=["Crane"])
    await archive_event(client, company, event)
    await execute("UPDATE shared.users SET locale = 'ru' WHERE id = :i", i=company.user_id)
    lines = history_of((await owner.get(f"/t/{company.slug}/deals/{deal['id']}")).text)
    assert "Маркетинговое мероприятие: — → Seoul Fair (в архиве)" in lines, lines
    assert "Интересующие товары: — → Crane" in lines, lines
