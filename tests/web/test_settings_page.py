"""The settings page: company fields, module switches, audit rows, and module gating for pages and the API."""

from __future__ import annotations

import pytest
from litestar import get
from litestar.di import NamedDependency, Provide

from backend.api.context import TenantContext, tenant_ctx
from backend.app import create_app
from backend.domains.identity.roles import EVERYONE
from tests.api.helpers import execute, fetch, hosted, scalar
from tests.web.conftest import assert_page, assert_redirect, audit_rows
from web.context import Page, tenant_page


def form(**overrides: str) -> dict[str, str]:
    base = {"name": "Acme Trading", "base_currency": "USD", "fiscal_year_start_month": "1", "locale": "en",
            "timezone": "UTC"}
    return {**base, **overrides}


async def company_row(tenant) -> dict[str, object]:
    rows = await fetch(f'SELECT name, base_currency, fiscal_year_start_month, locale, timezone, modules'
                       f' FROM "{tenant.schema}".company_settings')
    return dict(rows[0]._mapping)


async def test_settings_page_shows_current_values_and_localised_months(owner, company) -> None:
    page = assert_page(await owner.get(f"/t/{company.slug}/settings"), 200, "Settings", "Company name",
                       "Base currency", "Fiscal year starts", "Time zone", "January", "December", "Modules",
                       "Inventory", "Telegram bot")
    assert f'value="{company.tenant.name}"' in page
    assert '<option value="USD" selected>' in page
    assert '<option value="1" selected>January</option>' in page
    assert 'value="Europe/Berlin"' in page
    assert 'id="m-crm" name="modules" value="crm" checked' in page
    assert 'id="m-ledger" name="modules" value="ledger" >' in page
    await execute("UPDATE shared.users SET locale = 'ko' WHERE id = :u", u=company.user_id)
    korean = await owner.get(f"/t/{company.slug}/settings")
    assert '<option value="3" >3월</option>' in korean.text
    await execute("UPDATE shared.users SET locale = 'ru' WHERE id = :u", u=company.user_id)
    assert '<option value="1" selected>январь</option>' in (await owner.get(f"/t/{company.slug}/settings")).text


async def test_saving_settings_updates_company_tenant_name_and_audit(owner, company) -> None:
    response = await owner.submit(f"/t/{company.slug}/settings", data=form(
        name="  Acme Trading  ", base_currency="eur", fiscal_year_start_month="4", locale="ja",
        timezone="Asia/Tokyo"))
    assert_redirect(response, f"/t/{company.slug}/settings")
    assert "Settings saved." in owner.flash(response)
    row = await company_row(company.tenant)
    assert (row["name"], row["base_currency"], row["fiscal_year_start_month"], row["locale"], row["timezone"]) == (
        "Acme Trading", "EUR", 4, "ja", "Asia/Tokyo")
    assert await scalar("SELECT name FROM shared.tenants WHERE id = :t", t=company.tenant.id) == "Acme Trading"
    audit = await audit_rows(company.tenant.id, "company.settings_changed")
    assert len(audit) == 1
    assert audit[0].actor_user_id == company.user_id
    assert audit[0].details == {
        "name": [company.tenant.name, "Acme Trading"], "base_currency": ["USD", "EUR"],
        "fiscal_year_start_month": [1, 4], "locale": ["en", "ja"], "timezone": ["UTC", "Asia/Tokyo"],
    }
    # The header (from the registry) shows the new name at once, and the form the saved values.
    page = assert_page(await owner.get(f"/t/{company.slug}/settings"), 200, "Acme Trading")
    assert '<option value="EUR" selected>' in page
    assert '<option value="4" selected>April</option>' in page
    assert f'<span class="brand-co">· {company.tenant.name}' not in page
    # Saving the same values again changes nothing and writes no audit row.
    same = await owner.submit(f"/t/{company.slug}/settings", data=form(
        name="Acme Trading", base_currency="EUR", fiscal_year_start_month="4", locale="ja", timezone="Asia/Tokyo"))
    assert "Nothing to change." in owner.flash(same)
    assert len(await audit_rows(company.tenant.id, "company.settings_changed")) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"base_currency": "XYZ"}, "base_currency", "Unknown currency code."),
        ({"base_currency": "EURO"}, "base_currency", "Unknown currency code."),
        ({"fiscal_year_start_month": "13"}, "fiscal_year_start_month", "Choose a month from 1 to 12."),
        ({"fiscal_year_start_month": "0"}, "fiscal_year_start_month", "Choose a month from 1 to 12."),
        ({"fiscal_year_start_month": "April"}, "fiscal_year_start_month", "Choose a month from 1 to 12."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown time zone."),
        ({"timezone": "../../etc/passwd"}, "timezone", "Unknown time zone."),
        ({"locale": "de"}, "locale", "Choose one of the offered languages."),
        ({"name": " x "}, "name", "2-200 characters"),
    ],
)
async def test_invalid_settings_are_refused_and_nothing_changes(owner, company, overrides, field, reason) -> None:
    before = await company_row(company.tenant)
    typed = {**form(name="Renamed Co"), **overrides}
    response = await owner.submit(f"/t/{company.slug}/settings", data=typed)
    page = assert_page(response, 422, "Please correct the highlighted fields.", reason)
    assert f'id="e-{field}"' in page
    assert f'value="{typed["name"]}"' in page  # what was typed comes back
    assert await company_row(company.tenant) == before
    assert await scalar("SELECT name FROM shared.tenants WHERE id = :t", t=company.tenant.id) == company.tenant.name
    assert await audit_rows(company.tenant.id, "company.settings_changed") == []


