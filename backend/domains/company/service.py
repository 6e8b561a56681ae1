"""Company settings: name, base currency, fiscal year, locale, time zone and switched-on modules.

Framework-free and tenant-unaware: every function receives the UnitOfWork of a
tenant scope (its ``tenant_id`` goes on the audit rows). Renaming the company
here changes ``company_settings.name`` only; the adapter also renames the
tenant's registry entry (``shared.tenants.name``), which this package must not know.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypedDict
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.company.models import CompanySettings
from backend.domains.identity.models import AuditEvent
from backend.kit.errors import FieldError, Invalid
from backend.kit.modules import validate as validate_modules

# The languages Tandem speaks (documents, mails, pages); web.i18n.LANGUAGES offers the same codes.
LOCALES: tuple[str, ...] = ("en", "ko", "ja", "ru")
FIELDS: tuple[str, ...] = ("name", "base_currency", "fiscal_year_start_month", "locale", "timezone")
_NOT_CURRENCIES = frozenset({"XXX", "XTS"})  # ISO 4217 "no currency" and "testing" codes


class SettingsChanges(TypedDict, total=False):
    """Fields to change; absent keys stay as they are. Values may come straight from a form."""

    name: str
    base_currency: str
    fiscal_year_start_month: int | str
    locale: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Updated:
    settings: CompanySettings
    changed: dict[str, tuple[Any, Any]]  # field -> (before, after); empty when nothing changed


@lru_cache(maxsize=1)
def currencies() -> frozenset[str]:
    """ISO 4217 codes known to CLDR (via babel), without the non-currency X codes."""
    return frozenset(c for c in list_currencies() if len(c) == 3 and c not in _NOT_CURRENCIES)


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """IANA time zone names, sorted; pseudo-zones are left out."""
    return tuple(sorted(z for z in available_timezones() if z not in {"Factory", "localtime"}))


async def get_settings(uow: UnitOfWork, *, for_update: bool = False) -> CompanySettings:
    query = select(CompanySettings).where(CompanySettings.id == 1)
    if for_update:
        query = query.with_for_update()
    return (await uow.session.execute(query)).scalar_one()


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clean(changes: Mapping[str, object]) -> dict[str, Any]:
    """Validate every given field; all problems are reported at once."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key in changes:
        if key not in FIELDS:
            errors.append(FieldError(key, "Unknown field."))
    if "name" in changes:
        name = _text(changes["name"])
        if not 2 <= len(name) <= 200:
            errors.append(FieldError("name", "2-200 characters"))
        clean["name"] = name
    if "base_currency" in changes:
        currency = _text(changes["base_currency"]).upper()
        if currency not in currencies():
            errors.append(FieldError("base_currency", "Unknown currency code."))
        clean["base_currency"] = currency
    if "fiscal_year_start_month" in changes:
        raw = changes["fiscal_year_start_month"]
        month = raw if isinstance(raw, int) and not isinstance(raw, bool) else _text(raw)
        if isinstance(month, str):
            month = int(month) if month.isascii() and month.isdigit() and len(month) <= 2 else 0
        if not 1 <= month <= 12:
            errors.append(FieldError("fiscal_year_start_month", "Choose a month from 1 to 12."))
        clean["fiscal_year_start_month"] = month
    if "locale" in changes:
        locale = _text(changes["locale"])
        if locale not in LOCALES:
            errors.append(FieldError("locale", "Choose one of the offered languages."))
        clean["locale"] = locale
    if "timezone" in changes:
        zone = _text(changes["timezone"])
        if zone not in timezones():
            errors.append(FieldError("timezone", "Unknown time zone."))
        clean["timezone"] = zone
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors, "invalid_settings")
    return clean


def _audit(uow: UnitOfWork, actor_user_id: uuid.UUID | None, action: str, details: dict[str, Any]) -> None:
    if uow.tenant_id is None:
        raise RuntimeError("company settings need a tenant scope")
    uow.session.add(AuditEvent(tenant_id=uuid.UUID(uow.tenant_id), actor_user_id=actor_user_id, action=action,
                               target_type="company", target_id=uow.tenant_id, details=details))


async def _save(uow: UnitOfWork, row: CompanySettings) -> None:
    await uow.flush()
    await uow.session.refresh(row, ["updated_at"])  # set by the database; never lazy-load it later


async def update_settings(
    uow: UnitOfWork, actor_user_id: uuid.UUID | None, changes: SettingsChanges | Mapping[str, object]
) -> Updated:
    """Change the given fields; an audit row lists each real change as [before, after]."""
    clean = _clean(changes)
    row = await get_settings(uow, for_update=True)
    changed: dict[str, tuple[Any, Any]] = {}
    for key, value in clean.items():
        before = getattr(row, key)
        if before != value:
            changed[key] = (before, value)
            setattr(row, key, value)
    if changed:
        _audit(uow, actor_user_id, "company.settings_changed", {k: [b, a] for k, (b, a) in changed.items()})
        await _save(uow, row)
    return Updated(row, changed)


async def set_modules(uow: UnitOfWork, actor_user_id: uuid.UUID | None, keys: Iterable[str]) -> Updated:
    """Switch on exactly ``keys`` (registry order); everything else is switched off."""
    wanted = [k for k in keys if isinstance(k, str)]
    try:
        enabled = validate_modules(wanted)
    except ValueError as exc:
        raise Invalid("Please correct the highlighted fields.", [FieldError("modules", "Unknown module.")],
                      "unknown_module") from exc
    row = await get_settings(uow, for_update=True)
    before = list(row.modules)
    if before == enabled:
        return Updated(row, {})
    row.modules = enabled
    _audit(uow, actor_user_id, "company.modules_changed", {"modules": [before, enabled]})
    await _save(uow, row)
    return Updated(row, {"modules": (before, enabled)})
