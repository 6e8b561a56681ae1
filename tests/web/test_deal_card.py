"""Deal card page: fields, stage progress and actions, edit form (errors next to fields, version, CSRF), stage and
audit history with member names and field labels, roles, tenants, escaping."""

from __future__ import annotations

import re

from tests.api.helpers import execute, scalar
from tests.web.conftest import assert_page, assert_redirect
from tests.web.crm_data import api_account, api_deal, api_get, name_user, require_on, stages


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def card_url(company, deal) -> str:
    return f"/t/{company.slug}/deals/{deal['id']}"


async def audit_count(company, deal) -> int:
    schema = "t_" + company.tenant.id.hex
    return int(await scalar(f'SELECT count(*) FROM "{schema}".audit_log WHERE record_id = :r', r=deal["id"]))


async def test_card_shows_fields_progress_and_histories_with_names(owner, company, client) -> None:
    await name_user(company.user_id, "Olga Owner")
    account = await api_account(client, company, name="Hanbit Trading")
    deal = await api_deal(client, company, account, title="Seoul fit-out", amount="1250.50", currency="EUR",
                          next_action="Send the offer", next_action_due="2020-01-15", source_channel="fair")
    proposal = (await stages(client, company))["Proposal"]
    moved = await client.post(f"/api/v1/t/{company.slug}/deals/{deal['id']}/stage", headers=company.auth,
                              json={"stage_id": proposal["id"]})
    assert moved.status_code == 200, moved.text
    page = await owner.get(card_url(company, deal))
    shown = assert_page(page, 200, "Seoul fit-out", "Hanbit Trading", "€1,250.50", "Send the offer", "overdue",
                        "Stage history", "Olga Owner")
    assert f'href="/t/{company.slug}/accounts/{account["id"]}"' in page.text
    assert re.search(r'class="stage-step stage-open current" aria-current="step">\s*<span class="stage-name">'
                     r"Proposal</span>", page.text)
    assert 'class="stage-step stage-open done"' in page.text  # Qualification lies behind
    # audit history: labels and names, never raw codes or user ids
    history = text_of(shown.split("<h2>History</h2>", 1)[1])
    assert "Stage" in history
    assert "Qualification → Proposal" in history
    assert "Moved" in history
    assert "Created" in history
    assert "Olga Owner" in history
    assert str(company.user_id) not in history
    for code in ("stage_id", "owner_user_id", "next_action_due"):
        assert code not in history, code
    assert "<code>" not in shown


async def test_edit_saves_changed_fields_with_the_version(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Old title", amount="100")
    saved = await owner.submit(card_url(company, deal), data={
        "version": "1", "title": "New title", "account_id": deal["account_id"], "amount": "2500.75",
        "currency": "usd", "probability": "35", "expected_close_date": "2031-03-01", "owner_user_id":
        str(company.user_id), "next_action": "Call back", "next_action_due": "2031-02-01", "source_channel": ""})
    assert_redirect(saved, card_url(company, deal))
    assert owner.flash(saved) == "Deal saved."
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["title"], body["amount"], body["currency"], body["probability"]) == (
        "New title", "2500.75", "USD", "35.00")
    assert (body["expected_close_date"], body["next_action_due"], body["version"]) == ("2031-03-01", "2031-02-01", 2)
    page = await owner.get(card_url(company, deal))
    history = text_of(assert_page(page, 200, "New title").split("<h2>History</h2>", 1)[1])
    assert "Title: Old title → New title" in history
    assert "Amount: 100.00 → 2,500.75" in history
    assert "Expected close date: — → Mar 1, 2031" in history
    # the same form again changes nothing and says so
    again = await owner.submit(card_url(company, deal), data={"version": "2", "title": "New title"})
    assert_redirect(again, card_url(company, deal))
    assert owner.flash(again) == "Nothing to change."


async def test_field_errors_are_shown_next_to_the_fields_and_nothing_is_written(owner, company, client) -> None:
    deal = await api_deal(client, company, amount="10")
    before = await audit_count(company, deal)
    bad = await owner.submit(card_url(company, deal), data={
        "version": "1", "title": "", "amount": "12.345", "currency": "EURO", "expected_close_date": "31/12/2030"})
    assert_page(bad, 422, "Please correct the highlighted fields.")
    for name in ("title", "amount", "currency", "expected_close_date"):
        assert f'id="e-{name}"' in bad.text, name
    assert re.search(r'id="e-amount" class="error">a number with at most 2 decimals<', bad.text)
    assert 'value="EURO"' in bad.text  # the reader's input is kept
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["title"], body["amount"], body["version"]) == ("Card deal", "10.00", 1)
    assert await audit_count(company, deal) == before


async def test_field_errors_are_translated(owner, company, client) -> None:
    deal = await api_deal(client, company)
    await execute("UPDATE shared.users SET locale = 'ru' WHERE id = :i", i=company.user_id)
    bad = await owner.submit(card_url(company, deal), data={"version": "1", "title": "", "amount": "1.234"})
    assert_page(bad, 422, "Исправьте отмеченные поля.")
    assert re.search(r'id="e-title" class="error">обязательное поле<', bad.text)
    assert re.search(r'id="e-amount" class="error">число не более чем с 2 знаками после запятой<',  # noqa: RUF001
                     bad.text)


