"""Sales pipelines with ordered stages, deals and their stage history (tenant schema, revision t0005)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    CHAR,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase
from backend.domains.crm.models import custom_column, custom_index, timestamp_column

STAGE_KINDS = ("open", "won", "lost")
# Deal fields a stage may require to be filled when a deal enters it.
REQUIRABLE = ("amount", "currency", "expected_close_date", "owner_user_id", "next_action", "next_action_due",
              "source_channel")


class Pipeline(TenantBase):
    __tablename__ = "pipelines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(Boolean, server_default="false")
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = timestamp_column()
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class PipelineStage(TenantBase):
    __tablename__ = "pipeline_stages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="0")
    kind: Mapped[str] = mapped_column(String(8), server_default="open")
    required_fields: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'::varchar[]"))

    # revision t0014: checklist items a deal must have ticked to enter this stage
    checklist: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default=text("'{}'::varchar[]"))

    __table_args__ = (
        CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability"),
    )


class Deal(TenantBase):
    __tablename__ = "deals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"), index=True)
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_stages.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(CHAR(3))
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="0")
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    next_action: Mapped[str | None] = mapped_column(String(200))
    next_action_due: Mapped[date | None] = mapped_column(Date)
    source_channel: Mapped[str | None] = mapped_column(String(64))
    lost_reason: Mapped[str | None] = mapped_column(Text)
    won_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lost_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # Added by revision t0007 (declared last, in revision order).
    custom: Mapped[dict[str, Any]] = custom_column()
    marketing_event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("marketing_events.id", ondelete="SET NULL"), index=True)
    products_of_interest: Mapped[list[str]] = mapped_column(ARRAY(String(80)),
                                                            server_default=text("'{}'::varchar[]"))
    # revision t0014: the stage checklist items this deal has ticked
    checklist_done: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default=text("'{}'::varchar[]"))

    __table_args__ = (
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability"),
        Index("ix_deals_title_id", "title", "id"),
        Index("ix_deals_created_at_id", "created_at", "id"),
        custom_index("deals"),
    )


class DealStageMove(TenantBase):
    __tablename__ = "deal_stage_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    from_stage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pipeline_stages.id", ondelete="SET NULL"))
    to_stage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pipeline_stages.id", ondelete="SET NULL"))
    moved_at: Mapped[datetime] = timestamp_column()
    moved_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    moved_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column()

    __table_args__ = (Index("ix_deal_stage_history_deal_id_id", "deal_id", "id"),)