async def test_module_switches_are_saved_and_audited(owner, company) -> None:
    response = await owner.submit(f"/t/{company.slug}/settings", f"/t/{company.slug}/settings/modules",
                                  data={"modules": ["ledger", "crm", "inventory"]})
    assert_redirect(response, f"/t/{company.slug}/settings")
    assert "Modules saved." in owner.flash(response)
    assert (await company_row(company.tenant))["modules"] == ["crm", "inventory", "ledger"]  # registry order
    audit = await audit_rows(company.tenant.id, "company.modules_changed")
    assert [(a.actor_user_id, a.details) for a in audit] == [
        (company.user_id, {"modules": [["crm", "sales"], ["crm", "inventory", "ledger"]]})]
    home = assert_page(await owner.get(f"/t/{company.slug}/"), 200, "Inventory", "Accounting")
    assert "Products, quotes, orders" not in home  # sales is off now
    # Everything off is allowed too (no checkbox sends no field at all).
    await owner.submit(f"/t/{company.slug}/settings", f"/t/{company.slug}/settings/modules", data={})
    assert (await company_row(company.tenant))["modules"] == []
    assert_page(await owner.get(f"/t/{company.slug}/"), 200, "No modules are switched on yet.")


async def test_unknown_module_is_refused_and_nothing_changes(owner, company) -> None:
    response = await owner.submit(f"/t/{company.slug}/settings", f"/t/{company.slug}/settings/modules",
                                  data={"modules": ["crm", "casino"]})
    page = assert_page(response, 422, "Unknown module.")
    assert 'id="e-modules"' in page
    assert (await company_row(company.tenant))["modules"] == ["crm", "sales"]
    assert await audit_rows(company.tenant.id, "company.modules_changed") == []


@get("/t/{tenant_slug:str}/probe-inventory", opt={"roles": EVERYONE, "module": "inventory"},
     dependencies={"pg": Provide(tenant_page)}, include_in_schema=False)
async def inventory_page(pg: NamedDependency[Page]) -> str:
    return "inventory page"


@get("/api/v1/t/{tenant_slug:str}/probe-inventory", opt={"roles": EVERYONE, "module": "inventory"},
     dependencies={"ctx": Provide(tenant_ctx)}, include_in_schema=False)
async def inventory_api(ctx: NamedDependency[TenantContext]) -> dict[str, str]:
    return {"module": "inventory"}


async def test_a_switched_off_module_answers_404_on_pages_and_api(settings, database, owner, company) -> None:
    """A test-only app: the real one plus two routes that declare module "inventory"."""
    app = create_app(settings, database=database)
    app.register(inventory_page)
    app.register(inventory_api)
    async with hosted(app, "192.0.2.44", database) as probe:
        probe.cookies.set("tandem_session", company.token, domain="127.0.0.1")
        page, api = f"/t/{company.slug}/probe-inventory", f"/api/v1/t/{company.slug}/probe-inventory"
        assert_page(await probe.get(page), 404, "Page not found")
        off = await probe.get(api, headers=company.auth)
        assert off.status_code == 404
        assert off.json()["code"] == "module_disabled"

        await owner.submit(f"/t/{company.slug}/settings", f"/t/{company.slug}/settings/modules",
                           data={"modules": ["crm", "inventory"]})
        on_page = await probe.get(page)
        assert (on_page.status_code, on_page.text) == (200, "inventory page")
        on_api = await probe.get(api, headers=company.auth)
        assert (on_api.status_code, on_api.json()) == (200, {"module": "inventory"})

        await owner.submit(f"/t/{company.slug}/settings", f"/t/{company.slug}/settings/modules",
                           data={"modules": ["crm"]})
        assert (await probe.get(page)).status_code == 404
        assert (await probe.get(api, headers=company.auth)).json()["code"] == "module_disabled"
