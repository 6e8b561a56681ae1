"""backend.domains.company.service without HTTP: typed values, all errors at once, rollback, audit."""

from __future__ import annotations

import pytest

from backend.domains.company import service
from backend.kit.errors import Invalid
from backend.kit.modules import MODULES
from tenants.scope import tenant_scope
from tests.web.conftest import audit_rows
from tests.web.test_settings_page import company_row
from web import i18n


def test_the_company_languages_are_the_languages_of_the_pages() -> None:
    assert set(service.LOCALES) == set(i18n.LANGUAGES)


def test_currency_and_time_zone_lists() -> None:
    assert {"USD", "EUR", "KRW", "JPY", "RUB"} <= service.currencies()
    assert "XXX" not in service.currencies()
    assert "Asia/Seoul" in service.timezones()
    assert "UTC" in service.timezones()
    assert list(service.timezones()) == sorted(service.timezones())


async def test_update_accepts_typed_values_and_returns_the_changes(company) -> None:
    async with tenant_scope(company.tenant) as uow:
        updated = await service.update_settings(uow, company.user_id, {"fiscal_year_start_month": 7,
                                                                       "base_currency": "krw"})
        assert updated.changed == {"fiscal_year_start_month": (1, 7), "base_currency": ("USD", "KRW")}
        assert updated.settings.updated_at is not None  # loaded, not left expired
        again = await service.update_settings(uow, company.user_id, {"fiscal_year_start_month": "7"})
        assert again.changed == {}
    row = await company_row(company.tenant)
    assert (row["fiscal_year_start_month"], row["base_currency"]) == (7, "KRW")
    assert len(await audit_rows(company.tenant.id, "company.settings_changed")) == 1


async def test_every_invalid_field_is_reported_at_once_and_the_scope_rolls_back(company) -> None:
    before = await company_row(company.tenant)
    with pytest.raises(Invalid) as caught:
        async with tenant_scope(company.tenant) as uow:
            await service.update_settings(uow, company.user_id, {
                "base_currency": "ZZZ", "fiscal_year_start_month": True, "timezone": "", "colour": "red"})
    assert caught.value.status == 422
    assert {e.field for e in caught.value.errors} == {"base_currency", "fiscal_year_start_month", "timezone",
                                                      "colour"}
    assert await company_row(company.tenant) == before


async def test_set_modules_keeps_registry_order_and_refuses_unknown_keys(company) -> None:
    async with tenant_scope(company.tenant) as uow:
        updated = await service.set_modules(uow, None, ["bot", "crm", "crm"])
        assert updated.settings.modules == [k for k in MODULES if k in {"bot", "crm"}]
        with pytest.raises(Invalid) as caught:
            await service.set_modules(uow, None, ["crm", "../etc"])
        assert [e.field for e in caught.value.errors] == ["modules"]
        assert (await service.set_modules(uow, None, ["crm", "bot"])).changed == {}
    audit = await audit_rows(company.tenant.id, "company.modules_changed")
    assert [a.details for a in audit] == [{"modules": [["crm", "sales"], ["crm", "bot"]]}]
