"""Audit entries as rows people read: field labels instead of codes, member names instead of user ids, values
formatted for the reader's language (dates, amounts, yes/no, status labels, lists as comma-separated texts, names of
stages, pipelines, accounts, contacts and marketing events; custom fields by their label).

A referenced record the reader may not see shows as hidden, one that is gone as removed or deleted, and an archived
marketing event is marked as such: a bare id is never shown where a name exists.

Every record card uses :func:`history_rows` with the field table of its record type.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import numbers
from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.audit.models import AuditEntry
from backend.domains.crm import custom_fields
from backend.domains.crm.custom_fields_models import CustomField
from backend.domains.crm.deals_models import Pipeline, PipelineStage
from backend.domains.crm.marketing_models import MarketingEvent
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.visibility import CrmActor, can_see
from backend.domains.identity import access
from web import custom_inputs, i18n
from web.event_choice import event_label
from web.templating import label

EMPTY = "—"
ERASED = "[erased]"  # a value scrubbed from the trail when the person's data was erased (crm/privacy.py)


@dataclass(frozen=True, slots=True)
class Field:
    """How a stored field is shown: its label (translated when shown) and what kind of value it holds."""

    label: str
    # text, code, codes, list, bool, number, amount, percent, date, datetime, and the references (ids shown by name):
    # member, account, contact, stage, pipeline, event (a marketing event)
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    when: datetime
    action: str
    who: str
    changes: list[Change]


ACCOUNT_FIELDS: dict[str, Field] = {
    "name": Field(i18n.lazy("Name")), "kind": Field(i18n.lazy("Kind"), "code"),
    "status": Field(i18n.lazy("Status"), "code"), "parent_id": Field(i18n.lazy("Parent account"), "account"),
    "owner_user_id": Field(i18n.lazy("Owner"), "member"),
    "is_shared": Field(i18n.lazy("Shared with every rep"), "bool"), "tags": Field(i18n.lazy("Tags"), "list"),
    "source_channel": Field(i18n.lazy("Source channel")), "website": Field(i18n.lazy("Website")),
    "notes": Field(i18n.lazy("Notes")), "marketing_event_id": Field(i18n.lazy("Marketing event"), "event"),
    "merged_from": Field(i18n.lazy("Merged from"), "account"),
    "merged_into_id": Field(i18n.lazy("Merged into"), "account"),
    "archived_at": Field(i18n.lazy("Archived at"), "datetime"),
}
DEAL_FIELDS: dict[str, Field] = {
    "title": Field(i18n.lazy("Title")), "account_id": Field(i18n.lazy("Account"), "account"),
    "amount": Field(i18n.lazy("Amount"), "amount"), "currency": Field(i18n.lazy("Currency")),
    "probability": Field(i18n.lazy("Probability"), "percent"),
    "expected_close_date": Field(i18n.lazy("Expected close date"), "date"),
    "owner_user_id": Field(i18n.lazy("Owner"), "member"), "next_action": Field(i18n.lazy("Next action")),
    "next_action_due": Field(i18n.lazy("Next action due"), "date"),
    "source_channel": Field(i18n.lazy("Source channel")), "pipeline_id": Field(i18n.lazy("Pipeline"), "pipeline"),
    "stage_id": Field(i18n.lazy("Stage"), "stage"), "won_at": Field(i18n.lazy("Won at"), "datetime"),
    "lost_at": Field(i18n.lazy("Lost at"), "datetime"), "lost_reason": Field(i18n.lazy("Lost reason")),
    "marketing_event_id": Field(i18n.lazy("Marketing event"), "event"),
    "products_of_interest": Field(i18n.lazy("Products of interest"), "list"),
    "checklist_done": Field(i18n.lazy("Checklist items ticked"), "list"),
}
CONTACT_FIELDS: dict[str, Field] = {
    "full_name": Field(i18n.lazy("Full name")), "job_title": Field(i18n.lazy("Job title")),
    "account_id": Field(i18n.lazy("Account"), "account"), "email": Field(i18n.lazy("Email")),
    "phone": Field(i18n.lazy("Phone")), "roles": Field(i18n.lazy("Roles"), "codes"),
    "owner_user_id": Field(i18n.lazy("Owner"), "member"),
    "email_consent": Field(i18n.lazy("Email consent"), "bool"),
    "email_consent_at": Field(i18n.lazy("Email consent given at"), "datetime"),
    "email_consent_source": Field(i18n.lazy("Email consent source")),
    "sms_consent": Field(i18n.lazy("SMS consent"), "bool"),
    "sms_consent_at": Field(i18n.lazy("SMS consent given at"), "datetime"),
    "sms_consent_source": Field(i18n.lazy("SMS consent source")),
    "reason": Field(i18n.lazy("Reason")), "erased_at": Field(i18n.lazy("Erased at"), "datetime"),
    "erased_with": Field(i18n.lazy("Erased together with"), "contact"), "mode": Field(i18n.lazy("Erasure"), "code"),
    "audit_entries_scrubbed": Field(i18n.lazy("History entries scrubbed"), "number"),
    "merged_contacts_erased": Field(i18n.lazy("Merged contacts erased too"), "number"),
    "merged_from": Field(i18n.lazy("Merged from"), "contact"),
    "merged_into_id": Field(i18n.lazy("Merged into"), "contact"),
    "archived_at": Field(i18n.lazy("Archived at"), "datetime"),
}
_REFERENCES = ("member", "account", "contact", "stage", "pipeline", "event")
CUSTOM = "custom."  # audit fields of custom values: custom.<key> (crm/custom_fields.audited)
# Counts a merge or an erasure writes: ``moved:<table>.<column>`` (records repointed to the survivor, crm/merge.py)
# and ``blanked:<table>`` (related records whose personal texts were blanked, crm/privacy.py).
COUNTS = {"moved": i18n.lazy("%(records)s moved over"), "blanked": i18n.lazy("%(records)s blanked")}
RECORDS = {"accounts": i18n.lazy("Accounts"), "contacts": i18n.lazy("Contacts"), "deals": i18n.lazy("Deals"),
           "interactions": i18n.lazy("Interactions"), "legal_entities": i18n.lazy("Legal entities"),
           "tasks": i18n.lazy("Tasks")}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _ids(entries: Sequence[AuditEntry], fields: Mapping[str, Field], kind: str) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for entry in entries:
        for name, change in (entry.changes or {}).items():
            spec = fields.get(name)
            if spec is not None and spec.kind == kind and isinstance(change, list):
                found.update(i for i in (_uuid(v) for v in change if v) if i is not None)
    return found


async def _names(uow: UnitOfWork, model: Any, column: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await uow.session.execute(select(model.id, column).where(model.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


async def _accounts(uow: UnitOfWork, actor: CrmActor, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the accounts the reader may see; the others show as hidden."""
    if not ids:
        return {}
    rows = await uow.session.execute(
        select(Account.id, Account.name, Account.owner_user_id, Account.is_shared).where(Account.id.in_(ids)))
    return {r.id: r.name if can_see(actor, r.owner_user_id, r.is_shared) else i18n.gettext("Hidden account")
            for r in rows}


