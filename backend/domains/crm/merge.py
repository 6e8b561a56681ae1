"""Merging a duplicate account (or contact) into the record that survives, keeping every related record.

Related records are found generically: every foreign key of the tenant metadata that references ``accounts.id``
(``contacts.id``) is repointed from the duplicate to the survivor, so tables added by later features (interactions,
tasks, orders, invoices, …) are covered without touching this module. Repointed rows get their ``version`` bumped
(and ``updated_at`` stamped) when they have one, and an audit row when their primary key is a single column.

Then the survivor takes the chosen fields (``keep: {field: "survivor" | "duplicate"}``; a field not named keeps the
survivor's value unless that one is empty, in which case the duplicate's fills it), the union of the tags (of the
roles, for contacts), and a self-reference is cut (an account cannot become its own group). The duplicate is
archived with ``merged_into_id`` pointing at the survivor, so old links still resolve; earlier merges that pointed at
the duplicate now point at the survivor too (``merged_into_id`` is one of the repointed foreign keys).

Both records are locked ``FOR UPDATE`` in id order first, so two merges racing on the same records serialise (the
loser finds the duplicate already merged: 409) and never deadlock on each other. Owner, admin and manager may merge;
a rep only two records they own. ``If-Match`` applies to the survivor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, func, select, update

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import accounts, contacts, segments
from backend.domains.crm.models import CONTACT_ROLES, Account, Contact
from backend.domains.crm.visibility import OWN_ONLY, CrmActor, can_see
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, DomainError, FieldError, Forbidden, Invalid
from backend.models import tenant_metadata

SIDES = ("survivor", "duplicate")
ACCOUNT_FIELDS = ("name", "kind", "status", "parent_id", "owner_user_id", "is_shared", "source_channel", "website",
                  "notes", "marketing_event_id")
# A contact's consent travels as a whole: the flag with its time and source.
CONTACT_FIELDS: dict[str, tuple[str, ...]] = {
    "full_name": ("full_name",), "job_title": ("job_title",), "account_id": ("account_id",), "email": ("email",),
    "phone": ("phone",), "owner_user_id": ("owner_user_id",),
    "email_consent": ("email_consent", "email_consent_at", "email_consent_source"),
    "sms_consent": ("sms_consent", "sms_consent_at", "sms_consent_source"),
}
NO_FILL = frozenset({"email_consent", "sms_consent"})  # consent is never taken over implicitly
# Audit record types of the tables we know; other tables are audited under their table name.
RECORD_TYPES = {"accounts": "account", "contacts": "contact", "legal_entities": "legal_entity", "deals": "deal"}


@dataclass(frozen=True, slots=True)
class Reference:
    """A foreign key column pointing at the merged table's ``id``."""

    table: Table
    column: Column[Any]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def references(table_name: str) -> list[Reference]:
    """Every single-column foreign key in the tenant metadata that references ``<table_name>.id``."""
    target = tenant_metadata.tables[table_name]
    found: list[Reference] = []
    for table in tenant_metadata.sorted_tables:
        for constraint in table.foreign_key_constraints:
            if constraint.referred_table is not target:
                continue
            columns = list(constraint.columns)
            if len(columns) != 1 or next(iter(constraint.elements)).column is not target.c.id:
                raise RuntimeError(f"merge cannot repoint the foreign key {constraint.name} of {table.name}")
            found.append(Reference(table, columns[0]))
    return sorted(found, key=lambda r: r.name)


# --- shared steps ------------------------------------------------------------------------------------------------

def _choices(keep: Any, fields: Iterable[str]) -> dict[str, str]:
    if keep is None:
        return {}
    if not isinstance(keep, dict):
        raise Invalid("Please correct the highlighted fields.",
                      [FieldError("keep", "an object of field: survivor or duplicate")])
    allowed = set(fields)
    errors = [FieldError(f"keep.{name}", "not a field you can choose") for name in keep if name not in allowed]
    errors += [FieldError(f"keep.{name}", "survivor or duplicate") for name, side in keep.items()
               if name in allowed and side not in SIDES]
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    return {str(k): str(v) for k, v in keep.items()}


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _take_duplicate(choice: str | None, name: str, survivor_value: Any, duplicate_value: Any) -> bool:
    if choice is not None:
        return choice == "duplicate"
    return name not in NO_FILL and _empty(survivor_value) and not _empty(duplicate_value)


