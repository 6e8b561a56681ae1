"""The pipeline editor in a real browser: a stage moved up with its button (and a name typed meanwhile kept), then
Enter in a text input saves instead of moving a row."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from backend.config import Settings
from backend.db.database import Database
from tests.conftest import new_company
from tests.e2e.conftest import LiveServer, NewContext


async def test_move_a_stage_up_and_save_with_enter(new_context: NewContext, live_server: LiveServer,
                                                   settings: Settings, database: Database) -> None:
    company = await new_company(settings)
    context = await new_context(viewport={"width": 1280, "height": 900})
    await context.add_cookies([{"name": "tandem_session", "value": company.token, "url": live_server.url}])
    page = await context.new_page()
    async with httpx.AsyncClient(base_url=live_server.url, headers=company.auth, timeout=30) as api:
        listing = await api.get(f"/api/v1/t/{company.slug}/pipelines")
        assert listing.status_code == 200, listing.text
        sales = listing.json()["items"][0]

        await page.goto(f"/t/{company.slug}/pipelines/")
        await page.get_by_role("link", name="Sales").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Sales")
        names = page.locator(".stage-list input[name$='.name']")

        async def shown() -> list[str]:
            return list(await names.evaluate_all("inputs => inputs.map(i => i.value)"))

        assert await shown() == ["Qualification", "Proposal", "Negotiation", "Won", "Lost"]

        await page.get_by_label("Stage name").nth(1).fill("Offer")
        await page.get_by_role("button", name="Move “Negotiation” up").click()
        await expect(page.locator(".flash-success")).to_have_text("Stage moved.")
        assert await shown() == ["Qualification", "Negotiation", "Offer", "Won", "Lost"]
        await expect(page.get_by_role("button", name="Move “Qualification” up")).to_be_disabled()

        await page.get_by_label("Name", exact=True).fill("Direct sales")
        await page.get_by_label("Name", exact=True).press("Enter")
        await expect(page.locator(".flash-success")).to_have_text("Pipeline saved.")
        assert await shown() == ["Qualification", "Negotiation", "Offer", "Won", "Lost"]

        stored = (await api.get(f"/api/v1/t/{company.slug}/pipelines/{sales['id']}")).json()
        assert stored["name"] == "Direct sales"
        assert [s["name"] for s in stored["stages"]] == ["Qualification", "Negotiation", "Offer", "Won", "Lost"]
