"""Typed commands and results of the identity domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (with a token) or a tenant API key."""

    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None
    api_key_tenant_id: uuid.UUID | None = None
    api_key_role: str | None = None
    token_id: uuid.UUID | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    token_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A secret shown once (API key, invitation or reset token) with its record id."""

    id: uuid.UUID
    secret: str
    expires_at: datetime | None = None
