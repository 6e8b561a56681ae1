"""Custom fields per tenant for accounts, contacts and deals: definitions, value validation, list filters.

Definitions (``custom_fields``) are changed by owners and admins only; every member reads them. Values live in the
``custom`` JSONB column of the record, keyed by the definition's stable ``key``:

* text: a string of at most 1000 characters; number: a canonical Decimal *string* (``"12.5"``, exact);
  date: ISO ``YYYY-MM-DD``; bool: true/false; choice: one of the definition's choices.
* ``validate_values`` checks a ``{key: value}`` object on create (required fields enforced) and on PATCH (merged
  into the stored values key by key; ``null`` or ``""`` removes a value). Errors are named ``custom.<key>``.
* Archived definitions take no new values; stored values stay, are shown and can still be filtered on.
* A field's type cannot change while records hold values of it; a choice still in use cannot be removed (409).
* ``filter_clauses`` turns ``cf.<key>=value`` (exact) and ``cf.<key>.gte`` / ``.lte`` (number and date) query
  parameters into WHERE clauses; anything unknown or malformed is a 400 problem naming the parameter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Date, Numeric, cast, exists, func, select

from backend.db.keyset import keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm.custom_fields_models import ENTITIES, FIELD_TYPES, CustomField
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "custom_field"
DEFINERS = frozenset({"owner", "admin"})
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
TEXT_MAX = 1000
MAX_CHOICES = 100
CHOICE_MAX = 80
MAX_FILTERS = 20
RANGE_TYPES = ("number", "date")
TABLES: dict[str, Any] = {"account": Account, "contact": Contact, "deal": Deal}
CREATE_INPUT = ("entity", "key", "label", "type", "choices", "required", "position")
UPDATE_INPUT = ("label", "type", "choices", "required", "position", "archived")
AUDITED = ("entity", "key", "label", "type", "choices", "required", "position")


def require_define(actor: CrmActor) -> None:
    if actor.role not in DEFINERS:
        raise Forbidden("Only owners and admins can define custom fields.", "crm_read_only")


def snapshot(definition: CustomField) -> dict[str, Any]:
    return {name: list(definition.choices or []) if name == "choices" else getattr(definition, name)
            for name in AUDITED}


# --- values ------------------------------------------------------------------------------------------------------

def canonical_number(value: Decimal) -> str:
    """Exact and unique per value: ``12.50`` → ``"12.5"``, ``1E+2`` → ``"100"``, ``-0`` → ``"0"``."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _number(raw: Any) -> Decimal | None:
    """A Decimal from a string, an int or a JSON number (read through its shortest repr); None if not one."""
    if isinstance(raw, bool):
        return None
    try:
        if isinstance(raw, int):
            value = Decimal(raw)
        elif isinstance(raw, float):
            value = Decimal(repr(raw))
        elif isinstance(raw, str):
            value = Decimal(raw.strip())
        else:
            return None
    except InvalidOperation:
        return None
    if not value.is_finite() or int(value.as_tuple().exponent) < -10 or value.adjusted() >= 18:
        return None
    return value


def _date(raw: Any) -> date | None:
    if not isinstance(raw, str) or len(raw.strip()) != 10:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def coerce(check: Fields, field: str, definition: CustomField, raw: Any) -> Any:
    """The stored (JSON) form of ``raw`` for this definition; a failure is noted on ``check`` (returns None)."""
    kind = definition.type
    if kind == "bool":
        if not isinstance(raw, bool):
            check.fail(field, "true or false")
            return None
        return raw
    if kind == "text":
        return check.text({field: raw}, field, max_len=TEXT_MAX, multiline=True)
    if kind == "number":
        number = _number(raw)
        if number is None:
            check.fail(field, 'a number such as "12.50" (at most 18 digits before the point and 10 after)')
            return None
        return canonical_number(number)
    if kind == "date":
        day = _date(raw)
        if day is None:
            check.fail(field, "a date such as 2026-12-31")
            return None
        return day.isoformat()
    text = raw.strip() if isinstance(raw, str) else None
    if text not in definition.choices:
        check.fail(field, "one of: " + ", ".join(definition.choices))
        return None
    return text


async def definitions(uow: UnitOfWork, entity: str, *, share_lock: bool = False) -> dict[str, CustomField]:
    """Every definition of the entity (archived ones included), by key.

    ``share_lock`` (used when values are written) holds the rows FOR SHARE until commit: a concurrent change of
    type or choices (FOR UPDATE) waits for the write and then sees its values, or the write sees the new rules.
    """
    query = select(CustomField).where(CustomField.entity == entity)
    if share_lock:
        query = query.with_for_update(read=True).execution_options(populate_existing=True)
    return {d.key: d for d in (await uow.session.execute(query)).scalars()}


