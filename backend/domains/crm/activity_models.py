"""Interactions and tasks (tenant schema, revision t0006).

Interactions are channel-agnostic: the web app, the API, the Telegram bot and inbound mail all log into one
table (``source`` says which). Tasks carry at most one link (an account, a contact or a deal); ``account_id``
is also filled for contact and deal links (the record's account when linked), so an account's timeline finds
its tasks through one index.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase
from backend.domains.crm.deals_models import DealStageMove
from backend.domains.crm.models import timestamp_column

INTERACTION_KINDS = ("meeting", "call", "sms", "email", "visit", "note")
DIRECTIONS = ("inbound", "outbound")
SOURCES = ("web", "api", "bot", "email")


class Interaction(TenantBase):
    """Something that happened with a client: a meeting, call, SMS, email, visit or note."""

    __tablename__ = "interactions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[str | None] = mapped_column(String(8))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    address: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(8), server_default="web")
    author_user_id: Mapped[uuid.UUID | None] = mapped_column()
    author_api_key_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        CheckConstraint("kind IN ('meeting', 'call', 'sms', 'email', 'visit', 'note')", name="kind"),
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction"),
        CheckConstraint("source IN ('web', 'api', 'bot', 'email')", name="source"),
        CheckConstraint("duration_seconds >= 0", name="duration"),
        CheckConstraint("latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coordinates"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_paired"),
        # The timeline and "last interaction per account", newest first.
        Index("ix_interactions_account_id_occurred_at_id", "account_id", text("occurred_at DESC"), text("id DESC")),
        # Activities per rep over a period.
        Index("ix_interactions_author_user_id_occurred_at", "author_user_id", "occurred_at"),
        Index("ix_interactions_contact_id_occurred_at", "contact_id", "occurred_at"),
        Index("ix_interactions_deal_id_occurred_at", "deal_id", "occurred_at"),
        # Unfiltered lists, newest first.
        Index("ix_interactions_occurred_at_id", "occurred_at", "id"),
    )


class Task(TenantBase):
    """A to-do with an optional due time or day, an assignee and at most one linked record."""

    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_date: Mapped[date | None] = mapped_column(Date)
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    done_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        CheckConstraint("due_at IS NULL OR due_date IS NULL", name="one_due"),
        CheckConstraint("contact_id IS NULL OR deal_id IS NULL", name="one_link"),
        Index("ix_tasks_assignee_user_id_done_at", "assignee_user_id", "done_at"),
        # The timeline's two task arms: created and done, per account, newest first.
        Index("ix_tasks_account_id_created_at_id", "account_id", "created_at", "id"),
        Index("ix_tasks_account_id_done_at_id", "account_id", "done_at", "id"),
        Index("ix_tasks_contact_id", "contact_id"),
        Index("ix_tasks_deal_id", "deal_id"),
        Index("ix_tasks_created_at_id", "created_at", "id"),
    )


# Added by t0006 to a table of t0005, for the timeline's per-deal probes (newest moves of each deal).
Index("ix_deal_stage_history_deal_id_moved_at_id", DealStageMove.deal_id, DealStageMove.moved_at, DealStageMove.id)
