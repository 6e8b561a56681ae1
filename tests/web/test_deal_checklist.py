"""Stage checklists on the deal card: the current and the next stage's items with checkboxes, ticks saved through
the deal update with the card's version, a refused move (422 stage_requirements) shown next to the unticked items
on the card and as reasons on the board, and the move allowed once everything is ticked."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.api.helpers import scalar
from tests.conftest import Company
from tests.web.conftest import assert_page, assert_redirect
from tests.web.crm_data import api_deal, api_get, stages

ITEMS = ["NDA signed", "Credit check <ok>"]


async def checklist_on(client: httpx.AsyncClient, company: Company, lists: dict[str, list[str]]) -> dict[str, Any]:
    """Give stages of the default pipeline checklists; answers the stages by name."""
    pipeline = (await stages(client, company))["_pipeline"]
    specs = [{"id": s["id"], "name": s["name"], "kind": s["kind"], "probability": s["probability"],
              "required_fields": s["required_fields"], "checklist": lists.get(s["name"], [])}
             for s in pipeline["stages"]]
    response = await client.patch(f"/api/v1/t/{company.slug}/pipelines/{pipeline['id']}", headers=company.auth,
                                  json={"stages": specs})
    assert response.status_code == 200, response.text
    return await stages(client, company)


def card_url(company: Company, deal: dict[str, Any]) -> str:
    return f"/t/{company.slug}/deals/{deal['id']}"


def section(page: str) -> str:
    found = re.search(r'<section class="card" id="checklist".*?</section>', page, re.S)
    assert found, page[:3000]
    return found.group(0)


async def moves(company: Company, deal: dict[str, Any]) -> int:
    schema = company.tenant.schema
    return int(await scalar(f'SELECT count(*) FROM "{schema}".deal_stage_history WHERE deal_id = :d', d=deal["id"]))


async def test_tick_the_next_stages_checklist_then_move(owner, company, client) -> None:
    names = await checklist_on(client, company, {"Qualification": ["Budget known"], "Proposal": ITEMS})
    deal = await api_deal(client, company, title="Checked deal", checklist_done=["Budget known"])
    url = card_url(company, deal)
    page = await owner.get(url)
    shown = section(page.text)
    assert "This stage: Qualification" in shown
    assert "To enter Proposal" in shown
    assert 'value="Credit check &lt;ok&gt;"' in shown  # items are escaped
    assert shown.count('type="checkbox" name="done"') == 3
    assert shown.count("checked") == 1
    assert 'value="Budget known" checked' in shown

    refused = await owner.submit(url, f"{url}/move", data={"version": "1", "stage_id": names["Proposal"]["id"],
                                                          "return_to": "card"})
    text = assert_page(refused, 422, "This stage needs more details on the deal.")
    assert text.count("a checklist item of this stage, not ticked yet") == 2
    assert 'aria-invalid="true" aria-describedby="e-cl-2-1"' in section(refused.text)
    assert await moves(company, deal) == 1

    ticked = await owner.submit(url, f"{url}/checklist", data={
        "version": "1", "shown": ["Budget known", *ITEMS], "done": ["Budget known", ITEMS[0]]})
    assert_redirect(ticked, f"{url}#checklist")
    assert owner.flash(ticked) == "Checklist saved."
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["checklist_done"], body["version"]) == (["Budget known", ITEMS[0]], 2)
    assert re.search(r'value="NDA signed" checked', section((await owner.get(url)).text))

    still = await owner.submit(url, f"{url}/move", data={"version": "2", "stage_id": names["Proposal"]["id"],
                                                        "return_to": "card"})
    text = assert_page(still, 422)
    assert text.count("a checklist item of this stage, not ticked yet") == 1
    both = await owner.submit(url, f"{url}/checklist", data={
        "version": "2", "shown": ITEMS, "done": [*ITEMS, "Not on the list"]})
    assert_redirect(both, f"{url}#checklist")
    body = await api_get(client, company, f"deals/{deal['id']}")
    # items the form did not show keep their state; an item the card did not show is ignored
    assert (body["checklist_done"], body["version"]) == (["Budget known", *ITEMS], 3)
    moved = await owner.submit(url, f"{url}/move", data={"version": "3", "stage_id": names["Proposal"]["id"],
                                                        "return_to": "card"})
    assert_redirect(moved, url)
    assert (await api_get(client, company, f"deals/{deal['id']}"))["stage_id"] == names["Proposal"]["id"]
    # in Proposal now: its own checklist (all ticked) and nothing ahead (Negotiation has none)
    shown = section((await owner.get(url)).text)
    assert "This stage: Proposal" in shown
    assert "all ticked" in shown
    assert "To enter" not in shown


async def test_a_stale_card_does_not_overwrite_ticks(owner, company, client) -> None:
    await checklist_on(client, company, {"Proposal": ITEMS})
    deal = await api_deal(client, company, title="Contested checklist")
    url = card_url(company, deal)
    changed = await client.patch(f"/api/v1/t/{company.slug}/deals/{deal['id']}", headers=company.auth,
                                 json={"checklist_done": [ITEMS[1]]})
    assert changed.status_code == 200
    stale = await owner.submit(url, f"{url}/checklist", data={"version": "1", "shown": ITEMS, "done": [ITEMS[0]]})
    assert_page(stale, 409, "This deal was changed by someone else meanwhile.")
    assert re.search(r'value="Credit check &lt;ok&gt;" checked', section(stale.text))  # what is stored now
    body = await api_get(client, company, f"deals/{deal['id']}")
    assert (body["checklist_done"], body["version"]) == ([ITEMS[1]], 2)
    same = await owner.submit(url, f"{url}/checklist", data={"version": "2", "shown": ITEMS, "done": [ITEMS[1]]})
    assert owner.flash(same) == "Nothing to change."


async def test_the_board_names_unticked_items_and_links_to_the_checklist(owner, company, client) -> None:
    names = await checklist_on(client, company, {"Negotiation": ["Legal review"]})
    deal = await api_deal(client, company, title="Board deal")
    board = f"/t/{company.slug}/deals/"
    refused = await owner.submit(board, f"{card_url(company, deal)}/move", headers={"HX-Request": "true"},
                                 data={"version": "1", "stage_id": names["Negotiation"]["id"]})
    assert refused.status_code == 422
    card = html.unescape(refused.text).split(f'id="deal-{deal["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "This stage needs more details on the deal." in card
    assert "Checklist item “Legal review”: a checklist item of this stage, not ticked yet" in card
    link = f'{card_url(company, deal)}?target={names["Negotiation"]["id"]}#checklist'
    assert f'href="{link}"' in card
    # the card opened from that link shows the refused stage's checklist, not the next one's
    shown = section((await owner.get(link.split("#")[0])).text)
    assert "To enter Negotiation" in shown
    assert "Legal review" in shown
    assert f'name="target" value="{names["Negotiation"]["id"]}"' in shown
    ticked = await owner.submit(card_url(company, deal), f"{card_url(company, deal)}/checklist", data={
        "version": "1", "shown": "Legal review", "done": "Legal review", "target": names["Negotiation"]["id"]})
    assert_redirect(ticked, link)
    moved = await owner.submit(board, f"{card_url(company, deal)}/move", headers={"HX-Request": "true"},
                               data={"version": "2", "stage_id": names["Negotiation"]["id"]})
    assert moved.status_code == 200
    assert "“Board deal” moved to Negotiation." in html.unescape(moved.text)


async def test_winning_needs_the_won_stages_checklist(owner, company, client) -> None:
    await checklist_on(client, company, {"Won": ["Contract countersigned"]})
    deal = await api_deal(client, company, title="Almost won")
    url = card_url(company, deal)
    refused = await owner.submit(url, f"{url}/win", data={"version": "1", "return_to": "card"})
    shown = section(assert_page(refused, 422, "This stage needs more details on the deal.").replace("&amp;", "&"))
    assert "To enter Won" in shown
    assert "a checklist item of this stage, not ticked yet" in shown
    assert f'action="{url}/win"' in shown  # the button to try again sits under the list
    won = (await stages(client, company))["Won"]["id"]
    board = await owner.submit(f"/t/{company.slug}/deals/", f"{url}/win", data={"version": "1"},
                               headers={"HX-Request": "true"})
    assert board.status_code == 422
    assert f'href="{url}?target={won}#checklist"' in board.text  # the link opens the won stage's checklist


async def test_readers_see_the_checklist_but_cannot_tick(company, client, member_of) -> None:
    await checklist_on(client, company, {"Proposal": ITEMS})
    deal = await api_deal(client, company, title="Look only")
    viewer, _ = await member_of(company, "viewer")
    url = card_url(company, deal)
    shown = section(assert_page(await viewer.get(url), 200, "Look only"))
    assert shown.count("disabled") == 2
    assert "Save checklist" not in shown
    token = await viewer.csrf("/login")
    tried = await viewer.post(f"{url}/checklist", {"version": "1", "shown": ITEMS, "done": ITEMS,
                                                   "_csrf_token": token})
    assert tried.status_code == 403
    assert (await api_get(client, company, f"deals/{deal['id']}"))["checklist_done"] == []
