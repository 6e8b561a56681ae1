"""Privacy requests about one contact: export everything held about the person, or erase their personal data.

**Who may.** Owner, admin and manager may *export* (they already read every CRM record; the export gathers what
they can see anyway, for handing to the person who asked). Only owner and admin may *erase*: it cannot be undone.
Every other role gets 403 ``privacy_forbidden``; a contact the caller cannot see is 404.

**Export** (:func:`export_contact`) is one JSON-safe document (UUIDs and Decimals as strings, dates and times ISO
8601, JSONB as it is)::

    {"format": "tandem.contact-export/1", "exported_at": ..., "contact": {every column, consent and custom values
     included}, "account": {"id", "name"} | null, "related": {table: [rows]}, "audit": [the contact's history]}

``related`` has a key for EVERY tenant table with a foreign key to ``contacts.id`` (found in the tenant metadata,
as merge does, so tables added later — interactions, tasks, tickets… — are covered without touching this module),
each with every column of the rows that reference the contact (``[]`` when none). Contacts merged into this one
appear under ``contacts``: they are the same person. Renderings: :func:`as_json` (the document, UTF-8) and
:func:`as_csv_zip` — a ZIP of CSV files, because rows of different tables cannot share one header: ``contact.csv``
and ``account.csv`` (one row each, the latter empty without an account), ``audit.csv`` and ``related/<table>.csv``
per referencing table (a header row even when empty). Nested values (custom fields, audit changes) are JSON text in
their cell, lists are ``; ``-joined, and text a spreadsheet would run as a formula is prefixed with ``'``.

**Erase** (:func:`erase_contact`, mode ``anonymize``, the only mode: documents, deals and the ledger keep pointing
at the contact row, so it is never deleted) needs a reason (kept in the audit trail; it must not contain personal
data) and the contact's id as confirmation. In one transaction:

* the contact and every contact merged into it: name → ``Erased contact <first 8 hex of id>``, email, phone, job
  title and custom values cleared, both consents withdrawn (time stamped, source ``erasure``), ``erased_at`` set,
  archived (if not already), version bumped; roles, owner and account stay (business relations, not the person);
* rows of referencing tables: the columns named in :data:`PERSONAL_COLUMNS` (free text about the person, e.g. an
  interaction's subject and body) are set to NULL (``[erased]`` where the column cannot be NULL); nothing else in
  them changes, no row is deleted and no foreign key is cleared;
* the audit trail: every value in the ``changes`` of those contacts' entries becomes ``[erased]`` (who, when, the
  action and which fields changed stay), as do the personal columns' values in the referencing rows' entries;
* the search dictionary forgets the words of the erased names that no other name holds (crm/search_words.py), and
  expired CSV uploads are purged (an upload younger than its 24-hour lifetime may still hold the person's row);
* an audit row ``privacy_erase`` with the reason, the mode and counts — no personal data.

Each export writes an audit row ``privacy_export`` (the format only). A contact erased already: 409
``contact_erased``; erased contacts cannot be edited afterwards either (contacts.update refuses).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm.attributes import flag_modified

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.audit.models import AuditEntry
from backend.domains.crm import contacts, search_words
from backend.domains.crm.export import cell
from backend.domains.crm.imports_models import CsvImport
from backend.domains.crm.merge import references
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.visibility import CrmActor
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Forbidden, Invalid
from backend.models import tenant_metadata

FORMAT = "tandem.contact-export/1"
FORMATS = ("json", "csv")
MODES = ("anonymize",)
EXPORT_ROLES = frozenset({"owner", "admin", "manager"})
ERASE_ROLES = frozenset({"owner", "admin"})
ERASED = "[erased]"
PLACEHOLDER = "Erased contact {short}"
CONSENT_SOURCE = "erasure"
PRIVACY_ACTIONS = ("privacy_export", "privacy_erase")
MAX_REASON = 500
# The contact's own columns that hold the person (cleared); ``full_name`` gets the placeholder instead.
CLEARED = ("job_title", "email", "phone")

# Free-text columns about the person in tables that reference contacts: {table: columns}. A later domain whose
# table references contacts and holds such text registers it here (register_personal_columns). Tables not (yet) in
# the metadata are ignored.
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "interactions": ("subject", "body", "address", "latitude", "longitude"),
    "tasks": ("title", "notes"),
}


def register_personal_columns(table: str, *columns: str) -> None:
    """Declare columns of ``table`` that erasure blanks in rows referencing the erased contact."""
    PERSONAL_COLUMNS[table] = tuple(dict.fromkeys((*PERSONAL_COLUMNS.get(table, ()), *columns)))


def json_safe(value: Any) -> Any:
    """A value JSON can carry without loss: UUID/Decimal as text, dates and times ISO 8601, containers recursed."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _require(actor: CrmActor, roles: frozenset[str], what: str) -> None:
    if actor.role not in roles:
        message = ("Only owners, admins and managers may export a contact's data." if what == "export"
                   else "Only owners and admins may erase a contact's personal data.")
        raise Forbidden(message, "privacy_forbidden")


