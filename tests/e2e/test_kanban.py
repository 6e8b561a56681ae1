"""The deals board in a real browser: drag a card to another stage, drag to Lost (a dialog asks for the reason),
the keyboard path with the card's buttons, and a stale board refused with the conflict message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from backend.config import Settings
from backend.db.database import Database
from tests.conftest import Company, new_company
from tests.e2e.conftest import LiveServer, NewContext

LAPTOP = {"width": 1440, "height": 900}


@dataclass
class Board:
    company: Company
    api: httpx.AsyncClient
    page: Page
    stages: dict[str, str]  # stage name -> id

    @property
    def url(self) -> str:
        return f"/t/{self.company.slug}/deals/"

    def column(self, stage: str) -> Locator:
        return self.page.locator(f"#column-{self.stages[stage]}")

    def card(self, deal: dict[str, Any]) -> Locator:
        return self.page.locator(f"#deal-{deal['id']}")

    async def deal(self, title: str, **fields: Any) -> dict[str, Any]:
        account = await self.api.post(f"/api/v1/t/{self.company.slug}/accounts", json={"name": f"{title} Co"})
        assert account.status_code == 201, account.text
        made = await self.api.post(f"/api/v1/t/{self.company.slug}/deals",
                                   json={"account_id": account.json()["id"], "title": title, **fields})
        assert made.status_code == 201, made.text
        return dict(made.json())

    async def stored(self, deal: dict[str, Any]) -> dict[str, Any]:
        found = await self.api.get(f"/api/v1/t/{self.company.slug}/deals/{deal['id']}")
        assert found.status_code == 200, found.text
        return dict(found.json())

    async def drag(self, deal: dict[str, Any], stage: str) -> None:
        # grab the card by its padding (not a link or a select), drop it in the middle of the column
        await self.card(deal).drag_to(self.column(stage), source_position={"x": 4, "y": 4})


@pytest.fixture
async def board(new_context: NewContext, live_server: LiveServer, settings: Settings,
                database: Database) -> AsyncIterator[Board]:
    """A fresh company, its owner signed in to a browser on the board, and the API at hand."""
    company = await new_company(settings)
    context = await new_context(viewport=LAPTOP)
    await context.add_cookies([{"name": "tandem_session", "value": company.token, "url": live_server.url}])
    page = await context.new_page()
    async with httpx.AsyncClient(base_url=live_server.url, headers=company.auth, timeout=30) as api:
        pipelines = await api.get(f"/api/v1/t/{company.slug}/pipelines")
        assert pipelines.status_code == 200, pipelines.text
        default = next(p for p in pipelines.json()["items"] if p["is_default"])
        yield Board(company, api, page, {s["name"]: s["id"] for s in default["stages"]})


async def test_drag_a_card_to_the_next_stage_and_it_stays_there(board: Board) -> None:
    deal = await board.deal("Drag me", amount="1200", currency="EUR")
    await board.page.goto(board.url)
    await expect(board.column("Qualification").locator(".stage-count")).to_have_text("1 deal")
    await board.drag(deal, "Proposal")
    await expect(board.page.locator("#board-live")).to_have_text("“Drag me” moved to Proposal.")
    await expect(board.column("Proposal").locator(f"#deal-{deal['id']}")).to_be_visible()
    await expect(board.card(deal)).to_be_focused()  # focus follows the moved card
    await expect(board.column("Proposal").locator(".stage-sum")).to_have_text("€1,200.00")
    await board.page.reload()
    await expect(board.column("Proposal").locator(f"#deal-{deal['id']}")).to_be_visible()
    await expect(board.column("Qualification").locator(".deal-card")).to_have_count(0)
    assert (await board.stored(deal))["stage_id"] == board.stages["Proposal"]


async def test_drag_to_lost_asks_for_a_reason_and_cancel_puts_it_back(board: Board) -> None:
    deal = await board.deal("Lose me")
    await board.page.goto(board.url)
    dialog = board.page.locator("#lost-dialog")
    await board.drag(deal, "Lost")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Lose me")
    await expect(board.page.get_by_label("Lost reason", exact=True)).to_be_focused()

    # a reason is required
    await dialog.get_by_role("button", name="Mark as lost").click()
    await expect(dialog.locator("#lost-error")).to_have_text("A reason is required to mark a deal as lost.")
    await expect(dialog).to_be_visible()

    # cancel: the card stays where it was, nothing is stored
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(board.page.locator("#board-live")).to_have_text("Move cancelled; the deal stays where it was.")
    await expect(board.column("Qualification").locator(f"#deal-{deal['id']}")).to_be_visible()
    assert (await board.stored(deal))["status"] == "open"

    # again, with a reason: the card lands in Lost and its card page shows the reason
    await board.drag(deal, "Lost")
    await expect(dialog).to_be_visible()
    await board.page.get_by_label("Lost reason", exact=True).fill("Went with a cheaper supplier")
    await dialog.get_by_role("button", name="Mark as lost").click()
    await expect(dialog).to_be_hidden()
    await expect(board.page.locator("#board-live")).to_have_text("“Lose me” marked as lost.")
    lost_card = board.column("Lost").locator(f"#deal-{deal['id']}")
    await expect(lost_card).to_contain_text("Went with a cheaper supplier")
    await lost_card.get_by_role("link", name="Lose me").click()
    await expect(board.page).to_have_url(re.compile(rf"/deals/{deal['id']}$"))
    await expect(board.page.locator(".lost-reason")).to_have_text("Went with a cheaper supplier")
    stored = await board.stored(deal)
    assert (stored["status"], stored["lost_reason"]) == ("lost", "Went with a cheaper supplier")


async def test_keyboard_path_with_the_card_buttons(board: Board) -> None:
    deal = await board.deal("Keyboard deal")
    await board.page.goto(board.url)
    card = board.card(deal)
    await card.focus()
    await expect(card).to_be_focused()
    assert await card.evaluate("c => getComputedStyle(c).outlineStyle") != "none"  # visible focus
    await board.page.keyboard.press("Tab")  # the title link
    await board.page.keyboard.press("Tab")  # the stage select
    select = card.get_by_label("Move to")
    await expect(select).to_be_focused()
    await board.page.keyboard.press("ArrowDown")  # Qualification → Proposal
    await expect(select).to_have_value(board.stages["Proposal"])
    await board.page.keyboard.press("Tab")
    await expect(card.get_by_role("button", name="Move")).to_be_focused()
    await board.page.keyboard.press("Enter")
    await expect(board.page.locator("#board-live")).to_have_text("“Keyboard deal” moved to Proposal.")
    moved = board.column("Proposal").locator(f"#deal-{deal['id']}")
    await expect(moved).to_be_focused()
    for _ in range(4):  # link, select, Move, Won
        await board.page.keyboard.press("Tab")
    await expect(moved.get_by_role("button", name="Won")).to_be_focused()
    await board.page.keyboard.press("Enter")
    await expect(board.page.locator("#board-live")).to_have_text("“Keyboard deal” marked as won.")
    await expect(board.column("Won").locator(f"#deal-{deal['id']}")).to_be_focused()
    assert (await board.stored(deal))["status"] == "won"


async def test_a_stale_board_shows_the_conflict_and_the_current_state(board: Board) -> None:
    deal = await board.deal("Contested deal")
    await board.page.goto(board.url)
    await expect(board.card(deal)).to_be_visible()
    changed = await board.api.patch(f"/api/v1/t/{board.company.slug}/deals/{deal['id']}",
                                    json={"title": "Contested deal (edited elsewhere)"})
    assert changed.status_code == 200, changed.text
    await board.drag(deal, "Proposal")
    live = board.page.locator("#board-live")
    await expect(live).to_have_text(re.compile(r"was changed by someone else meanwhile\. The board now shows"))
    await expect(live).to_have_class(re.compile(r"flash-error"))
    card = board.column("Qualification").locator(f"#deal-{deal['id']}")
    await expect(card).to_contain_text("Contested deal (edited elsewhere)")  # refreshed, not overwritten
    await expect(card.locator(".card-error")).to_be_visible()
    stored = await board.stored(deal)
    assert (stored["stage_id"], stored["version"]) == (board.stages["Qualification"], 2)

    # the refreshed board carries the new version: the same drag now goes through
    await board.drag(deal, "Proposal")
    await expect(live).to_have_text("“Contested deal (edited elsewhere)” moved to Proposal.")
    await expect(board.column("Proposal").locator(f"#deal-{deal['id']}")).to_be_visible()


async def test_a_stage_requirement_refuses_the_drop_with_a_link_to_fill_it_in(board: Board) -> None:
    pipeline = (await board.api.get(f"/api/v1/t/{board.company.slug}/pipelines")).json()["items"][0]
    specs = [{**{k: s[k] for k in ("id", "name", "kind", "probability")},
              "required_fields": ["amount"] if s["name"] == "Proposal" else []} for s in pipeline["stages"]]
    changed = await board.api.patch(f"/api/v1/t/{board.company.slug}/pipelines/{pipeline['id']}",
                                    json={"stages": specs})
    assert changed.status_code == 200, changed.text
    deal = await board.deal("No amount yet")
    await board.page.goto(board.url)
    await board.drag(deal, "Proposal")
    card = board.column("Qualification").locator(f"#deal-{deal['id']}")
    await expect(card.locator(".card-error")).to_contain_text("Amount: required by this stage")
    await card.get_by_role("link", name="Fill them in on the deal card").click()
    await expect(board.page).to_have_url(re.compile(rf"/deals/{deal['id']}#edit$"))
    await board.page.get_by_label("Amount", exact=True).fill("900")
    await board.page.get_by_role("button", name="Save").click()
    await expect(board.page.get_by_role("status")).to_contain_text("Deal saved.")
    await board.page.get_by_role("navigation", name="Stages").get_by_role("button", name="Proposal").click()
    await expect(board.page.get_by_role("status")).to_contain_text("“No amount yet” moved to Proposal.")
    assert (await board.stored(deal))["stage_id"] == board.stages["Proposal"]


async def test_search_and_owner_filters_narrow_the_board_as_you_type(board: Board) -> None:
    first = await board.deal("Hanbit renewal")
    second = await board.deal("Osaka rollout")
    await board.page.goto(board.url)
    await board.page.get_by_label("Search by title").fill("hanbit")
    await expect(board.card(second)).to_have_count(0)
    await expect(board.card(first)).to_be_visible()
    await expect(board.page).to_have_url(re.compile(r"q=hanbit"))
    await expect(board.column("Qualification").locator(".stage-count")).to_have_text("1 deal")
    # the swapped board still takes drops
    await board.drag(first, "Negotiation")
    await expect(board.page.locator("#board-live")).to_have_text("“Hanbit renewal” moved to Negotiation.")
    await expect(board.card(second)).to_have_count(0)  # the filter stays on after the move
    await board.page.get_by_label("Search by title").fill("")
    await expect(board.card(second)).to_be_visible()
    await board.page.get_by_label("Owner", exact=True).select_option("mine")
    await expect(board.page).to_have_url(re.compile(r"owner=mine"))
    await expect(board.card(first)).to_be_visible()  # the owner made both
