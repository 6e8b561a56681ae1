"""Custom field inputs on the staff forms: the active definitions of an entity, their current values as form
values (``cf.<key>``), and submitted ``cf.<key>`` fields turned into the ``custom`` object the services validate;
and the values as the record cards show them (read-only, formatted for the reader's language).

The inputs themselves are rendered by ``macros/custom_fields.html``; a field's error (``custom.<key>``) is shown
next to its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.db.uow import UnitOfWork
from backend.domains.crm import custom_fields
from backend.domains.crm.custom_fields_models import CustomField
from web import i18n

PREFIX = "cf."
EMPTY = "—"


@dataclass(frozen=True, slots=True)
class ShownValue:
    """A custom field on a record card: its label and its value as text."""

    key: str
    label: str
    text: str


def display(definition: CustomField, value: Any) -> str:
    """A stored value as the card shows it: dates and numbers in the reader's format (numbers exact), yes/no,
    a dash when empty; a value that does not fit its type (stored before a change of rules) as it is."""
    if value is None or value == "":
        return EMPTY
    try:
        if definition.type == "bool":
            return i18n.gettext("Yes") if value is True else i18n.gettext("No") if value is False else str(value)
        if definition.type == "number":
            return i18n.format_number(Decimal(str(value)), exact=True)
        if definition.type == "date":
            return i18n.format_date(date.fromisoformat(str(value)))
    except (ValueError, InvalidOperation):
        pass
    return str(value)


async def shown_values(uow: UnitOfWork, entity: str, custom: Mapping[str, Any] | None) -> list[ShownValue]:
    """Every active field of the entity (empty ones with a dash), plus archived fields the record still holds a
    value of, in form order."""
    stored = custom or {}
    known = await custom_fields.definitions(uow, entity)
    return [ShownValue(d.key, d.label, display(d, stored.get(d.key)))
            for d in sorted(known.values(), key=lambda d: (d.position, d.key))
            if d.archived_at is None or stored.get(d.key) not in (None, "")]


async def active_definitions(uow: UnitOfWork, entity: str) -> list[CustomField]:
    """The entity's definitions that take values (not archived), in form order."""
    known = await custom_fields.definitions(uow, entity)
    return sorted((d for d in known.values() if d.archived_at is None), key=lambda d: (d.position, d.key))


def form_values(custom: Mapping[str, Any] | None) -> dict[str, str]:
    """Stored custom values as the form shows them: ``cf.<key>`` → text (a true bool is ``"on"``)."""
    shown: dict[str, str] = {}
    for key, value in (custom or {}).items():
        if isinstance(value, bool):
            if value:
                shown[PREFIX + key] = "on"
        elif value is not None:
            shown[PREFIX + key] = str(value)
    return shown


def submitted(form: Mapping[str, str], definitions: list[CustomField], *, create: bool) -> dict[str, Any]:
    """The ``custom`` object from a submitted form, for the definitions the form showed.

    A checkbox is true when ticked and false otherwise; an empty input is left out on create and cleared (None)
    on edit (an input missing from an edit post keeps its value), so the service's required rule and its checks
    of each type apply as they do for the API.
    """
    custom: dict[str, Any] = {}
    for definition in definitions:
        name = PREFIX + definition.key
        if definition.type == "bool":
            custom[definition.key] = form.get(name) == "on"
            continue
        raw = str(form.get(name, "")).strip()
        if raw:
            custom[definition.key] = raw
        elif not create and name in form:
            custom[definition.key] = None
    return custom


def changed(custom: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of an edit form's ``custom`` that differs from the stored values (an unticked box for a value never
    set is no change)."""
    stored = current or {}
    return {key: value for key, value in custom.items()
            if value != stored.get(key) and not (value is False and key not in stored)}


def posted(form: Mapping[str, Any]) -> dict[str, str]:
    """The ``cf.<key>`` fields of a submitted form, to show them again after an error."""
    return {name: value for name, value in form.items() if name.startswith(PREFIX) and isinstance(value, str)}
