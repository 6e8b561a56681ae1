"""CSV imports waiting for their mapping, dry run and commit (tenant schema, revision t0008)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase
from backend.domains.crm.models import timestamp_column

ENTITIES = ("accounts", "contacts", "deals")
STATUSES = ("uploaded", "checked", "committed")


class CsvImport(TenantBase):
    """One uploaded file, kept server-side until it is committed or expires."""

    __tablename__ = "imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="uploaded")
    filename: Mapped[str | None] = mapped_column(String(255))
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(1))
    content: Mapped[str] = mapped_column(Text)  # the decoded text of the file
    headers: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    row_count: Mapped[int] = mapped_column(Integer)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        CheckConstraint("entity IN ('accounts', 'contacts', 'deals')", name="entity"),
        CheckConstraint("status IN ('uploaded', 'checked', 'committed')", name="status"),
        Index("ix_imports_expires_at", "expires_at"),
    )
