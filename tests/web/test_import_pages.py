"""Import wizard and export link without a browser: CSRF on every form, the steps as plain forms, roles, tenancy."""

from __future__ import annotations

import csv
import io
import re

from tests.api.helpers import scalar
from tests.web.conftest import assert_page

CSV_TEXT = "Company,Status\nGood Co,customer\nBad Co,won\n"


def files(text: str) -> dict:
    return {"file": ("clients.csv", text.encode(), "text/csv")}


async def upload(owner, company, text: str, extra: dict | None = None):
    token = await owner.csrf(f"/t/{company.slug}/imports/")
    return await owner.http.post(f"/t/{company.slug}/imports/", files=files(text),
                                 data={"entity": "accounts", "_csrf_token": token, **(extra or {})})


async def test_the_wizard_runs_on_plain_forms(owner, company) -> None:
    listing = await owner.get(f"/t/{company.slug}/accounts/")
    assert f'href="/t/{company.slug}/imports/?entity=accounts"' in listing.text
    assert f'formaction="/t/{company.slug}/accounts.csv"' in listing.text  # submits the list's current filters

    made = await upload(owner, company, CSV_TEXT)
    assert made.status_code == 303, made.text[:500]
    columns_url = made.headers["location"]
    import_id = columns_url.rsplit("/", 1)[1]
    page = assert_page(await owner.get(columns_url), 200, "Choose the columns", "Good Co")
    assert re.search(r'<option value="name" selected>', page)

    token = await owner.csrf(columns_url)
    checked = await owner.post(f"{columns_url}/check", {"map-0": "name", "map-1": "status", "_csrf_token": token})
    assert checked.status_code == 303
    report = assert_page(await owner.get(checked.headers["location"]), 200, "1 of 2 rows are ready to import.",
                         "Rows with problems", "won")
    assert f'name="previous" value="{import_id}"' in report

    fixed = await upload(owner, company, CSV_TEXT.replace("won", "lead"), {"previous": import_id})
    second = fixed.headers["location"]
    token = await owner.csrf(second)
    assert (await owner.post(f"{second}/check", {"map-0": "name", "map-1": "status", "_csrf_token": token})
            ).status_code == 303
    ready = assert_page(await owner.get(f"{second}/report"), 200, "Import 2 rows")
    assert "Rows with problems" not in ready
    token = await owner.csrf(f"{second}/report")
    done = await owner.post(f"{second}/commit", {"_csrf_token": token})
    assert done.status_code == 303
    assert_page(await owner.get(done.headers["location"]), 200, "2 records imported.", "Good Co", "Bad Co")
    again = await owner.post(f"{second}/commit", {"_csrf_token": token})
    assert again.status_code == 409

    exported = await owner.get(f"/t/{company.slug}/accounts.csv", params={"status": "lead"})
    assert exported.status_code == 200
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Bad Co"]


async def test_forms_need_the_csrf_token_and_write_nothing_without_it(owner, company) -> None:
    before = await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".imports')
    refused = await owner.http.post(f"/t/{company.slug}/imports/", files=files(CSV_TEXT), data={"entity": "accounts"})
    assert refused.status_code == 403
    made = await upload(owner, company, CSV_TEXT)
    columns_url = made.headers["location"]
    assert (await owner.post(f"{columns_url}/check", {"map-0": "name"})).status_code == 403
    assert (await owner.post(f"{columns_url}/commit", {})).status_code == 403
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".imports') == before + 1
    assert await scalar(f'SELECT status FROM "{company.tenant.schema}".imports WHERE id = :i',
                        i=columns_url.rsplit("/", 1)[1]) == "uploaded"


async def test_bad_files_and_mappings_are_shown_on_the_form(owner, company) -> None:
    empty = await upload(owner, company, "")
    assert_page(empty, 400, "The file is empty")
    made = await upload(owner, company, CSV_TEXT)
    columns_url = made.headers["location"]
    token = await owner.csrf(columns_url)
    unmapped = await owner.post(f"{columns_url}/check", {"map-0": "", "map-1": "status", "_csrf_token": token})
    assert_page(unmapped, 422, "Please correct the column mapping.", "required: choose the column that holds it")


async def test_viewers_cannot_import_and_others_see_nothing(member_of, owner, company, alpha) -> None:
    viewer, _ = await member_of(company, "viewer")
    listing = await viewer.get(f"/t/{company.slug}/accounts/")
    assert "/imports/" not in listing.text
    assert "Export CSV" in listing.text
    assert (await upload(viewer, company, CSV_TEXT)).status_code == 403
    made = await upload(owner, company, CSV_TEXT)
    rep, _ = await member_of(company, "rep")
    assert (await rep.get(made.headers["location"])).status_code == 404
    assert (await owner.get(f"/t/{alpha.slug}/imports/")).status_code == 404
    assert (await owner.get(f"/t/{alpha.slug}/accounts.csv")).status_code == 404


async def test_a_merged_accounts_card_leads_to_the_survivor(owner, company, client) -> None:
    made = [await client.post(f"/api/v1/t/{company.slug}/accounts", headers=company.auth, json={"name": n})
            for n in ("Survivor Co", "Duplicate Co")]
    survivor, duplicate = (r.json()["id"] for r in made)
    merged = await client.post(f"/api/v1/t/{company.slug}/accounts/{survivor}/merge", headers=company.auth,
                               json={"duplicate_id": duplicate})
    assert merged.status_code == 200, merged.text
    old_link = await owner.get(f"/t/{company.slug}/accounts/{duplicate}")
    assert old_link.status_code == 303
    assert old_link.headers["location"] == f"/t/{company.slug}/accounts/{survivor}"
    assert owner.flash(old_link) == "That account was merged into this one."


async def test_every_entity_s_column_page_renders_every_target_label(owner, company) -> None:
    """Each target label goes through gettext with %-formatting: a bare '%' in one broke the deals page."""
    for entity, text in (("accounts", CSV_TEXT), ("contacts", "Name,Email\nKim,kim@example.com\n"),
                         ("deals", "Title,Account,Probability\nFleet,Good Co,40\n")):
        made = await upload(owner, company, text, {"entity": entity})
        assert made.status_code == 303, (entity, made.text[:300])
        page = await owner.get(made.headers["location"])
        assert page.status_code == 200, (entity, page.text[:300])
    assert "Probability, percent" in page.text
