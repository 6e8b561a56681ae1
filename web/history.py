"""Audit entries as rows people read: field labels instead of codes, member names instead of user ids, values
formatted for the reader's language (dates, amounts, yes/no, status labels, names of stages and accounts).

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
from backend.domains.crm.deals_models import Pipeline, PipelineStage
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor, can_see
from backend.domains.identity import access
from web import i18n
from web.templating import label

EMPTY = "—"
ERASED = "[erased]"  # a value scrubbed from the trail when the person's data was erased (crm/privacy.py)


@dataclass(frozen=True, slots=True)
class Field:
    """How a stored field is shown: its label (translated when shown) and what kind of value it holds."""

    label: str
    # text, code, codes, list, bool, number, amount, percent, date, datetime, member, account, stage, pipeline
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
    "notes": Field(i18n.lazy("Notes")),
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
}
_REFERENCES = ("member", "account", "stage", "pipeline")


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


class _Formatter:
    def __init__(self, references: dict[str, dict[uuid.UUID, str]]) -> None:
        self.references = references

    def __call__(self, spec: Field, value: Any) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if value == ERASED:
            return i18n.gettext("erased")
        kind = spec.kind
        try:
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
                "stage": i18n.gettext("Removed stage"), "pipeline": i18n.gettext("Removed pipeline")}[kind]


def _field_label(name: str, fields: Mapping[str, Field]) -> str:
    spec = fields.get(name)
    return i18n.gettext(spec.label) if spec else name.replace("_", " ").capitalize()


async def history_rows(uow: UnitOfWork, tenant_id: uuid.UUID, actor: CrmActor, entries: Sequence[AuditEntry],
                       fields: Mapping[str, Field]) -> list[HistoryRow]:
    """Display rows for ``entries`` (one query per kind of name to look up, whatever the number of entries)."""
    members = await access.member_names(
        uow, tenant_id, {e.actor_user_id for e in entries} | _ids(entries, fields, "member"))
    keys = await access.api_key_names(uow, tenant_id, {e.actor_api_key_id for e in entries})
    references = {
        "member": members,
        "account": await _accounts(uow, actor, _ids(entries, fields, "account")),
        "stage": await _names(uow, PipelineStage, PipelineStage.name, _ids(entries, fields, "stage")),
        "pipeline": await _names(uow, Pipeline, Pipeline.name, _ids(entries, fields, "pipeline")),
    }
    show = _Formatter(references)
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
            spec = fields.get(name, Field(name))
            changes.append(Change(_field_label(name, fields), show(spec, before), show(spec, after)))
        rows.append(HistoryRow(entry.occurred_at, label(entry.action), who, changes))
    return rows
