"""Request and response bodies of the platform API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

# PostgreSQL text cannot hold NUL: refuse it here (422 on the field), never let it reach SQL (500).
NO_NUL = r"^[^\x00]*$"
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=NO_NUL)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=63, pattern=NO_NUL)]
Name = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
RoleName = Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=NO_NUL)]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class SignupIn(Strict):
    company_name: Name
    email: Email
    password: Password
    slug: Slug | None = None
    full_name: Name = ""
    plan: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class TenantOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    status: str = "active"


class SignupOut(msgspec.Struct):
    tenant: TenantOut
    access_token: str
    token_type: str
    expires_at: datetime
    user_id: uuid.UUID


class TokenIn(Strict):
    email: Email
    password: Password


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: datetime
    user_id: uuid.UUID


class MembershipOut(msgspec.Struct):
    tenant: TenantOut
    role: str


class MeOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    full_name: str
    locale: str
    timezone: str
    memberships: list[MembershipOut]


class CompanyIn(Strict):
    company_name: Name
    slug: Slug | None = None


class ResetRequestIn(Strict):
    email: Email


class ResetConfirmIn(Strict):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Password


class AcceptInvitationIn(Strict):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Password | None = None
    full_name: Name = ""


class MemberOut(msgspec.Struct):
    user_id: uuid.UUID
    email: str
    full_name: str
    role: str
    joined_at: datetime


class Page(msgspec.Struct):
    items: list[MemberOut]
    next_cursor: str | None


class RoleIn(Strict):
    role: RoleName


class InvitationIn(Strict):
    email: Email
    role: RoleName


class InvitationOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    role: str
    expires_at: datetime
    token: str | None = None
    accept_url: str | None = None


class ApiKeyIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    role: RoleName


class ApiKeyOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    secret: str | None = None


class TenantInfoOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    status: str
    your_role: str
