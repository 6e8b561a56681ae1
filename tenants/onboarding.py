"""Signup: a new company (tenant) with its first owner, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from backend.db.uow import UnitOfWork
from backend.domains.billing.plans import plan
from backend.domains.identity import access, accounts
from backend.domains.identity.models import AuditEvent, User
from backend.domains.identity.roles import Role
from backend.domains.identity.schemas import IssuedToken
from backend.kit.errors import FieldError, Invalid
from tenants.naming import suggest_slug
from tenants.provisioning import NewTenant, create_tenant
from tenants.registry import TenantRef


@dataclass(frozen=True, slots=True)
class SignupResult:
    tenant: TenantRef
    user: User
    token: IssuedToken


def _slug(slug: str | None) -> str | None:
    """Addresses are case-insensitive: what the live check lower-cases, signup accepts."""
    return slug.strip().lower() if isinstance(slug, str) and slug.strip() else None


def _company_name(name: str) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not 2 <= len(name) <= 200:
        raise Invalid("Invalid company name.", [FieldError("company_name", "2-200 characters")])
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Invalid("Invalid company name.", [FieldError("company_name", "no line breaks or control characters")])
    return name


async def signup(
    uow: UnitOfWork, *, company_name: str, email: str, password: str, slug: str | None,
    full_name: str = "", token_ttl_seconds: int, locale: str = "en", plan_code: str | None = None,
) -> SignupResult:
    name = _company_name(company_name)
    chosen = plan(plan_code)
    user = await accounts.register_user(uow, email, password, full_name)
    tenant = await create_tenant(
        uow, NewTenant(slug=_slug(slug) or suggest_slug(name), name=name, locale=locale, plan=chosen.code)
    )
    await access.add_member(uow, tenant.id, user.id, Role.OWNER)
    uow.session.add(AuditEvent(tenant_id=tenant.id, actor_user_id=user.id, action="tenant.created",
                               target_type="tenant", target_id=str(tenant.id),
                               details={"slug": tenant.slug, "plan": chosen.code}))
    token = await accounts.issue_access_token(uow, user, token_ttl_seconds)
    return SignupResult(tenant=tenant, user=user, token=token)


async def add_company(uow: UnitOfWork, *, user: User, company_name: str, slug: str | None) -> TenantRef:
    """An existing user opens another company (they become its owner)."""
    name = _company_name(company_name)
    tenant = await create_tenant(uow, NewTenant(slug=_slug(slug) or suggest_slug(name), name=name, locale=user.locale))
    await access.add_member(uow, tenant.id, user.id, Role.OWNER)
    uow.session.add(AuditEvent(tenant_id=tenant.id, actor_user_id=user.id, action="tenant.created",
                               target_type="tenant", target_id=str(tenant.id), details={"slug": tenant.slug}))
    return tenant
