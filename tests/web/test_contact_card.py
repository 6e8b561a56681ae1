"""Contact card page: fields, account link, roles, consent per channel, tel:/mailto: links, the edit form (errors
next to fields, version, CSRF), history with labels and names, roles, tenants, escaping."""

from __future__ import annotations

import re
from typing import Any

from tests.api.helpers import scalar
from tests.web.conftest import assert_page, assert_redirect
from tests.web.crm_data import api_account, api_get, name_user


async def api_contact(client, company, auth=None, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=auth or company.auth,
                                 json={"full_name": "Kim Minji", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def card_url(company, contact) -> str:
    return f"/t/{company.slug}/contacts/{contact['id']}"


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def counts(company) -> tuple[int, int]:
    schema = company.tenant.schema
    return (int(await scalar(f'SELECT count(*) FROM "{schema}".audit_log')),
            int(await scalar(f'SELECT sum(version) FROM "{schema}".contacts')))


async def test_card_shows_fields_consent_links_and_is_linked_from_the_account(owner, company, client) -> None:
    await name_user(company.user_id, "Olga Owner")
    account = await api_account(client, company, name="Hanbit Trading")
    contact = await api_contact(client, company, account_id=account["id"], job_title="Buyer",
                                email="kim@hanbit.example", phone="+82 10-1234-5678",
                                roles=["decision_maker", "payer"], email_consent=True,
                                email_consent_source="trade show")
    page = await owner.get(card_url(company, contact))
    shown = assert_page(page, 200, "Kim Minji", "Buyer", "Hanbit Trading", "Decision maker, Payer", "Olga Owner",
                        "trade show")
    assert 'href="mailto:kim@hanbit.example"' in page.text
    assert 'href="tel:+821012345678"' in page.text
    assert f'href="/t/{company.slug}/accounts/{account["id"]}"' in page.text
    email_row = text_of(shown.split('id="consent-email"', 1)[1].split("</tr>", 1)[0])
    assert "Given" in email_row
    assert "trade show" in email_row
    assert re.search(r"\d{1,2}:\d{2}", email_row)
    sms_row = text_of(shown.split('id="consent-sms"', 1)[1].split("</tr>", 1)[0])
    assert "Not given" in sms_row
    history = text_of(shown.split("<h2>History</h2>", 1)[1])
    assert "Created" in history
    assert "Olga Owner" in history
    assert "Roles: — → Decision maker, Payer" in history
    assert "Email consent: No → Yes" in history or "Email consent: — → Yes" in history
    assert str(company.user_id) not in history
    assert "email_consent" not in history
    account_card = await owner.get(f"/t/{company.slug}/accounts/{account['id']}")
    assert f'href="/t/{company.slug}/contacts/{contact["id"]}"' in account_card.text
    assert 'href="tel:+821012345678"' in account_card.text


async def test_account_card_history_uses_labels_and_names(owner, company, client) -> None:
    await name_user(company.user_id, "Olga Owner")
    account = await api_account(client, company, name="Before Ltd")
    changed = await client.patch(f"/api/v1/t/{company.slug}/accounts/{account['id']}", headers=company.auth,
                                 json={"name": "After Ltd", "status": "customer", "is_shared": True})
    assert changed.status_code == 200, changed.text
    page = await owner.get(f"/t/{company.slug}/accounts/{account['id']}")
    shown = assert_page(page, 200, "After Ltd")
    history = text_of(shown.split("<h2>History</h2>", 1)[1])
    assert "Name: Before Ltd → After Ltd" in history
    assert "Status: Lead → Customer" in history
    assert "Shared with every rep: No → Yes" in history
    assert "Owner: — → Olga Owner" in history
    assert str(company.user_id) not in history
    assert "owner_user_id" not in history
    assert "<code>" not in shown


async def test_edit_saves_roles_consent_and_fields(owner, company, client) -> None:
    contact = await api_contact(client, company, email="lee@example.com")
    saved = await owner.submit(card_url(company, contact), data={
        "version": "1", "full_name": "Lee Seo-yeon", "job_title": "CFO", "email": "lee@example.com",
        "phone": "010-9876-5432", "phone_region": "KR", "roles": ["payer", "user"], "sms_consent": "on",
        "sms_consent_source": "web form", "email_consent_source": ""})
    assert_redirect(saved, card_url(company, contact))
    assert owner.flash(saved) == "Contact saved."
    body = await api_get(client, company, f"contacts/{contact['id']}")
    assert (body["full_name"], body["job_title"], body["phone"], body["roles"]) == (
        "Lee Seo-yeon", "CFO", "+821098765432", ["payer", "user"])
    assert (body["sms_consent"], body["sms_consent_source"], body["email_consent"]) == (True, "web form", False)
    assert body["sms_consent_at"] is not None
    assert body["version"] == 2
    page = await owner.get(card_url(company, contact))
    history = text_of(assert_page(page, 200).split("<h2>History</h2>", 1)[1])
    assert "Job title: — → CFO" in history
    assert "SMS consent source: — → web form" in history
    # withdrawing the consent clears its time and source
    withdrawn = await owner.submit(card_url(company, contact), data={
        "version": "2", "full_name": "Lee Seo-yeon", "roles": ["payer", "user"], "phone": "+821098765432",
        "sms_consent_source": "web form"})
    assert_redirect(withdrawn, card_url(company, contact))
    body = await api_get(client, company, f"contacts/{contact['id']}")
    assert (body["sms_consent"], body["sms_consent_source"], body["sms_consent_at"]) == (False, None, None)
    assert (body["email"], body["job_title"]) == ("lee@example.com", "CFO")  # fields not posted stay as they are


async def test_field_errors_next_to_fields_and_nothing_written(owner, company, client) -> None:
    contact = await api_contact(client, company)
    before = await counts(company)
    bad = await owner.submit(card_url(company, contact), data={
        "version": "1", "full_name": "", "email": "not-an-email", "phone": "12", "email_consent": "on",
        "email_consent_source": ""})
    assert_page(bad, 422, "Please correct the highlighted fields.")
    for name in ("full_name", "email", "phone", "email_consent_source"):
        assert f'id="e-{name}"' in bad.text, name
    assert re.search(r'id="e-email" class="error">not a valid email address<', bad.text)
    assert 'value="not-an-email"' in bad.text
    assert await counts(company) == before
    no_address = await owner.submit(card_url(company, contact), data={
        "version": "1", "full_name": "Kim Minji", "email_consent": "on", "email_consent_source": "call"})
    assert_page(no_address, 422)
    assert 'id="e-email_consent"' in no_address.text
    assert await counts(company) == before


async def test_stale_form_csrf_and_viewer_are_refused(owner, company, client, member_of) -> None:
    contact = await api_contact(client, company, job_title="Original")
    patched = await client.patch(f"/api/v1/t/{company.slug}/contacts/{contact['id']}", headers=company.auth,
                                 json={"job_title": "Meanwhile"})
    assert patched.status_code == 200
    stale = await owner.submit(card_url(company, contact), data={"version": "1", "full_name": "Kim Minji",
                                                                 "job_title": "Mine"})
    assert_page(stale, 409, "This contact was changed by someone else meanwhile.")
    forged = await owner.post(card_url(company, contact), {"version": "2", "full_name": "Kim Minji",
                                                           "job_title": "Forged"})
    assert forged.status_code == 403
    viewer, _ = await member_of(company, "viewer")
    page = await viewer.get(card_url(company, contact))
    assert_page(page, 200, "Meanwhile")
    assert 'id="edit"' not in page.text
    tried = await viewer.submit(card_url(company, contact), data={"version": "2", "full_name": "Kim Minji",
                                                                  "job_title": "Viewer"})
    assert tried.status_code == 403
    assert (await api_get(client, company, f"contacts/{contact['id']}"))["job_title"] == "Meanwhile"


async def test_rep_visibility_and_other_tenants(company, client, member_of, make_company, new_browser) -> None:
    hidden_account = await api_account(client, company, name="Not yours")
    contact = await api_contact(client, company, account_id=hidden_account["id"], full_name="Private Person")
    rep, member = await member_of(company, "rep")
    assert (await rep.get(card_url(company, contact))).status_code == 404
    own = await api_contact(client, company, auth=member.auth, full_name="Rep Contact")
    assert_page(await rep.get(card_url(company, own)), 200, "Rep Contact")
    other = await make_company()
    stranger = new_browser().sign_in(other.token)
    assert (await stranger.get(card_url(company, contact))).status_code == 404
    inside = await stranger.get(f"/t/{other.slug}/contacts/{contact['id']}")
    assert inside.status_code == 404
    assert "Private Person" not in inside.text


async def test_hostile_names_are_escaped(owner, company, client) -> None:
    account = await api_account(client, company, name='<img src=x onerror="alert(1)">')
    contact = await api_contact(client, company, account_id=account["id"], full_name='<script>alert("x")</script>',
                                job_title="<b>boss</b>", email="a@example.com", email_consent=True,
                                email_consent_source="<i>form</i>")
    for path in (card_url(company, contact), f"/t/{company.slug}/accounts/{account['id']}"):
        page = await owner.get(path)
        assert page.status_code == 200
        for raw in ("<script>alert", "<img src=x", "<b>boss", "<i>form"):
            assert raw not in page.text, (path, raw)
        assert "&lt;script&gt;alert(" in page.text
