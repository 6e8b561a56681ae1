"""CSV import of custom field values: ``cf.<key>`` targets for the entity's active custom fields (suggested from
the header, required ones must be mapped), cells read like other columns and checked by the service as the API
checks them (a bad value is a row error on its column, the dry run writes nothing), values stored on commit."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import assert_problem, error_fields, scalar
from tests.crm.test_import import api, commit, counts, dry_run, uploaded  # noqa: F401  (api is a fixture)
from tests.crm.test_import import url as import_url


async def define(http: httpx.AsyncClient, company: Any, **body: Any) -> dict[str, Any]:
    response = await http.post(f"/api/v1/t/{company.slug}/custom-fields", headers=company.auth, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def fields(http: httpx.AsyncClient, company: Any) -> None:
    await define(http, company, entity="account", key="tier", label="Tier", type="choice", choices=["Gold", "Silver"])
    await define(http, company, entity="account", key="fleet", label="Fleet size", type="number")
    await define(http, company, entity="account", key="vip", label="VIP", type="bool")
    await define(http, company, entity="account", key="since", label="Customer since", type="date")
    old = await define(http, company, entity="account", key="legacy", label="Legacy", type="text")
    archived = await http.delete(f"/api/v1/t/{company.slug}/custom-fields/{old['id']}", headers=company.auth)
    assert archived.status_code == 200, archived.text
    await define(http, company, entity="contact", key="shoe", label="Shoe size", type="number")


CSV = ("Company,Tier,Fleet size,VIP,Customer since\n"
       "Hanbit Trading,gold,\"1 200,50\",yes,2024/03/01\n"
       "Seoul Foods,Platinum,12,maybe,2024-02-30\n"
       "Busan Port,,,,\n")


async def test_custom_fields_are_targets_checked_like_the_api_and_stored(api, company) -> None:  # noqa: F811
    await fields(api, company)
    job = await uploaded(api, company, CSV)
    targets = {f["name"]: f["label"] for f in job["fields"]}
    assert {k: v for k, v in targets.items() if k.startswith("cf.")} == {
        "cf.tier": "Tier", "cf.fleet": "Fleet size", "cf.vip": "VIP", "cf.since": "Customer since"}
    assert job["suggested_mapping"] == {"Company": "name", "Tier": "cf.tier", "Fleet size": "cf.fleet",
                                        "VIP": "cf.vip", "Customer since": "cf.since"}
    before = await counts(company)
    checked = await dry_run(api, company, job["id"])
    assert checked.status_code == 200, checked.text
    report = checked.json()
    assert (report["rows"], report["valid"], report["invalid"]) == (3, 2, 1)
    problems = {(e["row"], e["column"], e["value"], e["reason"]) for e in report["errors"]}
    assert problems == {
        (3, "Tier", "Platinum", "one of: Gold, Silver"),
        (3, "VIP", "maybe", "yes or no"),
        (3, "Customer since", "2024-02-30", "a date such as 2026-12-31"),
    }
    assert await counts(company) == before

    fixed = await uploaded(api, company, CSV.replace("Platinum,12,maybe,2024-02-30", "SILVER,12,no,01.02.2024"))
    done = await commit(api, company, fixed["id"])
    assert done.status_code == 200, done.text
    stored = {name: await scalar(f'SELECT custom FROM "{company.tenant.schema}".accounts WHERE name = :n', n=name)
              for name in ("Hanbit Trading", "Seoul Foods", "Busan Port")}
    assert stored == {
        "Hanbit Trading": {"tier": "Gold", "fleet": "1200.5", "vip": True, "since": "2024-03-01"},
        "Seoul Foods": {"tier": "Silver", "fleet": "12", "vip": False, "since": "2024-02-01"},
        "Busan Port": {},
    }


async def test_mapping_to_custom_fields_is_checked(api, company) -> None:  # noqa: F811
    await fields(api, company)
    await define(api, company, entity="account", key="region", label="Region", type="text", required=True)
    job = await uploaded(api, company, "Company,Legacy,Shoe\nA Co,x,42\n")
    missing = await dry_run(api, company, job["id"], {"Company": "name"})
    assert error_fields(assert_problem(missing, 422, "import_mapping")) == {"mapping.cf.region"}
    wrong = await dry_run(api, company, job["id"], {"Company": "name", "Legacy": "cf.legacy", "Shoe": "cf.shoe"})
    assert error_fields(assert_problem(wrong, 422, "import_mapping")) == {
        "mapping.Legacy", "mapping.Shoe", "mapping.cf.region"}  # archived, another entity's, and the required one
    ok = await dry_run(api, company, job["id"], {"Company": "name", "Legacy": "cf.region"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["invalid"] == 0
    again = await api.get(import_url(company, f"/{job['id']}"), headers=company.auth)
    assert {f["name"] for f in again.json()["fields"] if f["required"]} == {"name", "cf.region"}
