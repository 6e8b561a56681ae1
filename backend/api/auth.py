"""Platform routes: signup, tokens, me, password reset, invitation acceptance."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from backend.api.context import UserContext, authenticate, bearer, settings_of, shared_uow, user_ctx
from backend.api.dto import (
    AcceptInvitationIn,
    CompanyIn,
    MembershipOut,
    MeOut,
    ResetConfirmIn,
    ResetRequestIn,
    SignupIn,
    SignupOut,
    TenantOut,
    TokenIn,
    TokenOut,
)
from backend.db.uow import UnitOfWork
from backend.domains.identity import access, accounts
from backend.kit.errors import Forbidden, Unauthorized
from tenants import onboarding
from tenants.registry import registry


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]
    dependencies = {"uow": Provide(shared_uow), "me": Provide(user_ctx)}

    @post("/signup", status_code=HTTP_201_CREATED, summary="Create a company and its owner")
    async def signup(
        self, request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork], data: JSONBody[SignupIn]
    ) -> SignupOut:
        settings = settings_of(request)
        await request.app.state.signup_limit.hit(client_ip(request))
        result = await onboarding.signup(
            uow,
            company_name=data.company_name,
            email=data.email,
            password=data.password,
            slug=data.slug,
            full_name=data.full_name,
            token_ttl_seconds=settings.access_token_ttl_seconds,
            plan_code=data.plan,
        )
        t = result.tenant
        return SignupOut(
            tenant=TenantOut(t.id, t.slug, t.name),
            access_token=result.token.token,
            token_type="bearer",  # noqa: S106
            expires_at=result.token.expires_at,
            user_id=result.user.id,
        )

    @post("/auth/token", status_code=HTTP_200_OK, summary="Exchange email + password for an access token")
    async def token(
        self, request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork], data: JSONBody[TokenIn]
    ) -> TokenOut:
        settings = settings_of(request)
        throttle = request.app.state.throttle
        ip = client_ip(request)
        await throttle.attempt(data.email, ip)
        user = await accounts.authenticate(uow, data.email, data.password)
        if user is None:
            raise Unauthorized("Wrong email or password.", "invalid_credentials")
        await throttle.succeeded(data.email, ip)
        issued = await accounts.issue_access_token(uow, user, settings.access_token_ttl_seconds)
        return TokenOut(
            access_token=issued.token,
            token_type="bearer",  # noqa: S106
            expires_at=issued.expires_at,
            user_id=user.id,
        )

    @post("/auth/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke the current access token")
    async def logout(self, me: NamedDependency[UserContext]) -> None:
        if me.principal.token_id is not None:
            await accounts.revoke_token(me.uow, me.principal.token_id)

    @get("/me", summary="The signed-in user and their companies")
    async def me_(self, me: NamedDependency[UserContext]) -> MeOut:
        memberships = []
        for m in await access.memberships_of(me.uow, me.user.id):
            tenant = await registry.by_id(m.tenant_id)
            if tenant is not None:
                memberships.append(MembershipOut(TenantOut(tenant.id, tenant.slug, tenant.name, tenant.status), m.role))
        u = me.user
        return MeOut(
            id=u.id, email=u.email, full_name=u.full_name, locale=u.locale, timezone=u.timezone, memberships=memberships
        )

    @post("/companies", status_code=HTTP_201_CREATED, summary="Open another company as its owner")
    async def add_company(self, me: NamedDependency[UserContext], data: JSONBody[CompanyIn]) -> TenantOut:
        t = await onboarding.add_company(me.uow, user=me.user, company_name=data.company_name, slug=data.slug)
        return TenantOut(t.id, t.slug, t.name)

    @post("/auth/password-reset", status_code=HTTP_202_ACCEPTED, summary="Email a password reset link")
    async def reset_request(
        self, request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork], data: JSONBody[ResetRequestIn]
    ) -> dict[str, str]:
        await request.app.state.reset_limit.hit(client_ip(request))
        user = await accounts.reset_target(uow, data.email)
        if user is not None:
            # The job mints the token itself, so no secret ever sits in the queue; the id dedups bursts.
            bucket = int(time.time() // 60)
            uow.enqueue("send_password_reset", f"password-reset:{user.id}:{bucket}", user_id=str(user.id))
        return {"status": "accepted", "detail": "If the address has an account, a reset link is on its way."}

    @post("/auth/password-reset/confirm", status_code=HTTP_204_NO_CONTENT, summary="Set a new password")
    async def reset_confirm(self, uow: NamedDependency[UnitOfWork], data: JSONBody[ResetConfirmIn]) -> None:
        await accounts.finish_password_reset(uow, data.token, data.password)

    @post("/invitations/accept", status_code=HTTP_200_OK, summary="Accept an invitation (new or signed-in user)")
    async def accept(
        self, request: Request[Any, Any, Any], uow: NamedDependency[UnitOfWork], data: JSONBody[AcceptInvitationIn]
    ) -> MembershipOut:
        user = None
        if bearer(request):
            _, user = await authenticate(uow, request)
            if user is None:
                raise Forbidden("Accept invitations with a user's token, not an API key.", "user_token_required")
        user, membership = await access.accept_invitation(
            uow, data.token, user=user, password=data.password, full_name=data.full_name
        )
        tenant = await registry.by_id(membership.tenant_id)
        assert tenant is not None
        return MembershipOut(TenantOut(tenant.id, tenant.slug, tenant.name, tenant.status), membership.role)
