"""Custom field settings per record type (accounts, contacts, deals): the definitions by position with a form to
define a new one, an edit form (label, choices, required, position), and archive or restore.

Owners and admins only (``custom_fields.require_define``); other roles get the forbidden page. One service call per
post: the service checks every input, and on a refusal nothing is written and the form comes back with the errors
next to the fields. Edits carry the definition's ``version``, so a change made meanwhile is not overwritten.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import custom_fields
from backend.domains.crm.custom_fields_models import ENTITIES, FIELD_TYPES, CustomField
from backend.kit.errors import DomainError, NotFound
from web import i18n
from web.context import MODULE_OPT, ROLES_OPT, Page, tenant_page
from web.pages.crm_accounts import crm_actor
from web.render import attempt, field_errors, form_version, redirect, render

Form = URLEncodedBody[dict[str, str]]
DEFINERS_ONLY = {ROLES_OPT: custom_fields.DEFINERS, MODULE_OPT: "crm"}
ENTITY_LABELS = {"account": i18n.lazy("Accounts"), "contact": i18n.lazy("Contacts"), "deal": i18n.lazy("Deals")}
TYPE_LABELS = {"text": i18n.lazy("Text"), "number": i18n.lazy("Number"), "date": i18n.lazy("Date"),
               "choice": i18n.lazy("Choice"), "bool": i18n.lazy("Yes or no")}
STALE = i18n.lazy("This custom field was changed by someone else meanwhile. The page now shows its current state; "
                  "your changes were not saved.")
CREATE_INPUTS = ("key", "label", "type", "choices", "required")
EDIT_INPUTS = ("label", "choices", "required", "position")


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise NotFound("No such record type.", "entity_not_found")
    return entity


def _choices(text: str) -> list[str]:
    """Choices typed one a line (blank lines dropped; the service checks the rest)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _position(text: str) -> int | str:
    """A whole number as a number; anything else as typed, for the service to refuse with its message."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 7 else text


def _values(definition: CustomField) -> dict[str, str]:
    return {"label": definition.label, "choices": "\n".join(definition.choices or []),
            "required": "on" if definition.required else "", "position": str(definition.position)}


def _reraise_access(error: DomainError) -> None:
    if error.status in (403, 404):
        raise error


class CustomFieldPages(Controller):
    path = "/t/{tenant_slug:str}/custom-fields"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=DEFINERS_ONLY)
    async def index(self, pg: NamedDependency[Page]) -> Redirect:
        return redirect(f"{pg.base}/custom-fields/account")

    @get("/{entity:str}", opt=DEFINERS_ONLY)
    async def definitions(
        self, pg: NamedDependency[Page], entity: FromPath[str], archived: FromQuery[bool] = False,
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
    ) -> Template:
        return await _list_page(pg, _entity(entity), archived, cursor, values={"type": "text"}, errors={})

    @post("/{entity:str}", opt=DEFINERS_ONLY)
    async def create(self, pg: NamedDependency[Page], entity: FromPath[str], data: Form) -> Template | Redirect:
        entity = _entity(entity)
        values = {name: str(data.get(name, "")) for name in CREATE_INPUTS}
        body: dict[str, Any] = {"entity": entity, "key": values["key"].strip(), "label": values["label"],
                                "type": values["type"], "required": values["required"] == "on"}
        if values["type"] == "choice":  # the choices box is ignored for the other types
            body["choices"] = _choices(values["choices"])
        created, error = await attempt(pg, lambda: custom_fields.create(pg.uow, crm_actor(pg), body))
        if error is not None or created is None:
            assert error is not None
            _reraise_access(error)
            return await _list_page(pg, entity, False, None, values, field_errors(error), error.status)
        return redirect(f"{pg.base}/custom-fields/{entity}",
                        i18n.gettext("Custom field “%(label)s” created.") % {"label": created.label})

    @get("/{entity:str}/{field_id:uuid}", opt=DEFINERS_ONLY)
    async def edit(self, pg: NamedDependency[Page], entity: FromPath[str], field_id: FromPath[uuid.UUID]) -> Template:
        definition = await _definition(pg, entity, field_id)
        return _edit_page(pg, definition, _values(definition), {})

    @post("/{entity:str}/{field_id:uuid}", opt=DEFINERS_ONLY)
    async def save(self, pg: NamedDependency[Page], entity: FromPath[str], field_id: FromPath[uuid.UUID],
                   data: Form) -> Template | Redirect:
        definition = await _definition(pg, entity, field_id)
        values = {name: str(data.get(name, "")) for name in EDIT_INPUTS}
        body: dict[str, Any] = {"label": values["label"], "required": values["required"] == "on"}
        if definition.type == "choice":
            body["choices"] = _choices(values["choices"])
        if values["position"].strip():
            body["position"] = _position(values["position"])
        version = form_version(data)
        saved, error = await attempt(pg, lambda: custom_fields.update(pg.uow, crm_actor(pg), field_id, body,
                                                                      version))
        if error is None and saved is not None:
            if version is not None and saved.version == version:
                return redirect(f"{pg.base}/custom-fields/{saved.entity}/{field_id}",
                                i18n.gettext("Nothing to change."), "info")
            return redirect(f"{pg.base}/custom-fields/{saved.entity}", i18n.gettext("Custom field saved."))
        assert error is not None
        return await _refused(pg, entity, field_id, error, values)

    @post("/{entity:str}/{field_id:uuid}/archive", opt=DEFINERS_ONLY)
    async def archive(self, pg: NamedDependency[Page], entity: FromPath[str], field_id: FromPath[uuid.UUID],
                      data: Form) -> Template | Redirect:
        definition = await _definition(pg, entity, field_id)
        archived = data.get("archived") == "1"
        change = {"archived": archived}
        _, error = await attempt(pg, lambda: custom_fields.update(pg.uow, crm_actor(pg), field_id, change,
                                                                  form_version(data)))
        if error is None:
            done = i18n.gettext("Custom field archived.") if archived else i18n.gettext("Custom field restored.")
            return redirect(f"{pg.base}/custom-fields/{definition.entity}?archived=true", done)
        return await _refused(pg, entity, field_id, error, None)


async def _definition(pg: Page, entity: str, field_id: uuid.UUID) -> CustomField:
    definition = await custom_fields.get(pg.uow, crm_actor(pg), field_id)
    if definition.entity != _entity(entity):
        raise NotFound("No such custom field.", "custom_field_not_found")
    return definition


async def _refused(pg: Page, entity: str, field_id: uuid.UUID, error: DomainError,
                   values: dict[str, str] | None) -> Template:
    """The edit form again: the reader's input with the errors, or the stored state after a conflict."""
    _reraise_access(error)
    current = await _definition(pg, entity, field_id)
    if error.code == "version_conflict":
        return _edit_page(pg, current, _values(current), {"__all__": i18n.gettext(STALE)}, error.status)
    return _edit_page(pg, current, values or _values(current), field_errors(error), error.status)


