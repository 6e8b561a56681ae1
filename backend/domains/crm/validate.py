"""Field validation shared by the CRM services: every problem is reported at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.identity.models import Membership
from backend.kit.errors import FieldError, Invalid


class Fields:
    """Collects field errors; ``done()`` raises them together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, reason: str) -> None:
        self.errors.append(FieldError(field, reason))

    def text(self, data: dict[str, Any], field: str, *, required: bool = False, max_len: int = 200,
             multiline: bool = False) -> str | None:
        value = data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, "required")
            return None
        if not isinstance(value, str):
            self.fail(field, "must be text")
            return None
        value = value.strip()
        if len(value) > max_len:
            self.fail(field, f"at most {max_len} characters")
        allowed = {"\n", "\r", "\t"} if multiline else set()
        if any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in value):
            self.fail(field, "no control characters")
        return value

    def choice(self, data: dict[str, Any], field: str, options: Iterable[str]) -> str | None:
        value = data.get(field)
        options = tuple(options)
        if value not in options:
            self.fail(field, "one of: " + ", ".join(options))
            return None
        return str(value)

    def uuid(self, data: dict[str, Any], field: str) -> uuid.UUID | None:
        value = data.get(field)
        if value in (None, ""):
            return None
        try:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            self.fail(field, "not an id")
            return None

    def flag(self, data: dict[str, Any], field: str) -> bool | None:
        value = data.get(field)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(field, "true or false")
            return None
        return value

    def date(self, data: dict[str, Any], field: str) -> date | None:
        """An ISO date (or a ``date``); empty means none."""
        raw = data.get(field)
        if raw in (None, ""):
            return None
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            self.fail(field, "a date such as 2026-12-31")
            return None

    def tags(self, data: dict[str, Any], field: str = "tags", *, most: int = 20) -> list[str] | None:
        value = data.get(field)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            self.fail(field, "a list of texts")
            return None
        cleaned = sorted({t.strip().lower() for t in value if t.strip()})
        if len(cleaned) > most or any(len(t) > 40 for t in cleaned):
            self.fail(field, f"at most {most} tags of 1-40 characters")
        return cleaned

    def done(self, detail: str = "Please correct the highlighted fields.") -> None:
        if self.errors:
            raise Invalid(detail, self.errors)


async def is_member(uow: UnitOfWork, user_id: uuid.UUID) -> bool:
    """Whether the user belongs to the tenant of this unit of work (owners must be members)."""
    if uow.tenant_id is None:
        return False
    query = select(Membership.id).where(Membership.tenant_id == uuid.UUID(uow.tenant_id),
                                        Membership.user_id == user_id)
    return (await uow.session.execute(query)).first() is not None
