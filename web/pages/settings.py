"""Company settings at /t/{slug}/settings: name, currency, fiscal year, language, time zone, modules."""

from __future__ import annotations

from typing import Any

from babel import Locale
from babel.dates import get_month_names
from babel.numbers import get_currency_name
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.company import service
from backend.kit.modules import MODULES
from tenants import provisioning
from web import i18n
from web.context import Page, tenant_page
from web.pages.tenant import ADMIN_ONLY
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]
MultiForm = URLEncodedBody[dict[str, str | list[str]]]


class SettingsPages(Controller):
    path = "/t/{tenant_slug:str}"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/settings", opt=ADMIN_ONLY)
    async def settings(self, pg: NamedDependency[Page]) -> Template:
        return _settings_page(pg, values=_current(pg), errors={})

    @post("/settings", opt=ADMIN_ONLY)
    async def save(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        assert pg.tenant is not None
        tenant, user_id = pg.tenant, pg.user.id if pg.user else None
        changes = {key: str(data.get(key, "")) for key in service.FIELDS}

        async def save() -> service.Updated:
            updated = await service.update_settings(pg.uow, user_id, changes)
            if "name" in updated.changed:
                await provisioning.rename(pg.uow, tenant.slug, updated.settings.name)
            return updated

        updated, error = await attempt(pg, save)
        if error is not None or updated is None:
            assert error is not None
            return _settings_page(pg, values={**_current(pg), **changes}, errors=field_errors(error),
                                  status=error.status)
        if not updated.changed:
            return redirect(f"{pg.base}/settings", i18n.gettext("Nothing to change."), "info")
        return redirect(f"{pg.base}/settings", i18n.gettext("Settings saved."))

    @post("/settings/modules", opt=ADMIN_ONLY)
    async def modules(self, pg: NamedDependency[Page], data: MultiForm) -> Template | Redirect:
        raw = data.get("modules", [])
        keys = [raw] if isinstance(raw, str) else list(raw)
        user_id = pg.user.id if pg.user else None
        updated, error = await attempt(pg, lambda: service.set_modules(pg.uow, user_id, keys))
        if error is not None or updated is None:
            assert error is not None
            return _settings_page(pg, values=_current(pg), errors=field_errors(error), status=error.status,
                                  checked=[k for k in keys if k in MODULES])
        return redirect(f"{pg.base}/settings", i18n.gettext("Modules saved."))


def _current(pg: Page) -> dict[str, Any]:
    company = pg.company
    assert company is not None
    return {"name": company.name, "base_currency": company.base_currency,
            "fiscal_year_start_month": str(company.fiscal_year_start_month), "locale": company.locale,
            "timezone": company.timezone}


def _settings_page(pg: Page, values: dict[str, Any], errors: dict[str, str], status: int = 200,
                   checked: list[str] | None = None) -> Template:
    assert pg.company is not None
    locale = _locale()
    months = get_month_names("wide", context="stand-alone", locale=locale)
    currencies = sorted((code, f"{code} · {get_currency_name(code, locale=locale)}") for code in service.currencies())
    return render(
        pg, "app/settings.html", status=status, values=values, errors=errors,
        months=[(str(n), str(months[n])) for n in range(1, 13)], currencies=currencies,
        timezones=[(z, z) for z in service.timezones()], all_modules=list(MODULES.values()),
        checked=list(pg.company.modules) if checked is None else checked,
    )


def _locale() -> Locale:
    return Locale.parse(i18n.current_locale.get())