async def _lock(uow: UnitOfWork, model: type[Account] | type[Contact], *ids: uuid.UUID) -> None:
    """Row locks in id order: concurrent merges over the same records wait for each other, never deadlock."""
    for record_id in sorted(set(ids)):
        await uow.session.execute(select(model.id).where(model.id == record_id).with_for_update())


def _check_pair(survivor_id: uuid.UUID, duplicate_id: uuid.UUID) -> None:
    if survivor_id == duplicate_id:
        raise DomainError("A record cannot be merged into itself.", "merge_self", 400,
                          [FieldError("duplicate_id", "must be another record")])


def _check_state(survivor: Account | Contact, duplicate: Account | Contact) -> None:
    if duplicate.merged_into_id is not None:
        raise Conflict("The duplicate was already merged into another record.", "already_merged")
    if survivor.merged_into_id is not None:
        raise Conflict("The surviving record was itself merged into another one; merge into that one.",
                       "already_merged")
    if survivor.archived_at is not None:
        raise Conflict("The surviving record is archived.", "survivor_archived")


def _require_merge(actor: CrmActor, owners: Iterable[uuid.UUID | None]) -> None:
    if actor.edits_all:
        return
    if actor.role in OWN_ONLY and actor.user_id is not None and all(o == actor.user_id for o in owners):
        return
    raise Forbidden("Only owners, admins and managers, or a rep who owns both records, may merge.", "merge_forbidden")


async def _repoint(uow: UnitOfWork, actor: CrmActor, target: str, duplicate_id: uuid.UUID,
                   survivor_id: uuid.UUID) -> dict[str, int]:
    """Point every reference to the duplicate at the survivor; {table.column: rows moved}."""
    moved: dict[str, int] = {}
    who = audit.Actor(actor.user_id, actor.api_key_id)
    for ref in references(target):
        values: dict[str, Any] = {ref.column.name: survivor_id}
        if "version" in ref.table.c:
            values["version"] = ref.table.c.version + 1
        if "updated_at" in ref.table.c:
            values["updated_at"] = func.now()
        keys = list(ref.table.primary_key.columns)
        statement = update(ref.table).where(ref.column == duplicate_id).values(**values).returning(*keys)
        rows = (await uow.session.execute(statement)).all()
        if not rows:
            continue
        moved[ref.name] = len(rows)
        if len(keys) == 1:
            record_type = RECORD_TYPES.get(ref.table.name, ref.table.name)
            for row in rows:
                await audit.record(uow, who, record_type, row[0], "update",
                                   {ref.column.name: [duplicate_id, survivor_id]})
    return moved


async def _close_duplicate(uow: UnitOfWork, actor: CrmActor, record_type: str, duplicate: Account | Contact,
                           survivor_id: uuid.UUID) -> None:
    before_archived = duplicate.archived_at
    duplicate.merged_into_id = survivor_id
    duplicate.archived_at = before_archived or utcnow()
    duplicate.version += 1
    duplicate.updated_at = utcnow()
    changes: dict[str, Any] = {"merged_into_id": [None, survivor_id]}
    if before_archived is None:
        changes["archived_at"] = [None, duplicate.archived_at]
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), record_type, duplicate.id, "merged_into",
                       changes)
    await uow.flush()


async def _finish(uow: UnitOfWork, actor: CrmActor, record_type: str, survivor: Account | Contact,
                  changes: dict[str, Any], duplicate_id: uuid.UUID, moved: dict[str, int]) -> None:
    survivor.version += 1
    survivor.updated_at = utcnow()
    entry: dict[str, Any] = {**changes, "merged_from": [None, duplicate_id]}
    entry.update({f"moved:{name}": [0, count] for name, count in moved.items()})
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), record_type, survivor.id, "merged", entry)
    await uow.flush()
    await uow.session.refresh(survivor)


# --- accounts ----------------------------------------------------------------------------------------------------

