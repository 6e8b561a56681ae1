"""Dependencies of the web pages: who is signed in, which language, which tenant.

Tenant pages live under ``/t/{slug}/`` and follow the API's rules: the tenant
comes from the registry, the caller from the session cookie, checked inside the
one ``tenant_scope`` transaction; non-members get 404, wrong roles 403, and a
switched-off module 404. Anonymous visitors of a tenant page are sent to login.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

from litestar import Request
from litestar.params import FromPath
from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.company.models import CompanySettings
from backend.domains.identity import access, accounts
from backend.domains.identity.models import User
from backend.domains.identity.schemas import Principal
from backend.kit.errors import DomainError, Forbidden, NotFound
from backend.kit.modules import MODULES, Module
from backend.logs import bind
from tenants.registry import TenantRef, registry
from tenants.scope import shared_scope, tenant_scope
from web import i18n
from web.session import session_token

ROLES_OPT = "roles"
SCOPE_USER = "tandem.user"
MODULE_OPT = "module"


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass
class Page:
    """What every page handler receives."""

    request: Request[Any, Any, Any]
    uow: UnitOfWork
    user: User | None
    token_id: Any = None
    tenant: TenantRef | None = None
    role: str | None = None
    company: CompanySettings | None = None
    modules: list[Module] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"/t/{self.tenant.slug}" if self.tenant else ""


async def _user_from_cookie(uow: UnitOfWork, request: Request[Any, Any, Any]) -> tuple[User | None, Any]:
    token = session_token(request)
    if not token:
        return None, None
    found = await accounts.resolve_access_token(uow, token)
    if found is None:
        return None, None
    user, row = found
    bind(user=str(user.id))
    cast(dict[str, Any], request.scope)[SCOPE_USER] = user  # error pages show the signed-in header too
    return user, row.id


def _set_language(request: Request[Any, Any, Any], user: User | None) -> None:
    preferred = user.locale if user else request.cookies.get("tandem_lang")
    i18n.current_locale.set(i18n.negotiate(preferred, request.headers.get("accept-language")))
    i18n.current_timezone.set(user.timezone if user else "UTC")


async def page(request: Request[Any, Any, Any]) -> AsyncGenerator[Page, None]:
    """Public pages: optional user, language negotiated."""
    async with shared_scope() as uow:
        user, token_id = await _user_from_cookie(uow, request)
        _set_language(request, user)
        yield Page(request=request, uow=uow, user=user, token_id=token_id)


async def tenant_page(request: Request[Any, Any, Any], tenant_slug: FromPath[str]) -> AsyncGenerator[Page, None]:
    roles: frozenset[str] | None = request.route_handler.opt.get(ROLES_OPT)
    if not roles:
        raise DomainError("Route has no role guard.", "unguarded_route", 500)
    tenant = await registry.by_slug(tenant_slug)
    if tenant is None:
        _set_language(request, None)
        raise NotFound("No such company.", "tenant_not_found")
    async with tenant_scope(tenant) as uow:
        user, token_id = await _user_from_cookie(uow, request)
        _set_language(request, user)
        if user is None:
            # after login the browser GETs `next`: a form's URL would answer 405, so use the company home
            raise LoginRequired(request.url.path if request.method == "GET" else f"/t/{tenant.slug}/")
        role = await access.role_in(uow, tenant.id, Principal(user_id=user.id))
        if role is None:
            raise NotFound("No such company.", "tenant_not_found")
        if not tenant.active:
            raise Forbidden("This company is suspended.", "tenant_suspended")
        if role not in roles:
            raise Forbidden("Your role cannot open this page.", "role_forbidden")
        company = (await uow.session.execute(select(CompanySettings))).scalar_one()
        module = request.route_handler.opt.get(MODULE_OPT)
        if module and module not in company.modules:
            raise NotFound("This module is switched off for the company.", "module_disabled")
        bind(tenant=tenant.slug)
        enabled = [MODULES[k] for k in company.modules if k in MODULES]
        yield Page(request=request, uow=uow, user=user, token_id=token_id, tenant=tenant, role=role,
                   company=company, modules=enabled)


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site relative paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
