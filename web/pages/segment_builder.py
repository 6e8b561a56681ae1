"""The segment builder form: condition rows (field, operator, value) joined by all/any, read into a filter.

The form is flat (one group): ``join`` = all|any, ``rows`` = how many rows, and ``field_<i>``, ``op_<i>``,
``value_<i>`` per row. Lists (in, not_in, has_any, has_all, between) are typed comma-separated; yes/no fields
take true/false. Errors of the filter (``filter.all[2].value``) are shown next to their row.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from backend.db.uow import UnitOfWork
from backend.domains.crm import custom_fields
from backend.domains.crm.segment_filters import CUSTOM_OPS, FIELDS
from backend.kit.errors import DomainError
from web import i18n

MAX_ROWS = 50
LIST_OPS = frozenset({"in", "not_in", "has_any", "has_all", "between"})
YES_NO = frozenset({"bool", "present"})
ROW_ERROR = re.compile(r"^filter\.(?:all|any)\[(\d+)\](?:\.(\w+))?")
LABELS = {
    "status": i18n.lazy("Status"), "kind": i18n.lazy("Kind"), "owner_user_id": i18n.lazy("Owner"),
    "is_shared": i18n.lazy("Shared"), "tags": i18n.lazy("Tags"), "source_channel": i18n.lazy("Source channel"),
    "marketing_event_id": i18n.lazy("Marketing event"), "created_at": i18n.lazy("Created"),
    "last_interaction_days": i18n.lazy("Days since last interaction"), "deal_stage": i18n.lazy("Deal stage"),
    "deal_status": i18n.lazy("Deal status"), "roles": i18n.lazy("Roles"), "email_consent": i18n.lazy("Email consent"),
    "sms_consent": i18n.lazy("SMS consent"), "has_email": i18n.lazy("Has email"), "has_phone": i18n.lazy("Has phone"),
}
ACCOUNT_PREFIX = i18n.lazy("Account")


@dataclass
class Row:
    field: str = ""
    op: str = ""
    value: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Builder:
    entity: str = "contact"
    join: str = "all"
    rows: list[Row] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)  # not tied to a row

    def filter(self, kinds: dict[str, str]) -> dict[str, Any]:
        """The filter the rows describe (rows without a field are skipped)."""
        return {self.join: [_condition(row, kinds.get(row.field, "")) for row in self.rows if row.field]}

    def attach(self, error: DomainError) -> None:
        """Put the error's reasons next to their rows (numbered over the rows that have a field)."""
        used = [row for row in self.rows if row.field]
        for item in error.errors:
            found = ROW_ERROR.match(item.field)
            if found is not None and int(found.group(1)) < len(used):
                used[int(found.group(1))].errors.append(i18n.gettext(item.reason))
            else:
                self.errors.append(i18n.gettext(item.reason))
        if not error.errors:
            self.errors.append(i18n.gettext(error.detail))


def _truth(raw: str) -> Any:
    lowered = raw.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    return raw


def _condition(row: Row, kind: str) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": row.field, "op": row.op}
    raw = row.value.strip()
    if row.op == "none":
        return condition
    if row.op in LIST_OPS:
        condition["value"] = [part.strip() for part in raw.split(",") if part.strip()]
    elif row.op == "is_null" or kind in YES_NO:
        condition["value"] = _truth(raw)
    elif kind == "interaction" and raw.isdigit() and len(raw) < 7:
        condition["value"] = int(raw)
    else:
        condition["value"] = raw
    return condition


def read(data: dict[str, str]) -> Builder:
    """The builder state posted by the form."""
    entity = data.get("entity", "contact")
    builder = Builder(entity if entity in FIELDS else "contact", "any" if data.get("join") == "any" else "all")
    raw_count = str(data.get("rows", "1"))
    count = min(int(raw_count), MAX_ROWS) if raw_count.isdigit() and len(raw_count) < 4 else 1
    for i in range(count):
        if data.get(f"remove_{i}"):
            continue
        builder.rows.append(Row(data.get(f"field_{i}", ""), data.get(f"op_{i}", ""), data.get(f"value_{i}", "")))
    if data.get("action") == "add" and len(builder.rows) < MAX_ROWS:
        builder.rows.append(Row())
    if not builder.rows:
        builder.rows.append(Row())
    return builder


async def catalog(uow: UnitOfWork, entity: str) -> list[dict[str, Any]]:
    """The fields of the entity for the field select: name, label, operators, value kind."""
    entries: list[dict[str, Any]] = []

    def add(prefix: str, label_prefix: str, table: str) -> None:
        for name, spec in FIELDS[table].items():
            label = i18n.gettext(LABELS[name]) if name in LABELS else name
            entries.append({"name": prefix + name, "label": label_prefix + label, "ops": list(spec.ops),
                            "kind": spec.kind})

    async def add_custom(prefix: str, label_prefix: str, table: str) -> None:
        for key, definition in sorted((await custom_fields.definitions(uow, table)).items()):
            entries.append({"name": f"{prefix}custom.{key}", "label": f"{label_prefix}{definition.label}",
                            "ops": list(CUSTOM_OPS[definition.type]), "kind": definition.type})

    add("", "", entity)
    await add_custom("", "", entity)
    if entity == "contact":
        prefix = i18n.gettext(ACCOUNT_PREFIX) + ": "
        add("account.", prefix, "account")
        await add_custom("account.", prefix, "account")
    return entries
