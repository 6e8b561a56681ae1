"""Tenant administration: members, invitations, API keys. Every route declares its roles."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from backend.api.context import ROLES_OPT, TenantContext, settings_of, tenant_ctx
from backend.api.dto import (
    NO_NUL,
    ApiKeyIn,
    ApiKeyOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    Page,
    RoleIn,
    TenantInfoOut,
)
from backend.domains.identity import access, accounts
from backend.domains.identity.models import ApiKey
from backend.domains.identity.roles import ADMINS, EVERYONE

ANY_MEMBER = {ROLES_OPT: EVERYONE}
ADMIN_ONLY = {ROLES_OPT: ADMINS}


def _key_out(key: ApiKey, secret: str | None = None) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        secret=secret,
    )


class TenantAdminController(Controller):
    path = "/api/v1/t/{tenant_slug:str}"
    tags = ["tenant administration"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=ANY_MEMBER, summary="The company and your role in it")
    async def info(self, ctx: NamedDependency[TenantContext]) -> TenantInfoOut:
        t = ctx.tenant
        return TenantInfoOut(id=t.id, slug=t.slug, name=t.name, status=t.status, your_role=ctx.actor.role)

    @get("/members", opt=ANY_MEMBER, summary="Members, ordered by email (cursor = last email seen)")
    async def members(
        self,
        ctx: NamedDependency[TenantContext],
        cursor: str | None = Parameter(default=None, max_length=254, pattern=NO_NUL),
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> Page:
        rows = await access.list_members(ctx.uow, ctx.tenant.id, after=cursor, limit=limit + 1)
        items = [MemberOut(u.id, u.email, u.full_name, m.role, m.created_at) for m, u in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].email if len(rows) > limit else None)

    @patch("/members/{user_id:uuid}", opt=ADMIN_ONLY, summary="Change a member's role")
    async def change_role(
        self, ctx: NamedDependency[TenantContext], user_id: FromPath[uuid.UUID], data: JSONBody[RoleIn]
    ) -> MemberOut:
        membership = await access.change_role(ctx.uow, ctx.actor, user_id, data.role)
        user = await accounts.get_user(ctx.uow, membership.user_id)
        assert user is not None  # the membership row references it
        return MemberOut(user.id, user.email, user.full_name, membership.role, membership.created_at)

    @delete("/members/{user_id:uuid}", opt=ADMIN_ONLY, status_code=HTTP_204_NO_CONTENT, summary="Remove a member")
    async def remove(self, ctx: NamedDependency[TenantContext], user_id: FromPath[uuid.UUID]) -> None:
        await access.remove_member(ctx.uow, ctx.actor, user_id)

    @post("/invitations", opt=ADMIN_ONLY, status_code=HTTP_201_CREATED, summary="Invite someone by email")
    async def invite(
        self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext], data: JSONBody[InvitationIn]
    ) -> InvitationOut:
        settings = settings_of(request)
        issued = await access.invite(ctx.uow, ctx.actor, data.email, data.role, settings.invitation_ttl_seconds)
        ctx.uow.enqueue(
            "send_invitation",
            f"invitation:{issued.id}",
            invitation_id=str(issued.id),
            token=issued.secret,
            tenant_name=ctx.tenant.name,
        )
        return InvitationOut(
            id=issued.id,
            email=data.email.strip().lower(),
            role=data.role,
            expires_at=issued.expires_at or settings_of(request).invitation_ttl_seconds,  # type: ignore[arg-type]
            token=issued.secret,
            accept_url=f"{settings.base_url}/invite/{issued.secret}",
        )

    @get("/invitations", opt=ADMIN_ONLY, summary="Pending invitations")
    async def invitations(self, ctx: NamedDependency[TenantContext]) -> list[InvitationOut]:
        rows = await access.list_invitations(ctx.uow, ctx.tenant.id)
        return [InvitationOut(id=r.id, email=r.email, role=r.role, expires_at=r.expires_at) for r in rows]

    @delete(
        "/invitations/{invitation_id:uuid}",
        opt=ADMIN_ONLY,
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke a pending invitation",
    )
    async def revoke_invitation(self, ctx: NamedDependency[TenantContext], invitation_id: FromPath[uuid.UUID]) -> None:
        await access.revoke_invitation(ctx.uow, ctx.actor, invitation_id)

    @post(
        "/api-keys",
        opt=ADMIN_ONLY,
        status_code=HTTP_201_CREATED,
        summary="Create an API key (the secret is shown once)",
    )
    async def create_key(self, ctx: NamedDependency[TenantContext], data: JSONBody[ApiKeyIn]) -> ApiKeyOut:
        key, secret = await access.create_api_key(ctx.uow, ctx.actor, data.name, data.role)
        return _key_out(key, secret)

    @get("/api-keys", opt=ADMIN_ONLY, summary="API keys (secrets are never shown again)")
    async def keys(self, ctx: NamedDependency[TenantContext]) -> list[ApiKeyOut]:
        return [_key_out(k) for k in await access.list_api_keys(ctx.uow, ctx.tenant.id)]

    @delete("/api-keys/{key_id:uuid}", opt=ADMIN_ONLY, status_code=HTTP_204_NO_CONTENT, summary="Revoke an API key")
    async def revoke_key(self, ctx: NamedDependency[TenantContext], key_id: FromPath[uuid.UUID]) -> None:
        await access.revoke_api_key(ctx.uow, ctx.actor, key_id)
