"""Deals board: stages as columns, move/win/lose by buttons, lost reason required, read-only roles, CSRF."""

from __future__ import annotations

from tests.api.helpers import add_member


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
