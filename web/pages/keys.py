"""API keys of a company at /t/{slug}/api-keys: list, create (the secret is shown once), revoke. Owners and admins."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.identity import access
from backend.domains.identity.roles import Role, can_grant
from web import i18n
from web.context import Page, tenant_page
from web.pages.tenant import ADMIN_ONLY
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]
NO_STORE = {"Cache-Control": "no-store"}


class ApiKeyPages(Controller):
    path = "/t/{tenant_slug:str}"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/api-keys", opt=ADMIN_ONLY)
    async def keys(self, pg: NamedDependency[Page]) -> Template:
        return await _keys_page(pg, errors={}, values={})

    @post("/api-keys", opt=ADMIN_ONLY)
    async def create(self, pg: NamedDependency[Page], data: Form) -> Template:
        values = {"name": str(data.get("name", "")).strip(), "role": str(data.get("role", ""))}
        created, error = await attempt(pg, lambda: access.create_api_key(pg.uow, _actor(pg), values["name"],
                                                                         values["role"]))
        if error is not None or created is None:
            assert error is not None
            return await _keys_page(pg, errors=field_errors(error), values=values, status=error.status)
        key, secret = created
        # The secret exists only in this response: never in a cookie, a log or a cache.
        response = await _keys_page(pg, errors={}, values={}, status=201,
                                    created={"name": key.name, "secret": secret})
        response.headers.update(NO_STORE)
        return response

    @post("/api-keys/{key_id:uuid}/revoke", opt=ADMIN_ONLY)
    async def revoke(self, pg: NamedDependency[Page], key_id: FromPath[uuid.UUID]) -> Redirect:
        key, error = await attempt(pg, lambda: access.revoke_api_key(pg.uow, _actor(pg), key_id))
        if error is not None or key is None:
            assert error is not None
            return redirect(f"{pg.base}/api-keys", i18n.gettext(error.detail), "error")
        return redirect(f"{pg.base}/api-keys", i18n.gettext("API key revoked."))


async def _keys_page(pg: Page, errors: dict[str, str], values: dict[str, str], status: int = 200,
                     created: dict[str, Any] | None = None) -> Template:
    assert pg.tenant is not None
    keys = await access.list_api_keys(pg.uow, pg.tenant.id)
    grantable = [r.value for r in Role if pg.role and can_grant(pg.role, r.value)]
    return render(pg, "app/api_keys.html", status=status, keys=keys, grantable=grantable, errors=errors,
                  values=values, created=created)


def _actor(pg: Page) -> access.Actor:
    assert pg.tenant is not None
    assert pg.role is not None
    assert pg.user is not None
    return access.Actor(tenant_id=pg.tenant.id, role=pg.role, user_id=pg.user.id)
