"""Marketing events and channels (revision t0007): accounts and deals point at them ("attributed to")."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CHAR, CheckConstraint, Date, DateTime, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase
from backend.domains.crm.models import timestamp_column

CHANNELS = ("exhibition", "seminar", "webinar", "ads", "email", "referral", "other")


class MarketingEvent(TenantBase):
    __tablename__ = "marketing_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    budget: Mapped[Decimal] = mapped_column(Numeric(18, 2), server_default="0")
    currency: Mapped[str] = mapped_column(CHAR(3))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        CheckConstraint("channel IN ('exhibition', 'seminar', 'webinar', 'ads', 'email', 'referral', 'other')",
                        name="channel"),
        CheckConstraint("budget >= 0", name="budget"),
        CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates"),
        Index("ix_marketing_events_name_id", "name", "id"),
        Index("ix_marketing_events_created_at_id", "created_at", "id"),
    )