async def test_a_stale_form_is_refused_with_the_current_state(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Before")
    changed = await client.patch(f"/api/v1/t/{company.slug}/deals/{deal['id']}", headers=company.auth,
                                 json={"title": "Changed meanwhile"})
    assert changed.status_code == 200
    stale = await owner.submit(card_url(company, deal), data={"version": "1", "title": "Mine"})
    assert_page(stale, 409, "This deal was changed by someone else meanwhile.", "Changed meanwhile")
    assert 'name="version" value="2"' in stale.text  # sending again is a deliberate choice
    assert (await api_get(client, company, f"deals/{deal['id']}"))["title"] == "Changed meanwhile"


async def test_csrf_is_required(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Guarded")
    forged = await owner.post(card_url(company, deal), {"version": "1", "title": "Forged"})
    assert forged.status_code == 403
    forged_move = await owner.post(f"{card_url(company, deal)}/win", {"version": "1"})
    assert forged_move.status_code == 403
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["title"], body["status"]) == ("Guarded", "open")


async def test_viewers_read_without_forms_and_get_403_on_edits(company, client, member_of) -> None:
    deal = await api_deal(client, company, title="Read only")
    viewer, _ = await member_of(company, "viewer")
    page = await viewer.get(card_url(company, deal))
    assert_page(page, 200, "Read only")
    assert 'id="edit"' not in page.text
    assert f'action="{card_url(company, deal)}/win"' not in page.text
    before = await audit_count(company, deal)
    for action, data in (("", {"title": "Viewer was here"}), ("/win", {}), ("/lose", {"reason": "x"})):
        tried = await viewer.submit(card_url(company, deal), card_url(company, deal) + action,
                                    data={"version": "1", **data})
        assert tried.status_code == 403, action
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["title"], body["status"], body["version"]) == ("Read only", "open", 1)
    assert await audit_count(company, deal) == before


async def test_reps_see_only_visible_deals_and_edit_their_own(company, client, member_of) -> None:
    others = await api_deal(client, company, title="Manager's deal")
    rep, member = await member_of(company, "rep")
    assert (await rep.get(card_url(company, others))).status_code == 404
    own = await api_deal(client, company, auth=member.auth, title="Rep deal")
    page = await rep.get(card_url(company, own))
    assert_page(page, 200, "Rep deal")
    assert 'id="edit"' in page.text
    saved = await rep.submit(card_url(company, own), data={"version": "1", "next_action": "Visit"})
    assert_redirect(saved, card_url(company, own))


async def test_other_tenants_get_404(owner, company, client, make_company, new_browser) -> None:
    deal = await api_deal(client, company, title="Alpha secret")
    other = await make_company()
    stranger = new_browser().sign_in(other.token)
    assert (await stranger.get(card_url(company, deal))).status_code == 404
    own_slug = f"/t/{other.slug}/deals/{deal['id']}"
    missing = await stranger.get(own_slug)
    assert missing.status_code == 404
    assert "Alpha secret" not in missing.text
    tried = await stranger.submit(f"/t/{other.slug}/deals/", own_slug, data={"version": "1", "title": "x"})
    assert tried.status_code == 404
    assert (await api_get(client, company, f"deals/{deal['id']}"))["title"] == "Alpha secret"


async def test_hostile_names_are_escaped(owner, company, client) -> None:
    hostile = '<script>alert("x")</script>'
    account = await api_account(client, company, name='<img src=x onerror="alert(1)">')
    deal = await api_deal(client, company, account, title=hostile, next_action=hostile)
    await owner.submit(card_url(company, deal), data={"version": "1", "source_channel": hostile})
    for path in (card_url(company, deal), f"/t/{company.slug}/deals/"):
        page = await owner.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path


async def test_stage_buttons_win_lose_with_reason_and_reopen(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Flow")
    names = await stages(client, company)
    url = card_url(company, deal)
    moved = await owner.submit(url, f"{url}/move", data={"version": "1", "stage_id": names["Negotiation"]["id"],
                                                          "return_to": "card"})
    assert_redirect(moved, url)
    assert owner.flash(moved) == "“Flow” moved to Negotiation."
    no_reason = await owner.submit(url, f"{url}/lose", data={"version": "2", "reason": " ", "return_to": "card"})
    assert_page(no_reason, 422, "A reason is required to mark a deal as lost.")
    assert 'id="e-reason"' in no_reason.text
    assert '<details class="lose-details" open>' in no_reason.text  # the error is not hidden in a closed box
    lost = await owner.submit(url, f"{url}/lose", data={"version": "2", "reason": "Budget cut", "return_to": "card"})
    assert_redirect(lost, url)
    page = await owner.get(url)
    assert_page(page, 200, "Lost reason", "Budget cut")
    assert 'class="badge badge-lost"' in page.text
    reopened = await owner.submit(url, f"{url}/move", data={"version": "3", "stage_id": names["Negotiation"]["id"],
                                                             "return_to": "card"})
    assert_redirect(reopened, url)
    assert owner.flash(reopened) == "“Flow” reopened in Negotiation."
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["status"], body["lost_reason"], body["stage_id"]) == ("open", None, names["Negotiation"]["id"])
    history = (await owner.get(url)).text.split("Stage history", 1)[1]
    assert history.count("<tr><td>") >= 4  # created, moved, lost, reopened


async def test_a_stage_requirement_is_shown_next_to_the_missing_fields(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Needs more")
    await require_on(client, company, "Proposal", ["amount", "expected_close_date"])
    proposal = (await stages(client, company))["Proposal"]
    url = card_url(company, deal)
    refused = await owner.submit(url, f"{url}/move", data={"version": "1", "stage_id": proposal["id"],
                                                            "return_to": "card"})
    assert_page(refused, 422, "This stage needs more details on the deal.")
    assert re.search(r'id="e-amount" class="error">required by this stage<', refused.text)
    assert 'id="e-expected_close_date"' in refused.text
    assert (await api_get(client, company, f"deals/{deal['id']}"))["version"] == 1
