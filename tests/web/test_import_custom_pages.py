"""The import wizard with custom fields: the columns step offers ``cf.<key>`` targets with their labels as defined
(never through gettext), the check lists a bad choice with its row and column, and the import stores the values."""

from __future__ import annotations

import re

from tests.api.helpers import scalar
from tests.web.conftest import assert_page
from tests.web.test_custom_field_inputs import define
from tests.web.test_import_pages import upload

CSV_TEXT = "Company,Tier 100%,Fleet\nGood Co,gold,\"1 200,5\"\nBad Co,platinum,3\n"


async def test_custom_columns_are_mapped_checked_and_imported(owner, company, client) -> None:
    await define(client, company, entity="account", key="tier", label="Tier 100%", type="choice",
                 choices=["gold", "<silver> 50%"])
    await define(client, company, entity="account", key="fleet", label="Fleet", type="number")
    made = await upload(owner, company, CSV_TEXT)
    assert made.status_code == 303, made.text[:500]
    columns_url = made.headers["location"]
    page = await owner.get(columns_url)
    assert_page(page, 200, "Choose the columns")
    assert re.search(r'<option value="cf.tier" selected>Tier 100%</option>', page.text)
    assert re.search(r'<option value="cf.fleet" selected>Fleet</option>', page.text)

    token = await owner.csrf(columns_url)
    checked = await owner.post(f"{columns_url}/check", {"map-0": "name", "map-1": "cf.tier", "map-2": "cf.fleet",
                                                        "_csrf_token": token})
    assert checked.status_code == 303
    report = await owner.get(checked.headers["location"])
    shown = assert_page(report, 200, "1 of 2 rows are ready to import.", "Rows with problems")
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", report.text)
    assert rows == [("3", "Tier 100%", "platinum", "one of: gold, &lt;silver&gt; 50%")], rows  # escaped, as written
    assert "<silver>" not in report.text
    assert "one of: gold, <silver> 50%" in shown
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".accounts') == 0

    fixed = await upload(owner, company, CSV_TEXT.replace("platinum", "<silver> 50%"),
                         {"previous": columns_url.rsplit("/", 1)[1]})
    second = fixed.headers["location"]
    token = await owner.csrf(second)
    assert (await owner.post(f"{second}/check", {"map-0": "name", "map-1": "cf.tier", "map-2": "cf.fleet",
                                                 "_csrf_token": token})).status_code == 303
    assert_page(await owner.get(f"{second}/report"), 200, "Import 2 rows")
    token = await owner.csrf(f"{second}/report")
    done = await owner.post(f"{second}/commit", {"_csrf_token": token})
    assert done.status_code == 303
    stored = {name: await scalar(f'SELECT custom FROM "{company.tenant.schema}".accounts WHERE name = :n', n=name)
              for name in ("Good Co", "Bad Co")}
    assert stored == {"Good Co": {"tier": "gold", "fleet": "1200.5"}, "Bad Co": {"tier": "<silver> 50%", "fleet": "3"}}