async def validate_values(uow: UnitOfWork, entity: str, data: Any, *, current: dict[str, Any] | None = None,
                          check: Fields | None = None) -> dict[str, Any]:
    """The record's new ``custom`` object: ``data`` checked against the definitions and merged into ``current``.

    ``current`` None means a new record: required fields must then have a value. Problems are added to ``check``
    (the caller reports them with its own); without one they are raised at once.
    """
    own = check if check is not None else Fields()
    merged = dict(current or {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        own.fail("custom", "an object of custom field keys and values")
        data = {}
    known = await definitions(uow, entity, share_lock=bool(data)) if data or current is None else {}
    for key, raw in data.items():
        field = f"custom.{key}"
        definition = known.get(key)
        if definition is None:
            own.fail(field, "no such custom field")
            continue
        if definition.archived_at is not None:
            own.fail(field, "this custom field is archived")
            continue
        if _blank(raw):
            if definition.required:
                own.fail(field, "required")
            merged.pop(key, None)
            continue
        failures = len(own.errors)
        value = coerce(own, field, definition, raw)
        if len(own.errors) == failures and value is not None:
            merged[key] = value
    if current is None:
        for key, definition in known.items():
            if definition.required and definition.archived_at is None and key not in merged and key not in data:
                own.fail(f"custom.{key}", "required")
    if check is None:
        own.done()
    return merged


def audited(custom: dict[str, Any] | None) -> dict[str, Any]:
    """Custom values as audit fields ``custom.<key>``."""
    return {f"custom.{key}": value for key, value in sorted((custom or {}).items())}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``audit.diff`` that also reports fields gone from ``after`` (a removed custom value: [old, None])."""
    return audit.diff(before, {**dict.fromkeys(before), **after})


# --- filters -----------------------------------------------------------------------------------------------------

def _bad_filter(errors: list[FieldError]) -> DomainError:
    return DomainError("Unknown or invalid custom field filter.", "invalid_filter", 400, errors)


def _filter_value(definition: CustomField, raw: str) -> Any:
    """The stored form of a query value, or None when it is not a value of this field."""
    kind, text = definition.type, raw.strip()
    if kind == "bool":
        return {"true": True, "false": False}.get(text.lower())
    if kind == "number":
        number = _number(text)
        return None if number is None else canonical_number(number)
    if kind == "date":
        day = _date(text)
        return None if day is None else day.isoformat()
    if kind == "choice":
        return text if text in definition.choices else None
    return text if text and len(text) <= TEXT_MAX else None


async def filter_clauses(uow: UnitOfWork, entity: str, column: Any,
                         params: Iterable[tuple[str, str]]) -> list[Any]:
    """WHERE clauses over ``column`` (the entity's ``custom``) for ``cf.<key>[.gte|.lte]=value`` parameters."""
    wanted = [(name, value) for name, value in params if name.startswith("cf.")]
    if not wanted:
        return []
    if len(wanted) > MAX_FILTERS:
        raise _bad_filter([FieldError("cf", "at most 20 custom field filters")])
    known = await definitions(uow, entity)
    clauses: list[Any] = []
    errors: list[FieldError] = []
    for name, raw in wanted:
        key, _, op = name[3:].partition(".")
        definition = known.get(key)
        if definition is None:
            errors.append(FieldError(name, "no such custom field"))
            continue
        if op and (op not in ("gte", "lte") or definition.type not in RANGE_TYPES):
            errors.append(FieldError(name, "only number and date fields take .gte or .lte"))
            continue
        value = _filter_value(definition, raw)
        if value is None:
            errors.append(FieldError(name, "not a value of this custom field"))
        elif not op:
            clauses.append(column.contains({key: value}))
        else:
            typed = cast(column[key].astext, Numeric if definition.type == "number" else Date)
            bound = Decimal(value) if definition.type == "number" else date.fromisoformat(value)
            clauses.append(typed >= bound if op == "gte" else typed <= bound)
    if errors:
        raise _bad_filter(errors)
    return clauses


# --- definitions -------------------------------------------------------------------------------------------------

def _choices(check: Fields, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        check.fail("choices", "a list of texts")
        return []
    cleaned = [c.strip() for c in raw]
    if not 1 <= len(cleaned) <= MAX_CHOICES or any(not c or len(c) > CHOICE_MAX for c in cleaned):
        check.fail("choices", "1-100 choices of 1-80 characters")
    elif len(set(cleaned)) != len(cleaned):
        check.fail("choices", "each choice once")
    return cleaned


def _clean(data: dict[str, Any], *, current: CustomField | None) -> dict[str, Any]:
    allowed = UPDATE_INPUT if current is not None else CREATE_INPUT
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        reason = "cannot be changed" if current is not None else "not a field of a custom field"
        raise Invalid("Unknown fields.", [FieldError(f, reason) for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if current is None:
        clean["entity"] = check.choice(data, "entity", ENTITIES)
        key = data.get("key")
        if not isinstance(key, str) or KEY.fullmatch(key) is None:
            check.fail("key", "lowercase letters, digits and _, starting with a letter (at most 40)")
        clean["key"] = key
    if current is None or "label" in data:
        clean["label"] = check.text(data, "label", required=True, max_len=120)
    if current is None or "type" in data:
        clean["type"] = check.choice(data, "type", FIELD_TYPES)
    kind = clean.get("type") or (current.type if current is not None else None)
    if "choices" in data and data["choices"] not in (None, []):
        if kind == "choice":
            clean["choices"] = _choices(check, data["choices"])
        else:
            check.fail("choices", "only for fields of type choice")
    elif kind == "choice" and (current is None or current.type != "choice" or "choices" in data):
        check.fail("choices", "required for fields of type choice")
    elif kind != "choice":
        clean["choices"] = []
    for flag in ("required", "archived"):
        if flag in data:
            clean[flag] = bool(check.flag(data, flag))
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
            check.fail("position", "a whole number from 0 to 10000")
        clean["position"] = position
    check.done()
    return clean


async def _has_values(uow: UnitOfWork, definition: CustomField, value: Any = None) -> bool:
    table = TABLES[definition.entity]
    where = table.custom.has_key(definition.key) if value is None else table.custom.contains({definition.key: value})
    return bool((await uow.session.execute(select(exists().where(where)))).scalar_one())


async def _check_in_use(uow: UnitOfWork, definition: CustomField, clean: dict[str, Any]) -> None:
    if clean.get("type") not in (None, definition.type) and await _has_values(uow, definition):
        raise Conflict("Records hold values of this field, so its type cannot change.", "custom_field_in_use",
                       [FieldError("type", "records hold values of this field")])
    if "choices" in clean and definition.type == "choice" and clean.get("type", "choice") == "choice":
        removed = [c for c in definition.choices if c not in clean["choices"]]
        used = [c for c in removed if await _has_values(uow, definition, c)]
        if used:
            raise Conflict("A choice that records still use cannot be removed.", "choice_in_use",
                           [FieldError("choices", "still in use: " + ", ".join(used))])


async def get(uow: UnitOfWork, actor: CrmActor, field_id: uuid.UUID, *, for_update: bool = False) -> CustomField:
    query = select(CustomField).where(CustomField.id == field_id)
    if for_update:
        query = query.with_for_update()
    found = (await uow.session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound("No such custom field.", "custom_field_not_found")
    return found


async def list_fields(uow: UnitOfWork, actor: CrmActor, *, entity: str | None = None,
                      include_archived: bool = False, cursor: str | None = None,
                      limit: int = 100) -> PageOf[CustomField]:
    """Definitions by position (then id); pass ``entity`` for one record type's form order."""
    limit = clamp_limit(limit)
    query = select(CustomField)
    if entity is not None:
        if entity not in ENTITIES:
            raise Invalid("Unknown record type.", [FieldError("entity", "one of: account, contact, deal")])
        query = query.where(CustomField.entity == entity)
    if not include_archived:
        query = query.where(CustomField.archived_at.is_(None))
    return await keyset_page(uow.session, query, sort_column=CustomField.position, id_column=CustomField.id,
                             descending=False, cursor=cursor, limit=limit, value_of=lambda d: d.position,
                             parse_value=int)


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> CustomField:
    require_define(actor)
    clean = _clean(data, current=None)
    taken = select(exists().where(CustomField.entity == clean["entity"], CustomField.key == clean["key"]))
    if (await uow.session.execute(taken)).scalar_one():
        raise Conflict("This key is already used for this record type.", "custom_field_key_taken",
                       [FieldError("key", "already used (archived fields keep their key)")])
    if "position" not in clean:
        last = select(func.max(CustomField.position)).where(CustomField.entity == clean["entity"])
        found = (await uow.session.execute(last)).scalar_one()
        clean["position"] = 0 if found is None else min(int(found) + 1, 10_000)
    clean.pop("archived", None)
    definition = CustomField(id=uuid.uuid4(), version=1, required=clean.pop("required", False), **clean)
    uow.session.add(definition)
    await uow.flush()
    await uow.session.refresh(definition)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, definition.id, "create",
                       audit.diff({}, snapshot(definition)))
    return definition


def _check_version(definition: CustomField, expected: int | None) -> None:
    if expected is not None and expected != definition.version:
        raise Conflict("This custom field was changed by someone else; reload it and try again.", "version_conflict")


async def update(uow: UnitOfWork, actor: CrmActor, field_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> CustomField:
    """Relabel, reorder, make (not) required, change choices or type (see the rules above), archive/restore."""
    require_define(actor)
    definition = await get(uow, actor, field_id, for_update=True)
    _check_version(definition, expected_version)
    clean = _clean(data, current=definition)
    await _check_in_use(uow, definition, clean)
    before = snapshot(definition)
    archived = clean.pop("archived", None)
    for name, value in clean.items():
        setattr(definition, name, value)
    action = "update"
    if archived is not None and archived != (definition.archived_at is not None):
        definition.archived_at = utcnow() if archived else None
        action = "archive" if archived else "restore"
    found = audit.diff(before, snapshot(definition))
    if found or action != "update":
        definition.version += 1
        definition.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, definition.id, action, found)
    await uow.flush()
    return definition


async def archive(uow: UnitOfWork, actor: CrmActor, field_id: uuid.UUID,
                  expected_version: int | None = None) -> CustomField:
    """Archived fields take no new values; stored values are kept (the key stays reserved)."""
    return await update(uow, actor, field_id, {"archived": True}, expected_version)
