"""Contact card privacy: download links (JSON, CSV ZIP) for owners/admins/managers, the erase form with a reason, a
confirmation page, CSRF, the erased state afterwards; other roles see neither and are refused."""

from __future__ import annotations

import io
import json
import zipfile

from tests.api.helpers import scalar
from tests.web.conftest import assert_page, assert_redirect
from tests.web.test_contact_card import api_contact, card_url, text_of


def erase_url(company, contact) -> str:
    return f"{card_url(company, contact)}/erase"


async def test_download_links_give_the_json_and_the_csv_zip(owner, company, client) -> None:
    contact = await api_contact(client, company, full_name="Park Jisoo", email="jisoo@privacy.example")
    page = assert_page(await owner.get(card_url(company, contact)), 200, "Download data (JSON)",
                       "Download data (CSV)", "Erase personal data")
    assert f'href="{card_url(company, contact)}/privacy-export?format=json"' in page
    as_json = await owner.get(f"{card_url(company, contact)}/privacy-export?format=json")
    assert as_json.status_code == 200
    assert as_json.headers["content-disposition"].startswith("attachment;")
    assert json.loads(as_json.content)["contact"]["email"] == "jisoo@privacy.example"
    as_csv = await owner.get(f"{card_url(company, contact)}/privacy-export?format=csv")
    assert as_csv.status_code == 200
    assert "contact.csv" in zipfile.ZipFile(io.BytesIO(as_csv.content)).namelist()


async def test_erase_asks_for_a_reason_then_confirmation_then_shows_the_erased_card(owner, company, client) -> None:
    contact = await api_contact(client, company, full_name="Park Jisoo", email="jisoo@privacy.example",
                                job_title="Secret Title")
    url = card_url(company, contact)
    schema = company.tenant.schema
    before = await scalar(f'SELECT count(*) FROM "{schema}".audit_log')

    no_reason = await owner.submit(url, erase_url(company, contact), data={"reason": "  "})
    shown = assert_page(no_reason, 422, "Park Jisoo")
    assert 'id="e-reason"' in shown

    asked = await owner.submit(url, erase_url(company, contact), data={"reason": "Request 42"})
    confirm = assert_page(asked, 200, "Erase personal data of Park Jisoo?", "Request 42", "Erase permanently")
    assert f'name="confirm" value="{contact["id"]}"' in confirm
    assert await scalar(f'SELECT count(*) FROM "{schema}".audit_log') == before  # nothing yet

    forged = await owner.post(erase_url(company, contact), {"reason": "Request 42", "confirm": contact["id"]})
    assert forged.status_code == 403  # no CSRF token
    wrong = await owner.submit(url, erase_url(company, contact), data={"reason": "Request 42", "confirm": "nope"})
    assert_page(wrong, 422, "Park Jisoo")
    assert await scalar(f'SELECT count(*) FROM "{schema}".audit_log') == before

    done = await owner.submit(url, erase_url(company, contact), data={"reason": "Request 42",
                                                                       "confirm": contact["id"]})
    assert_redirect(done, url)
    assert owner.flash(done) == "The contact's personal data was erased."
    card = assert_page(await owner.get(url), 200, "Personal data erased on", "Erased contact")
    assert "Park Jisoo" not in card
    assert "jisoo@privacy.example" not in card
    assert 'id="edit"' not in card
    assert "Erase personal data</summary>" not in card
    history = text_of(card.split("<h2>History</h2>", 1)[1])
    assert "Personal data erased" in history
    assert "Reason: — → Request 42" in history
    assert "Full name: — → erased" in history
    assert "Download data (JSON)" in card  # the export of what is left stays available

    again = await owner.submit(url, erase_url(company, contact), data={"reason": "Again", "confirm": contact["id"]})
    assert_redirect(again, url)
    assert owner.flash(again) == "This contact's personal data was erased already."


async def test_roles_see_and_may_what_the_service_allows(company, client, member_of) -> None:
    contact = await api_contact(client, company, full_name="Role Person")
    url = card_url(company, contact)
    manager, _ = await member_of(company, "manager")
    page = assert_page(await manager.get(url), 200, "Download data (JSON)")
    assert "Erase personal data" not in page
    tried = await manager.submit(url, erase_url(company, contact), data={"reason": "r", "confirm": contact["id"]})
    assert tried.status_code == 403
    for role in ("rep", "viewer", "accountant"):
        browser, member = await member_of(company, role)
        own = await api_contact(client, company, full_name="Role Person", owner_user_id=str(member.user_id))
        page = assert_page(await browser.get(card_url(company, own)), 200, "Role Person")
        assert "Download data" not in page
        assert 'id="privacy"' not in page
        assert (await browser.get(f"{card_url(company, own)}/privacy-export")).status_code == 403
    admin, _ = await member_of(company, "admin")
    asked = await admin.submit(url, erase_url(company, contact), data={"reason": "Admin request"})
    assert_page(asked, 200, "Erase permanently")
