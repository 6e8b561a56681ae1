"""Custom field definitions per tenant (revision t0007). Values live in the ``custom`` JSONB column of
accounts, contacts and deals, keyed by the definition's ``key``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, Boolean, CheckConstraint, DateTime, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase
from backend.domains.crm.models import timestamp_column

ENTITIES = ("account", "contact", "deal")
FIELD_TYPES = ("text", "number", "date", "choice", "bool")
KEY_PATTERN = "^[a-z][a-z0-9_]{0,39}$"


class CustomField(TenantBase):
    __tablename__ = "custom_fields"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(8))
    choices: Mapped[list[str]] = mapped_column(ARRAY(String(80)), server_default=text("'{}'::varchar[]"))
    required: Mapped[bool] = mapped_column(Boolean, server_default="false")
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        UniqueConstraint("entity", "key"),
        CheckConstraint("entity IN ('account', 'contact', 'deal')", name="entity"),
        CheckConstraint("type IN ('text', 'number', 'date', 'choice', 'bool')", name="type"),
        CheckConstraint(f"key ~ '{KEY_PATTERN}'", name="key"),
    )
