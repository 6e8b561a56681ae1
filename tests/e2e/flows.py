"""Steps shared by the browser tests, written the way a person uses the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.async_api import Page, expect

from tests.conftest import PASSWORD, unique


@dataclass(frozen=True)
class SignedUp:
    company_name: str
    full_name: str
    email: str
    slug: str


async def sign_up(page: Page, *, plan: str = "growth", label: str = "E2E", open_form: bool = True) -> SignedUp:
    """Create a company through /signup; the page ends on the new company's home."""
    token = unique("x").split("-", 1)[1]
    company_name = f"{label} Works {token}"
    full_name = f"Owner {token}"
    email = f"owner-{token}@example.com"
    if open_form:
        await page.goto("/signup")
    await page.get_by_label("Company name", exact=True).fill(company_name)
    status = page.locator("#slug-status")
    await expect(status).to_contain_text("is available")  # the htmx check answered
    suggested = (await status.locator("strong").inner_text()).strip()
    match = re.fullmatch(r"/t/([a-z0-9-]+)/", suggested)
    assert match, f"the slug check showed {suggested!r}"
    slug = match.group(1)
    await page.get_by_label("Your name", exact=True).fill(full_name)
    await page.get_by_label("Work email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Plan", exact=True).select_option(plan)
    await page.get_by_role("button", name="Create company").click()
    await expect(page).to_have_url(re.compile(rf"/t/{re.escape(slug)}/$"))
    return SignedUp(company_name, full_name, email, slug)


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("main").get_by_role("button", name="Log in").click()
