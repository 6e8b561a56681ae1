"""Custom field inputs on the staff forms: the active definitions of an entity, their current values as form
values (``cf.<key>``), and submitted ``cf.<key>`` fields turned into the ``custom`` object the services validate.

The inputs themselves are rendered by ``macros/custom_fields.html``; a field's error (``custom.<key>``) is shown
next to its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.db.uow import UnitOfWork
from backend.domains.crm import custom_fields
from backend.domains.crm.custom_fields_models import CustomField

PREFIX = "cf."


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