def _labels() -> dict[str, Any]:
    return {"entities": [(e, i18n.gettext(ENTITY_LABELS[e])) for e in ENTITIES],
            "types": [(t, i18n.gettext(TYPE_LABELS[t])) for t in FIELD_TYPES],
            "type_labels": {t: i18n.gettext(TYPE_LABELS[t]) for t in FIELD_TYPES}}


async def _list_page(pg: Page, entity: str, archived: bool, cursor: str | None, values: dict[str, str],
                     errors: dict[str, str], status: int = 200) -> Template:
    actor = crm_actor(pg)
    try:
        page = await custom_fields.list_fields(pg.uow, actor, entity=entity, include_archived=archived,
                                               cursor=cursor, limit=200)
    except DomainError as exc:  # a stale cursor or a hand-edited URL: the first page with a note
        errors = {"__all__": i18n.gettext(exc.detail), **errors}
        page = await custom_fields.list_fields(pg.uow, actor, entity=entity, include_archived=archived, limit=200)
    return render(pg, "crm/custom_fields.html", status=status, entity=entity, rows=page.items,
                  next_cursor=page.next_cursor, archived=archived, values=values, errors=errors, **_labels())


def _edit_page(pg: Page, definition: CustomField, values: dict[str, str], errors: dict[str, str],
               status: int = 200) -> Template:
    return render(pg, "crm/custom_field_form.html", status=status, definition=definition, values=values,
                  errors=errors, **_labels())
