"""Segments (revision t0011): saved dynamic filters over accounts or contacts, and static lists of them.

A dynamic segment stores its filter (see ``segment_filters``) and is evaluated on every read; a static segment
lists its records in ``segment_members``. Record ids there carry no foreign key (a segment lists accounts or
contacts, by its ``entity``); members whose record is archived are skipped when read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase
from backend.domains.crm.activity_models import Interaction
from backend.domains.crm.models import Contact, timestamp_column

SEGMENT_ENTITIES = ("account", "contact")
SEGMENT_KINDS = ("dynamic", "static")


class Segment(TenantBase):
    __tablename__ = "segments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column()
    is_shared: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        CheckConstraint("entity IN ('account', 'contact')", name="entity"),
        CheckConstraint("kind IN ('dynamic', 'static')", name="kind"),
        CheckConstraint("(kind = 'dynamic') = (filter IS NOT NULL)", name="filter_of_dynamic"),
        Index("ix_segments_name_id", "name", "id"),
        Index("ix_segments_owner_user_id", "owner_user_id"),
    )


class SegmentMember(TenantBase):
    """One record of a static segment."""

    __tablename__ = "segment_members"

    segment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    added_at: Mapped[datetime] = timestamp_column()
    added_by: Mapped[uuid.UUID | None] = mapped_column()

    __table_args__ = (Index("ix_segment_members_record_id", "record_id"),)


# Indexes for segment counts over 1M contacts and 2M interactions (revision t0011; measured in docs/PERFORMANCE.md
# terms: a consent count becomes an index-only scan; "an interaction within N days" a range scan of recent ones).
COUNT_INDEXES = (
    Index("ix_contacts_segment_counts", Contact.email_consent, Contact.sms_consent, Contact.account_id,
          Contact.owner_user_id, postgresql_where=Contact.archived_at.is_(None)),
    Index("ix_interactions_live_occurred_account", Interaction.occurred_at, Interaction.account_id,
          Interaction.contact_id, postgresql_where=Interaction.archived_at.is_(None)),
    Index("ix_interactions_live_account_occurred", Interaction.account_id, Interaction.occurred_at,
          postgresql_where=Interaction.archived_at.is_(None)),
    Index("ix_interactions_live_contact_occurred", Interaction.contact_id, Interaction.occurred_at,
          postgresql_where=Interaction.archived_at.is_(None) & Interaction.contact_id.is_not(None)),
)
