"""The CSV import wizard in a real browser: upload a file with good and bad rows, see the columns prefilled, see
every bad row with its reason, fix the file, upload it again, import, and find the accounts in the list."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from backend.db.database import Database
from tenants.registry import registry
from tenants.scope import tenant_scope
from tests.e2e.conftest import NewContext
from tests.e2e.flows import sign_up

HEADER = "회사명;Status;Tags;Website\n"
GOOD = ["한빛무역;customer;vip, seoul;https://hanbit.example\n", "Moscow Steel;prospect;;\n"]
BAD = [";lead;;\n", "Osaka Foods;won;;\n"]


def csv_file(*rows: str) -> dict:
    return {"name": "clients.csv", "mimeType": "text/csv", "buffer": ("\ufeff" + HEADER + "".join(rows)).encode()}


async def account_names(database: Database, slug: str) -> set[str]:
    tenant = await registry.by_slug(slug, database=database)
    assert tenant is not None
    async with tenant_scope(tenant, database=database) as uow:
        from sqlalchemy import text

        return set((await uow.session.execute(text("SELECT name FROM accounts"))).scalars())


async def check_rows(page: Page) -> None:
    await expect(page.get_by_role("heading", name="Choose the columns")).to_be_visible()
    await page.get_by_role("button", name="Check the rows").click()
    await expect(page.get_by_role("heading", name="Check the rows", level=1)).to_be_visible()


async def test_import_wizard_good_and_bad_rows_fix_reupload_commit(new_context: NewContext,
                                                                   database: Database) -> None:
    page = await (await new_context()).new_page()
    company = await sign_up(page, label="Import")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    await page.get_by_role("link", name="Import CSV").click()
    await expect(page.get_by_role("heading", name="Import from CSV")).to_be_visible()

    # Step 1: a file with two good rows and two bad ones (no name; a status that does not exist).
    await page.get_by_label("What does the file hold?").select_option("accounts")
    await page.get_by_label("CSV file").set_input_files(csv_file(GOOD[0], BAD[0], GOOD[1], BAD[1]))
    await page.get_by_role("button", name="Upload").click()

    # Step 2: the columns are prefilled from the header names (Korean included).
    await expect(page.get_by_label("회사명", exact=True)).to_have_value("name")
    await expect(page.get_by_label("Status", exact=True)).to_have_value("status")
    await expect(page.get_by_label("Website", exact=True)).to_have_value("website")
    await check_rows(page)

    # Step 3: every bad row is listed with its column and reason; nothing was written.
    await expect(page.locator("#import-summary")).to_contain_text("2 of 4 rows are ready to import.")
    bad_rows = page.locator("#bad-rows tbody tr")
    await expect(bad_rows).to_have_count(2)
    await expect(bad_rows.nth(0)).to_contain_text("3")
    await expect(bad_rows.nth(0)).to_contain_text("회사명")
    await expect(bad_rows.nth(0)).to_contain_text("required")
    await expect(bad_rows.nth(1)).to_contain_text("5")
    await expect(bad_rows.nth(1)).to_contain_text("won")
    await expect(bad_rows.nth(1)).to_contain_text("one of: lead, prospect, customer, churned")
    await expect(page.get_by_role("button", name=re.compile(r"^Import \d+ rows$"))).to_have_count(0)
    assert await account_names(database, company.slug) == set()

    # The rows are fixed in the spreadsheet and the file is uploaded again from the report.
    fixed = csv_file(GOOD[0], "Kyoto Tea;lead;;\n", GOOD[1], "Osaka Foods;customer;;\n")
    await page.get_by_label("CSV file").set_input_files(fixed)
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_label("Tags", exact=True)).to_have_value("tags")  # the earlier choice is kept
    await check_rows(page)
    await expect(page.locator("#import-summary")).to_contain_text("4 of 4 rows are ready to import.")
    await expect(page.locator("#bad-rows")).to_have_count(0)

    # Step 4: import; the result links the new accounts, and they are in the list.
    await page.get_by_role("button", name="Import 4 rows").click()
    await expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    await expect(page.locator("#import-result")).to_contain_text("4 records imported.")
    await expect(page.locator("#imported li")).to_have_count(4)
    await page.locator("#imported").get_by_role("link", name="한빛무역").click()
    await expect(page.get_by_role("heading", name="한빛무역", level=1)).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("seoul, vip")

    await page.get_by_role("link", name="Accounts", exact=True).first.click()
    for name in ("한빛무역", "Kyoto Tea", "Moscow Steel", "Osaka Foods"):
        await expect(page.locator("#account-rows").get_by_role("link", name=name, exact=True)).to_be_visible()
    assert await account_names(database, company.slug) == {"한빛무역", "Kyoto Tea", "Moscow Steel", "Osaka Foods"}

    # Export CSV hands back what the list shows (its current search), as a file.
    await page.get_by_label("Search").fill("o")
    await expect(page.locator("#account-rows").get_by_role("link", name="Kyoto Tea")).to_be_visible()
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Export CSV").click()
    download = await info.value
    saved = await download.path()
    assert saved is not None
    content = saved.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    names = [line.split(",")[1] for line in content.decode("utf-8-sig").splitlines()[1:]]
    assert names == ["Kyoto Tea", "Moscow Steel", "Osaka Foods"]
