"""Tenant app shell at /t/{slug}/: home and members. Every route declares its roles."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.identity import access
from backend.domains.identity.roles import ADMINS, EVERYONE, can_grant
from web import i18n
from web.context import ROLES_OPT, Page, tenant_page
from web.pages.dashboard import crm_widgets
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]
ANY_MEMBER = {ROLES_OPT: EVERYONE}
ADMIN_ONLY = {ROLES_OPT: ADMINS}
SORTS = {"email", "-email", "role", "-role", "joined", "-joined"}


class TenantPages(Controller):
    path = "/t/{tenant_slug:str}"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=ANY_MEMBER)
    async def home(self, pg: NamedDependency[Page]) -> Template:
        assert pg.tenant is not None
        members = await access.list_members(pg.uow, pg.tenant.id, limit=6)
        return render(pg, "app/home.html", recent_members=members, **await crm_widgets(pg))

    @get("/members", opt=ANY_MEMBER)
    async def members(
        self, pg: NamedDependency[Page], sort: FromQuery[str] = "email",
        cursor: str | None = Parameter(default=None, max_length=254),
    ) -> Template:
        return await self._members_page(pg, sort, cursor, errors={}, values={})

    async def _members_page(self, pg: Page, sort: str, cursor: str | None, errors: dict[str, str],
                            values: dict[str, str], status: int = 200, issued: Any = None) -> Template:
        assert pg.tenant is not None
        sort = sort if sort in SORTS else "email"
        rows = await access.list_members(pg.uow, pg.tenant.id, after=cursor if sort == "email" else None,
                                         limit=201 if sort == "email" else 1000)
        key = sort.lstrip("-")
        if key != "email" or sort.startswith("-"):
            rows.sort(key=lambda mu: {"email": mu[1].email, "role": mu[0].role,
                                      "joined": mu[0].created_at.isoformat()}[key], reverse=sort.startswith("-"))
        page_rows, next_cursor = rows[:200], (rows[199][1].email if len(rows) > 200 and sort == "email" else None)
        invitations = await access.list_invitations(pg.uow, pg.tenant.id) if pg.role in ADMINS else []
        grantable = [r for r in i18n_roles() if pg.role and can_grant(pg.role, r)]
        return render(pg, "app/members.html", status=status, rows=page_rows, sort=sort, next_cursor=next_cursor,
                      invitations=invitations, grantable=grantable, errors=errors, values=values, issued=issued)

    @post("/members/invite", opt=ADMIN_ONLY)
    async def invite(self, pg: NamedDependency[Page], data: Form) -> Template:
        assert pg.tenant is not None
        settings = pg.request.app.state.settings
        values = {"email": str(data.get("email", "")).strip(), "role": str(data.get("role", ""))}
        actor = _actor(pg)
        issued, error = await attempt(pg, lambda: access.invite(pg.uow, actor, values["email"], values["role"],
                                                                settings.invitation_ttl_seconds))
        if error is not None or issued is None:
            assert error is not None
            return await self._members_page(pg, "email", None, field_errors(error), values, error.status)
        pg.uow.enqueue("send_invitation", f"invitation:{issued.id}", invitation_id=str(issued.id),
                       token=issued.secret, tenant_name=pg.tenant.name)
        link = f"{settings.base_url}/invite/{issued.secret}"
        return await self._members_page(pg, "email", None, {}, {}, 201, issued={"email": values["email"], "link": link})

    @post("/members/{user_id:uuid}/role", opt=ADMIN_ONLY)
    async def change_role(self, pg: NamedDependency[Page], user_id: FromPath[uuid.UUID], data: Form) -> Redirect:
        _, error = await attempt(pg, lambda: access.change_role(pg.uow, _actor(pg), user_id, str(data.get("role"))))
        if error is not None:
            return redirect(f"{pg.base}/members", i18n.gettext(error.detail), "error")
        return redirect(f"{pg.base}/members", i18n.gettext("Role changed."))

    @post("/members/{user_id:uuid}/remove", opt=ADMIN_ONLY)
    async def remove(self, pg: NamedDependency[Page], user_id: FromPath[uuid.UUID]) -> Redirect:
        _, error = await attempt(pg, lambda: access.remove_member(pg.uow, _actor(pg), user_id))
        if error is not None:
            return redirect(f"{pg.base}/members", i18n.gettext(error.detail), "error")
        return redirect(f"{pg.base}/members", i18n.gettext("Member removed."))

    @post("/invitations/{invitation_id:uuid}/revoke", opt=ADMIN_ONLY)
    async def revoke_invitation(self, pg: NamedDependency[Page], invitation_id: FromPath[uuid.UUID]) -> Redirect:
        _, error = await attempt(pg, lambda: access.revoke_invitation(pg.uow, _actor(pg), invitation_id))
        if error is not None:
            return redirect(f"{pg.base}/members", i18n.gettext(error.detail), "error")
        return redirect(f"{pg.base}/members", i18n.gettext("Invitation revoked."))


def _actor(pg: Page) -> access.Actor:
    assert pg.tenant is not None
    assert pg.role is not None
    assert pg.user is not None
    return access.Actor(tenant_id=pg.tenant.id, role=pg.role, user_id=pg.user.id)


def i18n_roles() -> list[str]:
    from backend.domains.identity.roles import Role

    return [r.value for r in Role]
