"""Deals board: stages as columns, move/win/lose by buttons, lost reason required, read-only roles, CSRF."""

from __future__ import annotations

import html

from tests.api.helpers import add_member
from tests.web.crm_data import api_account, api_deal, api_get, require_on, stages


async def a_deal(client, company, **fields):
    account = await client.post(f"/api/v1/t/{company.slug}/accounts", headers=company.auth, json={"name": "Board Co"})
    assert account.status_code == 201, account.text
    deal = await client.post(f"/api/v1/t/{company.slug}/deals", headers=company.auth,
                             json={"account_id": account.json()["id"], "title": "Board deal", "amount": "1250.50",
                                   "currency": "EUR", **fields})
    assert deal.status_code == 201, deal.text
    return deal.json()


async def stage_of(client, company, deal_id) -> tuple[str, str | None]:
    body = (await client.get(f"/api/v1/t/{company.slug}/deals/{deal_id}", headers=company.auth)).json()
    pipelines = (await client.get(f"/api/v1/t/{company.slug}/pipelines", headers=company.auth)).json()
    items = pipelines["items"] if isinstance(pipelines, dict) else pipelines
    names = {s["id"]: s["name"] for p in items for s in p["stages"]}
    return names[body["stage_id"]], body.get("lost_reason")


async def test_board_shows_stages_and_deals(owner, company, client) -> None:
    deal = await a_deal(client, company)
    board = await owner.get(f"/t/{company.slug}/deals/")
    assert board.status_code == 200
    for stage in ("Qualification", "Proposal", "Negotiation", "Won", "Lost"):
        assert stage in board.text
    assert f'id="deal-{deal["id"]}"' in board.text
    assert "Board Co" in board.text
    assert "1,250.50" in board.text
    assert f'href="/t/{company.slug}/deals"' in board.text  # nav entry registered by the CRM module


async def test_move_win_and_lose_with_a_required_reason(owner, company, client) -> None:
    deal = await a_deal(client, company)
    board = await owner.get(f"/t/{company.slug}/deals/")
    proposal_id = board.text.split('>Proposal</option>')[0].rsplit('value="', 1)[1].split('"')[0]
    moved = await owner.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{deal['id']}/move",
                               data={"stage_id": proposal_id})
    assert moved.status_code == 303
    assert (await stage_of(client, company, deal["id"]))[0] == "Proposal"
    no_reason = await owner.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{deal['id']}/lose",
                                   data={"reason": "  "})
    assert no_reason.status_code == 422  # the board again, the refusal next to the card
    assert "A reason is required to mark a deal as lost." in no_reason.text
    assert (await stage_of(client, company, deal["id"]))[0] == "Proposal"  # refused: nothing changed
    lost = await owner.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{deal['id']}/lose",
                              data={"reason": "Chose a competitor"})
    assert lost.status_code == 303
    assert await stage_of(client, company, deal["id"]) == ("Lost", "Chose a competitor")
    other = await a_deal(client, company)
    won = await owner.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{other['id']}/win")
    assert won.status_code == 303
    assert (await stage_of(client, company, other["id"]))[0] == "Won"


async def test_viewers_see_the_board_without_buttons_and_cannot_post(company, client, new_browser) -> None:
    deal = await a_deal(client, company)
    viewer = await add_member(company.tenant.id, "viewer")
    browser = new_browser().sign_in(viewer.token)
    board = await browser.get(f"/t/{company.slug}/deals/")
    assert board.status_code == 200
    assert f'action="/t/{company.slug}/deals/{deal["id"]}/win"' not in board.text
    tried = await browser.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{deal['id']}/win")
    assert tried.status_code == 403  # read-only roles are refused, nothing is written
    assert (await stage_of(client, company, deal["id"]))[0] == "Qualification"
    forged = await browser.post(f"/t/{company.slug}/deals/{deal['id']}/win", {})
    assert forged.status_code == 403  # no CSRF token


def column_of(html: str, stage_id: str) -> str:
    """The HTML of one board column."""
    start = html.index(f'id="column-{stage_id}"')
    end = html.find('<section class="board-column"', start)
    return html[start:end if end != -1 else len(html)]


