"""CRM tables (tenant schema). Owners are user ids from ``shared`` stored without a foreign key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import TenantBase

ACCOUNT_KINDS = ("person", "organization", "group")
LIFECYCLE = ("lead", "prospect", "customer", "churned")
CONTACT_ROLES = ("decision_maker", "payer", "user", "influencer", "other")


def _trigram(name: str, column: str) -> Index:
    """A GIN trigram index (typo-tolerant search); the operator class lives in schema ``ext``."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def _fulltext(name: str, column: str) -> Index:
    """A GIN index over the 'simple' tsvector of a name (word matches ranked with ts_rank, any word order)."""
    return Index(name, text(f"to_tsvector('simple'::regconfig, {column}::text)"), postgresql_using="gin")


def _trigram_expression(name: str, expression: str) -> Index:
    return Index(name, literal_column(expression).label("expr"), postgresql_using="gin",
                 postgresql_ops={"expr": "gin_trgm_ops"})


# Tax ids are searched by their letters and digits only ("2208162517" finds "220-81-62517").
TAX_DIGITS = "regexp_replace(tax_id::text, '[^0-9A-Za-z]'::text, ''::text, 'g'::text)"


def timestamp_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def custom_column() -> Mapped[dict[str, Any]]:
    """Custom field values ``{key: value}`` (revision t0007; numbers as strings, dates ISO)."""
    return mapped_column(JSONB, server_default="{}")


def custom_index(table: str) -> Index:
    """GIN (jsonb_path_ops) index: ``custom @> {...}`` filters."""
    return Index(f"ix_{table}_custom", "custom", postgresql_using="gin", postgresql_ops={"custom": "jsonb_path_ops"})


class Account(TenantBase):
    """The client as the business sees it: a person, an organization or a group of them."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), server_default="organization")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default="lead")
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column()
    is_shared: Mapped[bool] = mapped_column(Boolean, server_default="false")
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'::varchar[]"))
    source_channel: Mapped[str | None] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # Added by revision t0007 (declared last, in revision order).
    custom: Mapped[dict[str, Any]] = custom_column()
    marketing_event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("marketing_events.id", ondelete="SET NULL"), index=True)
    # revision t0008 (after t0007's columns): set when this account was merged into another one (it is archived then)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"),
                                                             index=True)

    __table_args__ = (
        CheckConstraint("kind IN ('person', 'organization', 'group')", name="kind"),
        CheckConstraint("status IN ('lead', 'prospect', 'customer', 'churned')", name="status"),
        Index("ix_accounts_name_id", "name", "id"),
        Index("ix_accounts_owner_user_id", "owner_user_id"),
        _trigram("ix_accounts_name_trgm", "name"),
        custom_index("accounts"),
        _fulltext("ix_accounts_name_fts", "name"),
    )


class LegalEntity(TenantBase):
    """A counterparty documents are issued to: registered name, tax id, address, bank details."""

    __tablename__ = "legal_entities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    registered_name: Mapped[str] = mapped_column(String(250))
    tax_id: Mapped[str | None] = mapped_column(String(64), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    address: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    bank: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        _trigram("ix_legal_entities_registered_name_trgm", "registered_name"),
        _trigram("ix_legal_entities_tax_id_trgm", "tax_id"),
        _fulltext("ix_legal_entities_registered_name_fts", "registered_name"),
        _trigram_expression("ix_legal_entities_tax_digits_trgm", TAX_DIGITS),
    )


class Contact(TenantBase):
    """A person, usually at an account, with roles and per-channel consent."""

    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default=text("'{}'::varchar[]"))
    email_consent: Mapped[bool] = mapped_column(Boolean, server_default="false")
    email_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_consent_source: Mapped[str | None] = mapped_column(String(64))
    sms_consent: Mapped[bool] = mapped_column(Boolean, server_default="false")
    sms_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sms_consent_source: Mapped[str | None] = mapped_column(String(64))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # Added by revision t0007 (declared last).
    custom: Mapped[dict[str, Any]] = custom_column()
    # revision t0008 (after t0007's columns): set when this contact was merged into another one (it is archived then)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"),
                                                             index=True)
    # revision t0012 (declared last): set when the contact's personal data was erased on request (privacy.py)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        _trigram("ix_contacts_full_name_trgm", "full_name"),
        _trigram("ix_contacts_email_trgm", "email"),
        custom_index("contacts"),
        _fulltext("ix_contacts_full_name_fts", "full_name"),
        _trigram("ix_contacts_phone_trgm", "phone"),
        Index("ix_contacts_email_prefix", literal_column("lower(email::text)").label("expr"),
              postgresql_ops={"expr": "text_pattern_ops"}),
    )
