"""Request-scoped dependencies: the transaction, the caller and the tenant.

* ``shared_uow``: one ``shared_scope`` transaction for platform routes.
* ``tenant_ctx``: for ``/api/v1/t/{tenant_slug}/…``: resolves the tenant from
  the registry, opens ``tenant_scope``, authenticates the caller inside that same
  transaction, checks membership (non-members get 404, never 403) and the
  route's declared roles (``opt={"roles": …}``), then yields. The transaction
  commits after the handler returns and before the response is sent; any
  exception rolls it back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.params import FromPath
from sqlalchemy import select

from backend.config import Settings
from backend.db.uow import UnitOfWork
from backend.domains.company.models import CompanySettings
from backend.domains.identity import access, accounts
from backend.domains.identity.access import Actor
from backend.domains.identity.models import User
from backend.domains.identity.schemas import Principal
from backend.kit.clock import utcnow
from backend.kit.errors import DomainError, Forbidden, NotFound, Unauthorized
from backend.logs import bind
from tenants.registry import TenantRef, registry
from tenants.scope import shared_scope, tenant_scope

ROLES_OPT = "roles"


@dataclass
class TenantContext:
    uow: UnitOfWork
    tenant: TenantRef
    actor: Actor
    user: User | None


@dataclass
class UserContext:
    uow: UnitOfWork
    user: User
    principal: Principal


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


async def authenticate(uow: UnitOfWork, request: Request[Any, Any, Any]) -> tuple[Principal, User | None]:
    token = bearer(request)
    if not token:
        raise Unauthorized()
    if token.startswith(access.API_KEY_PREFIX + "_"):
        key = await access.resolve_api_key(uow, token)
        if key is None:
            raise Unauthorized("Invalid or revoked API key.", "invalid_api_key")
        if key.last_used_at is None or (utcnow() - key.last_used_at).total_seconds() > 60:
            uow.after_commit(_touch_later(key.id))
        return Principal(user_id=None, api_key_id=key.id, api_key_tenant_id=key.tenant_id, api_key_role=key.role), None
    found = await accounts.resolve_access_token(uow, token)
    if found is None:
        raise Unauthorized("Invalid, expired or revoked access token.", "invalid_token")
    user, row = found
    bind(user=str(user.id))
    return Principal(user_id=user.id, token_id=row.id), user


def _touch_later(key_id: Any) -> Any:
    """Record API-key use in its own short transaction after the request: no row lock held meanwhile."""

    async def touch() -> None:
        async with shared_scope() as own:
            await access.touch_api_key(own, key_id, utcnow())

    return touch


async def enabled_modules(uow: UnitOfWork) -> list[str]:
    found = await uow.session.execute(select(CompanySettings.modules))
    return list(found.scalar_one())


async def shared_uow() -> AsyncGenerator[UnitOfWork, None]:
    async with shared_scope() as uow:
        yield uow


async def user_ctx(request: Request[Any, Any, Any]) -> AsyncGenerator[UserContext, None]:
    async with shared_scope() as uow:
        principal, user = await authenticate(uow, request)
        if user is None:
            raise Forbidden("This endpoint needs a user's access token, not an API key.", "user_token_required")
        yield UserContext(uow=uow, user=user, principal=principal)


async def tenant_ctx(
    request: Request[Any, Any, Any], tenant_slug: FromPath[str]
) -> AsyncGenerator[TenantContext, None]:
    roles: frozenset[str] | None = request.route_handler.opt.get(ROLES_OPT)
    if not roles:
        raise DomainError("Route has no role guard.", "unguarded_route", 500)
    tenant = await registry.by_slug(tenant_slug)
    if tenant is None:
        raise NotFound("No such tenant.", "tenant_not_found")
    async with tenant_scope(tenant) as uow:
        principal, user = await authenticate(uow, request)
        role = await access.role_in(uow, tenant.id, principal)
        if role is None:
            raise NotFound("No such tenant.", "tenant_not_found")
        if not tenant.active:
            raise Forbidden("This company is suspended.", "tenant_suspended")
        if role not in roles:
            raise Forbidden(f"Your role '{role}' cannot do this.", "role_forbidden")
        module = request.route_handler.opt.get("module")
        if module and module not in await enabled_modules(uow):
            raise NotFound("This module is switched off for the company.", "module_disabled")
        bind(tenant=tenant.slug)
        actor = Actor(tenant_id=tenant.id, role=role, user_id=principal.user_id, api_key_id=principal.api_key_id)
        yield TenantContext(uow=uow, tenant=tenant, actor=actor, user=user)
