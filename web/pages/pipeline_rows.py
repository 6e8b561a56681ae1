"""The pipeline editor's form: what it posts, what the service is sent, and where the service's errors are shown.

The editor is one form. Each stage is a row of indexed fields (``s0.id``, ``s0.name``, ``s0.kind``,
``s0.probability``, ``s0.required_fields`` (repeated checkboxes), ``s0.checklist`` (one item a line)); the empty
row for a new stage uses the prefix ``new.``. The button pressed is ``action``: ``save``, ``add`` or
``up:N`` / ``down:N`` / ``remove:N`` for row N. Every button sends the whole form, so what was typed is never lost:
the stage list sent to the service is the rows in their new order (a named new row is appended), and the
service's ``stages[K].field`` errors are put back on the row that was K-th in that list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from backend.domains.crm.deals_models import REQUIRABLE, PipelineStage
from backend.kit.errors import DomainError
from web import i18n
from web.history import DEAL_FIELDS

MultiValues = Mapping[str, str | list[str]]
ROW_FIELD = re.compile(r"s(\d{1,2})\.[a-z_]+")
STAGE_ERROR = re.compile(r"stages\[(\d+)\]\.([a-z_]+)")
MAX_ROWS = 40  # the service takes at most 30 stages and says so; more rows than this are not read
ROW_ACTIONS = ("up", "down", "remove")


def one(data: MultiValues, name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


def many(data: MultiValues, name: str) -> list[str]:
    value = data.get(name, [])
    return [value] if isinstance(value, str) else [str(v) for v in value]


def percent(value: Decimal) -> str:
    """A stored probability as typed: ``10.00`` → ``10``, ``12.50`` → ``12.5``."""
    return "0" if value == 0 else format(value.normalize(), "f")


@dataclass
class StageRow:
    id: str = ""
    name: str = ""
    kind: str = "open"
    probability: str = ""
    required_fields: list[str] = field(default_factory=list)
    checklist: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, stage: PipelineStage) -> StageRow:
        return cls(str(stage.id), stage.name, stage.kind, percent(stage.probability), list(stage.required_fields),
                   "\n".join(stage.checklist or []))

    @classmethod
    def posted(cls, data: MultiValues, prefix: str) -> StageRow:
        return cls(one(data, f"{prefix}id").strip(), one(data, f"{prefix}name"), one(data, f"{prefix}kind") or "open",
                   one(data, f"{prefix}probability").strip(), many(data, f"{prefix}required_fields"),
                   one(data, f"{prefix}checklist"))

    def spec(self) -> dict[str, Any]:
        """The stage as the pipelines service takes it (it checks every part)."""
        return {"id": self.id or None, "name": self.name, "kind": self.kind, "probability": self.probability or None,
                "required_fields": list(self.required_fields), "checklist": self.checklist.splitlines()}


@dataclass
class EditorForm:
    name: str = ""
    is_default: bool = False
    rows: list[StageRow] = field(default_factory=list)
    new_row: StageRow = field(default_factory=StageRow)
    action: str = "save"
    target: int = -1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def posted(cls, data: MultiValues) -> EditorForm:
        indexes = sorted({int(m.group(1)) for key in data if (m := ROW_FIELD.fullmatch(key))})[:MAX_ROWS]
        form = cls(name=one(data, "name"), is_default=one(data, "is_default") == "on",
                   rows=[StageRow.posted(data, f"s{i}.") for i in indexes], new_row=StageRow.posted(data, "new."))
        action, _, target = one(data, "action").partition(":")
        if action in ROW_ACTIONS and target.isdigit() and int(target) < len(form.rows):
            form.action, form.target = action, int(target)
        elif action == "add":
            form.action = "add"
        return form

    @classmethod
    def of(cls, name: str, is_default: bool, stages: list[PipelineStage]) -> EditorForm:
        return cls(name=name, is_default=is_default, rows=[StageRow.of(s) for s in stages])

    @property
    def moved(self) -> StageRow | None:
        """The row the action concerns (moved or removed)."""
        return self.rows[self.target] if self.action in ROW_ACTIONS else None

    def ordered(self) -> list[StageRow]:
        """The rows in the order the action asks for: the new stage list (the named new row last)."""
        rows = list(self.rows)
        t = self.target
        if self.action == "up" and t > 0:
            rows[t - 1], rows[t] = rows[t], rows[t - 1]
        elif self.action == "down" and t < len(rows) - 1:
            rows[t], rows[t + 1] = rows[t + 1], rows[t]
        elif self.action == "remove":
            del rows[t]
        if self.action == "add" or self.new_row.name.strip():
            rows.append(self.new_row)
        return rows

    def data(self, *, with_default: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "stages": [row.spec() for row in self.ordered()]}
        if with_default and self.is_default:
            body["is_default"] = True
        return body

    def after(self) -> EditorForm:
        """The form as it shows once the action is done without being saved (the new-pipeline form)."""
        if self.action == "add" and not self.new_row.name.strip():
            self.new_row.errors["name"] = i18n.gettext("required")
            return self
        return EditorForm(name=self.name, is_default=self.is_default, rows=self.ordered())

    def show_errors(self, error: DomainError) -> None:
        """The service's errors next to the fields and rows they concern; the summary on top."""
        sent = self.ordered()
        for problem in error.errors:
            reason = i18n.gettext(problem.reason)
            found = STAGE_ERROR.fullmatch(problem.field)
            if found and int(found.group(1)) < len(sent):
                sent[int(found.group(1))].errors[found.group(2)] = reason
            else:
                self.errors[problem.field] = reason
        self.errors["__all__"] = i18n.gettext(error.detail)
        if error.code == "stage_in_use" and self.action == "remove" and self.moved is not None:
            self.moved.errors["row"] = i18n.gettext(error.detail)


def requirable_options() -> list[tuple[str, str]]:
    """The deal fields a stage may require, with their labels."""
    return [(name, i18n.gettext(DEAL_FIELDS[name].label)) for name in REQUIRABLE]
