"""Signup on a phone-sized screen and from the keyboard."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.e2e.conftest import NewContext
from tests.e2e.flows import sign_up

PHONE = {"width": 390, "height": 844}


async def _assert_no_horizontal_scroll(page: Page) -> None:
    widths = await page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: content {widths[0]}px, window {widths[1]}px"


async def test_signup_works_on_a_phone_and_first_tab_reaches_the_skip_link(new_context: NewContext) -> None:
    context = await new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3)
    page = await context.new_page()
    await page.goto("/signup")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Create your company")
    assert await page.evaluate("() => window.innerWidth") == PHONE["width"]
    await _assert_no_horizontal_scroll(page)

    # Every control of the form is on screen horizontally (nothing cut off at the right edge).
    controls = page.locator("main form").locator("input:not([type=hidden]), select, button")
    assert await controls.count() >= 7
    for index in range(await controls.count()):
        box = await controls.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], f"control {index} overflows: {box}"

    # Keyboard: the first Tab lands on the skip link, which shows itself and jumps to the content.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()

    # And the form works at this size: the company is created and its pages fit the screen too.
    company = await sign_up(page, label="Phone", plan="starter", open_form=False)
    await _assert_no_horizontal_scroll(page)
    await page.goto(f"/t/{company.slug}/members")
    await expect(page).to_have_url(re.compile(r"/members$"))
    await _assert_no_horizontal_scroll(page)