def _who(actor: CrmActor) -> audit.Actor:
    return audit.Actor(actor.user_id, actor.api_key_id)


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {column.name: json_safe(row._mapping[column]) for column in table.columns}


def referencing_tables() -> list[str]:
    """Names of every tenant table with a foreign key to ``contacts.id`` (sorted)."""
    return sorted({ref.table.name for ref in references("contacts")})


# --- export ------------------------------------------------------------------------------------------------------

async def _related(uow: UnitOfWork, contact_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    related: dict[str, list[dict[str, Any]]] = {name: [] for name in referencing_tables()}
    seen: dict[str, set[tuple[Any, ...]]] = {name: set() for name in related}
    for ref in references("contacts"):
        keys = list(ref.table.primary_key.columns)
        rows = await uow.session.execute(select(ref.table).where(ref.column == contact_id).order_by(*keys))
        for row in rows:
            key = tuple(row._mapping[k] for k in keys)
            if key not in seen[ref.table.name]:
                seen[ref.table.name].add(key)
                related[ref.table.name].append(_row(ref.table, row))
    return related


async def _audit_history(uow: UnitOfWork, contact_id: uuid.UUID) -> list[dict[str, Any]]:
    query = select(AuditEntry).where(AuditEntry.record_type == contacts.RECORD,
                                     AuditEntry.record_id == str(contact_id)).order_by(AuditEntry.id)
    return [{"id": e.id, "occurred_at": json_safe(e.occurred_at), "actor_user_id": json_safe(e.actor_user_id),
             "actor_api_key_id": json_safe(e.actor_api_key_id), "action": e.action,
             "changes": json_safe(e.changes or {})}
            for e in (await uow.session.execute(query)).scalars()]


async def export_contact(uow: UnitOfWork, actor: CrmActor, contact_id: uuid.UUID,
                         fmt: str = "json") -> dict[str, Any]:
    """Everything held about the contact as one JSON-safe document (see the module docstring)."""
    _require(actor, EXPORT_ROLES, "export")
    if fmt not in FORMATS:
        raise Invalid("Unknown export format.", [FieldError("format", "json or csv")])
    contact = await contacts.get(uow, actor, contact_id)
    table = Contact.__table__
    assert isinstance(table, Table)
    row = (await uow.session.execute(select(table).where(table.c.id == contact.id))).one()
    account = None
    if contact.account_id is not None:
        name = await uow.session.scalar(select(Account.name).where(Account.id == contact.account_id))
        account = {"id": str(contact.account_id), "name": name}
    document = {
        "format": FORMAT, "exported_at": json_safe(utcnow()), "contact": _row(table, row), "account": account,
        "related": await _related(uow, contact.id), "audit": await _audit_history(uow, contact.id),
    }
    await audit.record(uow, _who(actor), contacts.RECORD, contact.id, "privacy_export", {"format": [None, fmt]})
    await uow.flush()
    return document


def as_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def _csv_cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
        return json.dumps(value, ensure_ascii=False)
    return cell(value)


def _csv(headers: list[str], rows: list[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(row.get(h)) for h in headers])
    return "\ufeff" + out.getvalue()  # a BOM, so spreadsheets read UTF-8


def as_csv_zip(document: Mapping[str, Any]) -> bytes:
    """A ZIP of CSV files: contact.csv, account.csv, audit.csv, related/<table>.csv (see the module docstring)."""
    files: dict[str, str] = {
        "contact.csv": _csv(list(document["contact"]), [document["contact"]]),
        "account.csv": _csv(["id", "name"], [document["account"]] if document["account"] else []),
        "audit.csv": _csv(["id", "occurred_at", "actor_user_id", "actor_api_key_id", "action", "changes"],
                          document["audit"]),
    }
    for name, rows in document["related"].items():
        files[f"related/{name}.csv"] = _csv([c.name for c in _table(name).columns], rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode())
    return buffer.getvalue()


def _table(name: str) -> Table:
    return tenant_metadata.tables[name]


# --- erase -------------------------------------------------------------------------------------------------------

def _checked(mode: Any, reason: Any, confirm: Any, contact_id: uuid.UUID) -> str:
    errors: list[FieldError] = []
    if mode not in MODES:
        errors.append(FieldError("mode", "anonymize"))
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        errors.append(FieldError("reason", "required: why the data is erased (no personal data)"))
    elif len(text) > MAX_REASON:
        errors.append(FieldError("reason", "at most 500 characters"))
    if not isinstance(confirm, str) or confirm.strip().lower() != str(contact_id):
        errors.append(FieldError("confirm", "the contact's id, to confirm the erasure"))
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    return text


def _scrub(changes: Mapping[str, Any], fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``changes`` with the values replaced by ``[erased]`` (only of ``fields`` when given); None stays None."""
    def blank(value: Any) -> Any:
        if isinstance(value, list):
            return [None if v is None else ERASED for v in value]
        return None if value is None else ERASED

    return {name: blank(value) if fields is None or name in fields else value for name, value in changes.items()}


async def _scrub_audit(uow: UnitOfWork, record_ids: list[str], fields: tuple[str, ...] | None = None,
                       record_type: str | None = None) -> int:
    if not record_ids:
        return 0
    query = select(AuditEntry).where(AuditEntry.record_id.in_(record_ids),
                                     AuditEntry.action.not_in(PRIVACY_ACTIONS))
    if record_type is not None:
        query = query.where(AuditEntry.record_type == record_type)
    count = 0
    for entry in (await uow.session.execute(query.with_for_update())).scalars():
        scrubbed = _scrub(entry.changes or {}, fields)
        if scrubbed != entry.changes:
            entry.changes = scrubbed
            flag_modified(entry, "changes")
            count += 1
    return count


def _anonymize(contact: Contact, now: datetime) -> None:
    contact.full_name = PLACEHOLDER.format(short=contact.id.hex[:8])
    for name in CLEARED:
        setattr(contact, name, None)
    contact.custom = {}
    for channel in contacts.CHANNELS:
        setattr(contact, f"{channel}_consent", False)
        setattr(contact, f"{channel}_consent_at", now)
        setattr(contact, f"{channel}_consent_source", CONSENT_SOURCE)
    contact.erased_at = now
    contact.archived_at = contact.archived_at or now
    contact.version += 1
    contact.updated_at = now


async def _merged_into(uow: UnitOfWork, contact_id: uuid.UUID) -> list[Contact]:
    """Contacts merged (directly or through earlier merges) into ``contact_id``: the same person."""
    found: list[Contact] = []
    frontier = [contact_id]
    while frontier:
        rows = (await uow.session.execute(
            select(Contact).where(Contact.merged_into_id.in_(frontier)).order_by(Contact.id).with_for_update()
        )).scalars().all()
        rows = [c for c in rows if c.id != contact_id and all(c.id != f.id for f in found)]
        found.extend(rows)
        frontier = [c.id for c in rows]
    return found


async def _blank_related(uow: UnitOfWork, ids: list[uuid.UUID]) -> dict[str, int]:
    """Blank the registered personal columns of rows referencing ``ids``; {table: rows}, audit values scrubbed."""
    blanked: dict[str, int] = {}
    for ref in references("contacts"):
        wanted = tuple(c for c in PERSONAL_COLUMNS.get(ref.table.name, ()) if c in ref.table.c)
        if ref.table.name == "contacts" or not wanted:
            continue
        values: dict[str, Any] = {name: None if ref.table.c[name].nullable else ERASED for name in wanted}
        if "version" in ref.table.c:
            values["version"] = ref.table.c.version + 1
        if "updated_at" in ref.table.c:
            values["updated_at"] = func.now()
        keys = list(ref.table.primary_key.columns)
        statement = update(ref.table).where(ref.column.in_(ids)).values(**values).returning(*keys)
        rows = (await uow.session.execute(statement)).all()
        if rows:
            blanked[ref.table.name] = blanked.get(ref.table.name, 0) + len(rows)
            if len(keys) == 1:
                await _scrub_audit(uow, [str(r[0]) for r in rows], wanted)
    return blanked


async def erase_contact(uow: UnitOfWork, actor: CrmActor, contact_id: uuid.UUID, mode: Any = "anonymize",
                        reason: Any = None, confirm: Any = None) -> Contact:
    """Anonymize the contact's personal data in place (see the module docstring); returns the contact."""
    _require(actor, ERASE_ROLES, "erase")
    contact = await contacts.get(uow, actor, contact_id)
    text = _checked(mode, reason, confirm, contact.id)
    await uow.session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update())
    await uow.session.refresh(contact)
    if contact.erased_at is not None:
        raise Conflict("This contact's personal data was erased already.", "contact_erased")
    now = utcnow()
    same_person = [contact, *await _merged_into(uow, contact.id)]
    former_names = [p.full_name for p in same_person]
    for person in same_person:
        _anonymize(person, now)
    await uow.flush()
    await search_words.forget(uow, *former_names)
    await uow.session.execute(delete(CsvImport).where(CsvImport.expires_at < func.now()))  # expired uploads
    await search_words.remember(uow, *(p.full_name for p in same_person))
    ids = [p.id for p in same_person]
    blanked = await _blank_related(uow, ids)
    scrubbed = await _scrub_audit(uow, [str(i) for i in ids], record_type=contacts.RECORD)
    for person in same_person:
        changes: dict[str, Any] = {"reason": [None, text], "mode": [None, mode], "erased_at": [None, now]}
        if person is contact:
            changes |= {"audit_entries_scrubbed": [0, scrubbed], "merged_contacts_erased": [0, len(ids) - 1]}
            changes |= {f"blanked:{name}": [0, count] for name, count in sorted(blanked.items())}
        else:
            changes["erased_with"] = [None, contact.id]
        await audit.record(uow, _who(actor), contacts.RECORD, person.id, "privacy_erase", changes)
    await uow.flush()
    return contact