async def merge_accounts(uow: UnitOfWork, actor: CrmActor, survivor_id: uuid.UUID, duplicate_id: uuid.UUID,
                         keep: Any = None, expected_version: int | None = None) -> Account:
    """Merge account ``duplicate_id`` into ``survivor_id``; returns the survivor."""
    _check_pair(survivor_id, duplicate_id)
    choices = _choices(keep, ACCOUNT_FIELDS)
    await _lock(uow, Account, survivor_id, duplicate_id)
    survivor = await accounts.get(uow, actor, survivor_id)
    duplicate = await accounts.get(uow, actor, duplicate_id)
    _require_merge(actor, (survivor.owner_user_id, duplicate.owner_user_id))
    accounts.check_version(survivor.version, expected_version)
    _check_state(survivor, duplicate)

    before = {**accounts.snapshot(survivor)}
    merged = {name: getattr(duplicate, name) if _take_duplicate(choices.get(name), name, getattr(survivor, name),
                                                                getattr(duplicate, name)) else getattr(survivor, name)
              for name in ACCOUNT_FIELDS}
    if merged["parent_id"] in (survivor.id, duplicate.id):
        merged["parent_id"] = None  # a group cannot become its own parent
    if merged["kind"] == "group" and merged["parent_id"] is not None:
        raise Invalid("Please correct the highlighted fields.",
                      [FieldError("keep.parent_id", "a group cannot belong to another group")])
    merged["tags"] = sorted(set(survivor.tags or []) | set(duplicate.tags or []))
    merged["custom"] = _custom(survivor.custom, duplicate.custom)
    for name, value in merged.items():
        setattr(survivor, name, value)
    await uow.flush()
    await _close_duplicate(uow, actor, accounts.RECORD, duplicate, survivor.id)
    moved = await _repoint(uow, actor, "accounts", duplicate.id, survivor.id)
    await segments.repoint_members(uow, "account", duplicate.id, survivor.id)
    await _finish(uow, actor, accounts.RECORD, survivor, audit.diff(before, accounts.snapshot(survivor)),
                  duplicate.id, moved)
    return survivor


# --- contacts ----------------------------------------------------------------------------------------------------

async def merge_contacts(uow: UnitOfWork, actor: CrmActor, survivor_id: uuid.UUID, duplicate_id: uuid.UUID,
                         keep: Any = None, expected_version: int | None = None) -> Contact:
    """Merge contact ``duplicate_id`` into ``survivor_id``; returns the survivor."""
    _check_pair(survivor_id, duplicate_id)
    choices = _choices(keep, CONTACT_FIELDS)
    await _lock(uow, Contact, survivor_id, duplicate_id)
    survivor = await contacts.get(uow, actor, survivor_id)
    duplicate = await contacts.get(uow, actor, duplicate_id)
    _require_merge(actor, (survivor.owner_user_id, duplicate.owner_user_id))
    accounts.check_version(survivor.version, expected_version, "contact")
    _check_state(survivor, duplicate)
    contacts.refuse_erased(survivor)
    contacts.refuse_erased(duplicate)

    before = contacts.snapshot(survivor)
    merged: dict[str, Any] = {}
    for choice, columns in CONTACT_FIELDS.items():
        source = duplicate if _take_duplicate(choices.get(choice), choice, getattr(survivor, columns[0]),
                                              getattr(duplicate, columns[0])) else survivor
        merged.update({column: getattr(source, column) for column in columns})
    merged["roles"] = [r for r in CONTACT_ROLES if r in set(survivor.roles or []) | set(duplicate.roles or [])]
    merged["custom"] = _custom(survivor.custom, duplicate.custom)
    await _check_contact(uow, actor, merged, survivor)
    for name, value in merged.items():
        setattr(survivor, name, value)
    await uow.flush()
    await _close_duplicate(uow, actor, contacts.RECORD, duplicate, survivor.id)
    moved = await _repoint(uow, actor, "contacts", duplicate.id, survivor.id)
    await segments.repoint_members(uow, "contact", duplicate.id, survivor.id)
    await _finish(uow, actor, contacts.RECORD, survivor, audit.diff(before, contacts.snapshot(survivor)),
                  duplicate.id, moved)
    return survivor


def _custom(survivor: dict[str, Any] | None, duplicate: dict[str, Any] | None) -> dict[str, Any]:
    """Custom values: the survivor's stay, the duplicate's fill the keys the survivor has no value for."""
    return {**(duplicate or {}), **{k: v for k, v in (survivor or {}).items() if v is not None}}


async def _check_contact(uow: UnitOfWork, actor: CrmActor, merged: dict[str, Any], survivor: Contact) -> None:
    errors: list[FieldError] = []
    if merged["email_consent"] and not merged["email"]:
        errors.append(FieldError("keep.email", "the kept email consent needs an email address"))
    if merged["sms_consent"] and not merged["phone"]:
        errors.append(FieldError("keep.phone", "the kept SMS consent needs a phone number"))
    account_id = merged["account_id"]
    if account_id is not None and account_id != survivor.account_id:
        account = await uow.session.get(Account, account_id)
        if account is None or not can_see(actor, account.owner_user_id, account.is_shared):
            errors.append(FieldError("keep.account_id", "no such account"))
        elif account.archived_at is not None:
            errors.append(FieldError("keep.account_id", "the account is archived"))
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