async def _contacts(uow: UnitOfWork, actor: CrmActor, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the contacts the reader may see (own, unowned, or of a visible account); the others show as hidden."""
    if not ids:
        return {}
    rows = await uow.session.execute(
        select(Contact.id, Contact.full_name, Contact.owner_user_id, Account.owner_user_id.label("account_owner"),
               Account.is_shared, Account.id.label("account_id"))
        .outerjoin(Account, Account.id == Contact.account_id).where(Contact.id.in_(ids)))
    return {r.id: r.full_name if can_see(actor, r.owner_user_id) or (
        r.account_id is not None and can_see(actor, r.account_owner, r.is_shared)) else i18n.gettext("Hidden contact")
        for r in rows}


async def _events(uow: UnitOfWork, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Marketing events by name (every member reads them), an archived one marked as such."""
    if not ids:
        return {}
    rows = await uow.session.execute(select(MarketingEvent).where(MarketingEvent.id.in_(ids)))
    return {event.id: event_label(event) for event in rows.scalars()}


class _Formatter:
    def __init__(self, references: dict[str, dict[uuid.UUID, str]],
                 custom: Mapping[str, CustomField] | None = None) -> None:
        self.references = references
        self.custom = custom or {}

    def __call__(self, spec: Field, value: Any) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if value == ERASED:
            return i18n.gettext("erased")
        kind = spec.kind
        try:
            if kind == "custom" and spec.label in self.custom:
                return custom_inputs.display(self.custom[spec.label], value)
            if kind in _REFERENCES:
                return self._reference(kind, value)
            if kind == "bool":
                return i18n.gettext("Yes") if value is True else i18n.gettext("No")
            if kind == "code":
                return label(value)
            if kind in ("codes", "list") and isinstance(value, list):
                return ", ".join(label(v) if kind == "codes" else str(v) for v in value)
            if kind == "number":
                return i18n.format_number(Decimal(str(value)))
            if kind == "amount":
                return numbers.format_decimal(Decimal(str(value)), format="#,##0.00", locale=i18n.current_locale.get())
            if kind == "percent":
                return f"{i18n.format_number(Decimal(str(value)))} %"
            if kind == "date":
                return i18n.format_date(date.fromisoformat(str(value)))
            if kind == "datetime":
                return i18n.format_datetime(datetime.fromisoformat(str(value)), "short")
        except (ValueError, InvalidOperation):
            pass  # an unexpected stored value is shown as it is
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    def _reference(self, kind: str, value: Any) -> str:
        found = self.references[kind].get(_uuid(value) or uuid.UUID(int=0))
        if found is not None:
            return found
        return {"member": i18n.gettext("Former member"), "account": i18n.gettext("Hidden account"),
                "contact": i18n.gettext("Hidden contact"), "stage": i18n.gettext("Removed stage"),
                "pipeline": i18n.gettext("Removed pipeline"), "event": i18n.gettext("(deleted)")}[kind]


def _spec(name: str, fields: Mapping[str, Field]) -> Field:
    """How a changed field is shown; a custom value's field carries its key as label (looked up when shown)."""
    if name in fields:
        return fields[name]
    if name.startswith(CUSTOM):
        return Field(name[len(CUSTOM):], "custom")
    if name.partition(":")[0] in COUNTS:
        return Field(name, "number")
    return Field(name)


def _field_label(name: str, fields: Mapping[str, Field], custom: Mapping[str, CustomField]) -> str:
    spec = fields.get(name)
    if spec is not None:
        return i18n.gettext(spec.label)
    if name.startswith(CUSTOM):
        definition = custom.get(name[len(CUSTOM):])
        return definition.label if definition is not None else name[len(CUSTOM):]
    kind, _, reference = name.partition(":")
    if kind in COUNTS and reference:
        table = reference.split(".", 1)[0]
        records = i18n.gettext(RECORDS[table]) if table in RECORDS else table.replace("_", " ").capitalize()
        return i18n.gettext(COUNTS[kind]) % {"records": records}
    return name.replace("_", " ").capitalize()


async def history_rows(uow: UnitOfWork, tenant_id: uuid.UUID, actor: CrmActor, entries: Sequence[AuditEntry],
                       fields: Mapping[str, Field], entity: str | None = None) -> list[HistoryRow]:
    """Display rows for ``entries`` (one query per kind of name to look up, whatever the number of entries);
    ``entity``: the record type whose custom fields name the ``custom.<key>`` changes."""
    members = await access.member_names(
        uow, tenant_id, {e.actor_user_id for e in entries} | _ids(entries, fields, "member"))
    keys = await access.api_key_names(uow, tenant_id, {e.actor_api_key_id for e in entries})
    references = {
        "member": members,
        "account": await _accounts(uow, actor, _ids(entries, fields, "account")),
        "contact": await _contacts(uow, actor, _ids(entries, fields, "contact")),
        "stage": await _names(uow, PipelineStage, PipelineStage.name, _ids(entries, fields, "stage")),
        "pipeline": await _names(uow, Pipeline, Pipeline.name, _ids(entries, fields, "pipeline")),
        "event": await _events(uow, _ids(entries, fields, "event")),
    }
    with_custom = entity is not None and any(name.startswith(CUSTOM) for e in entries for name in e.changes or {})
    custom = await custom_fields.definitions(uow, entity) if with_custom and entity is not None else {}
    show = _Formatter(references, custom)
    order = {name: position for position, name in enumerate(fields)}
    rows: list[HistoryRow] = []
    for entry in entries:
        if entry.actor_user_id is not None:
            who = members.get(entry.actor_user_id) or i18n.gettext("Former member")
        elif entry.actor_api_key_id is not None:
            who = i18n.gettext("API key “%(name)s”") % {"name": keys.get(entry.actor_api_key_id, "?")}
        else:
            who = i18n.gettext("System")
        changes = []
        for name, change in sorted((entry.changes or {}).items(), key=lambda item: order.get(item[0], len(order))):
            before, after = change if isinstance(change, list) and len(change) == 2 else (None, change)
            spec = _spec(name, fields)
            changes.append(Change(_field_label(name, fields, custom), show(spec, before), show(spec, after)))
        rows.append(HistoryRow(entry.occurred_at, label(entry.action), who, changes))
    return rows
