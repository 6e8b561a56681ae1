"""Company settings: one row per tenant schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, DateTime, SmallInteger, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase


class CompanySettings(TenantBase):
    __tablename__ = "company_settings"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False, default=1)
    name: Mapped[str] = mapped_column(String(200))
    base_currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    fiscal_year_start_month: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    # Columns added by later revisions go last, in revision order: the DDL snapshot must match ADD COLUMN.
    modules: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), server_default=text("'{crm,sales}'::varchar[]")
    )

    __table_args__ = (
        CheckConstraint("id = 1", name="singleton"),
        CheckConstraint("fiscal_year_start_month BETWEEN 1 AND 12", name="fiscal_month"),
    )
