"""The tenant registry table (schema ``shared``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import SharedBase
from backend.db.database import DEFAULT_CLUSTER


class Tenant(SharedBase):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    schema_name: Mapped[str] = mapped_column(String(63), unique=True)
    cluster: Mapped[str] = mapped_column(String(40), default=DEFAULT_CLUSTER, server_default=DEFAULT_CLUSTER)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # added by s0002 (columns from later revisions go last, in revision order)
    plan: Mapped[str] = mapped_column(String(32), default="starter", server_default="starter")
