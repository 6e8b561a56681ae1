"""Small types shared by the CRM services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DuplicateWarning:
    """The record was created, but looks like one that exists (``existing_id`` is None if hidden from you)."""

    field: str
    reason: str
    existing_id: uuid.UUID | None