async def test_columns_count_and_sum_per_currency_and_overdue(owner, company, client) -> None:
    account = await api_account(client, company, name="Totals Co")
    for amount, currency in (("1000", "EUR"), ("1000.50", "EUR"), ("500", "USD")):
        await api_deal(client, company, account, title=f"T {amount} {currency}", amount=amount, currency=currency)
    late = await api_deal(client, company, account, title="Late one", next_action="Call", next_action_due="2020-02-02")
    names = await stages(client, company)
    board = await owner.get(f"/t/{company.slug}/deals/")
    qualification = column_of(board.text, names["Qualification"]["id"])
    assert ">4 deals<" in qualification
    assert "€2,000.50" in qualification
    assert "$500.00" in qualification
    assert ">0 deals<" in column_of(board.text, names["Won"]["id"])
    card = qualification.split(f'id="deal-{late["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "overdue" in card
    assert f'id="deal-{late["id"]}" tabindex="0"' in board.text
    assert 'draggable="true"' in board.text
    assert 'role="status" aria-live="polite"' in board.text
    assert '<dialog id="lost-dialog"' in board.text
    assert '<script src="/static/js/deals-board.js" defer></script>' in board.text


async def test_filters_owner_title_and_pipeline(owner, company, client, member_of) -> None:
    rep, member = await member_of(company, "rep")
    shared = await api_account(client, company, name="Shared Co", is_shared=True)
    await api_deal(client, company, shared, title="Owner's alpha")
    await api_deal(client, company, shared, auth=member.auth, title="Rep's beta")
    mine = await owner.get(f"/t/{company.slug}/deals/", params={"owner": "mine"})
    assert "Owner's alpha" in html.unescape(mine.text)
    assert "Rep's beta" not in html.unescape(mine.text)
    rep_mine = await rep.get(f"/t/{company.slug}/deals/", params={"owner": "mine"})
    assert "Rep's beta" in html.unescape(rep_mine.text)
    assert "Owner's alpha" not in html.unescape(rep_mine.text)
    found = await owner.get(f"/t/{company.slug}/deals/", params={"q": "BETA"})
    assert "Rep's beta" in html.unescape(found.text)
    assert "Owner's alpha" not in html.unescape(found.text)
    fragment = await owner.get(f"/t/{company.slug}/deals/", params={"q": "alpha"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert 'id="board"' in fragment.text
    other = await client.post(f"/api/v1/t/{company.slug}/pipelines", headers=company.auth, json={
        "name": "Renewals", "stages": [{"name": "Due", "kind": "open"}, {"name": "Renewed", "kind": "won"},
                                       {"name": "Churned", "kind": "lost"}]})
    assert other.status_code == 201, other.text
    renewal = await api_deal(client, company, shared, title="Renewal 2031", pipeline_id=other.json()["id"])
    default = await owner.get(f"/t/{company.slug}/deals/")
    assert "Renewal 2031" not in default.text
    assert ">Renewals</option>" in default.text
    switched = await owner.get(f"/t/{company.slug}/deals/", params={"pipeline": other.json()["id"]})
    assert f'id="deal-{renewal["id"]}"' in switched.text
    assert ">Due</h2>" in switched.text
    assert "Owner's alpha" not in html.unescape(switched.text)
    bogus = await owner.get(f"/t/{company.slug}/deals/", params={"pipeline": "nope", "owner": "nobody"})
    assert bogus.status_code == 200
    assert "Owner's alpha" in html.unescape(bogus.text)


async def test_a_stale_board_is_not_written_over(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Contested")
    names = await stages(client, company)
    patched = await client.patch(f"/api/v1/t/{company.slug}/deals/{deal['id']}", headers=company.auth,
                                 json={"title": "Contested (edited)"})
    assert patched.status_code == 200
    move = f"/t/{company.slug}/deals/{deal['id']}/move"
    stale = await owner.submit(f"/t/{company.slug}/deals/", move,
                               data={"version": "1", "stage_id": names["Proposal"]["id"], "q": "Contested"})
    shown = html.unescape(stale.text)
    assert stale.status_code == 409
    assert "“Contested (edited)” was changed by someone else meanwhile." in shown
    assert 'id="deal-error-' in stale.text
    assert "Contested (edited)" in shown
    assert (await api_get(client, company, f"deals/{deal['id']}"))["stage_id"] == names["Qualification"]["id"]
    scripted = await owner.submit(f"/t/{company.slug}/deals/", move, data={
        "version": "1", "stage_id": names["Proposal"]["id"]}, headers={"HX-Request": "true"})
    assert scripted.status_code == 409
    assert "<html" not in scripted.text
    assert 'data-level="error"' in scripted.text
    assert 'data-version="2"' in scripted.text
    fresh = await owner.submit(f"/t/{company.slug}/deals/", move, data={
        "version": "2", "stage_id": names["Proposal"]["id"]}, headers={"HX-Request": "true"})
    assert fresh.status_code == 200
    assert 'data-level="success"' in fresh.text
    assert "“Contested (edited)” moved to Proposal." in html.unescape(fresh.text)
    assert f'id="deal-{deal["id"]}"' in column_of(fresh.text, names["Proposal"]["id"])


async def test_stage_requirements_refuse_the_move_with_reasons_on_the_card(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Thin deal", amount=None, currency=None)
    await require_on(client, company, "Negotiation", ["amount", "next_action"])
    names = await stages(client, company)
    refused = await owner.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{deal['id']}/move",
                                 data={"version": "1", "stage_id": names["Negotiation"]["id"]})
    assert refused.status_code == 422
    card = html.unescape(refused.text).split(f'id="deal-{deal["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "This stage needs more details on the deal." in card
    assert "Amount: required by this stage" in card
    assert "Next action: required by this stage" in card
    assert f'href="/t/{company.slug}/deals/{deal["id"]}#edit"' in card
    assert (await api_get(client, company, f"deals/{deal['id']}"))["version"] == 1


async def test_no_js_success_redirects_to_the_board_with_its_filters(owner, company, client) -> None:
    deal = await api_deal(client, company, title="Keep filters")
    won = await owner.submit(f"/t/{company.slug}/deals/", f"/t/{company.slug}/deals/{deal['id']}/win",
                             data={"version": "1", "owner": "mine", "q": "Keep"})
    assert won.status_code == 303
    assert won.headers["location"] == f"/t/{company.slug}/deals/?owner=mine&q=Keep"
    assert owner.flash(won) == "“Keep filters” marked as won."
