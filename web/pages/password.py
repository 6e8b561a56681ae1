"""Forgotten password: ask for a reset link by email, then choose a new password from the link."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.identity import accounts
from web import i18n
from web.context import Page, page
from web.render import attempt, field_errors, redirect, render
from web.session import end_session

Form = URLEncodedBody[dict[str, str]]
# The link carries a secret: keep it out of caches and out of Referer headers.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _ip(pg: Page) -> str:
    return pg.request.client.host if pg.request.client else "unknown"


class PasswordPages(Controller):
    path = "/"
    dependencies = {"pg": Provide(page)}
    include_in_schema = False

    @get("/password-reset")
    async def request_form(self, pg: NamedDependency[Page]) -> Template:
        return render(pg, "public/reset_request.html", values={}, errors={}, sent=False)

    @post("/password-reset")
    async def request_reset(self, pg: NamedDependency[Page], data: Form) -> Template:
        email = str(data.get("email", "")).strip()

        async def request() -> None:
            await pg.request.app.state.reset_limit.hit(_ip(pg))  # as the API: per network, counted first
            accounts.normalize_email(email)  # a malformed address is a typo worth showing; existence is not
            user = await accounts.reset_target(pg.uow, email)
            if user is not None:
                # Exactly as the API: the job mints the token itself; the id dedups bursts within a minute.
                bucket = int(time.time() // 60)
                pg.uow.enqueue("send_password_reset", f"password-reset:{user.id}:{bucket}", user_id=str(user.id))

        _, error = await attempt(pg, request)
        if error is not None:
            response = render(pg, "public/reset_request.html", status=error.status, values={"email": email},
                              errors=field_errors(error), sent=False)
            response.headers.update(error.headers)  # Retry-After when rate limited
            return response
        ttl_minutes = pg.request.app.state.settings.password_reset_ttl_seconds // 60
        return render(pg, "public/reset_request.html", values={}, errors={}, sent=True, ttl_minutes=ttl_minutes)

    @get("/reset-password/{token:str}")
    async def confirm_form(self, pg: NamedDependency[Page], token: FromPath[str]) -> Template:
        response = render(pg, "public/reset_confirm.html", token=token, errors={})
        response.headers.update(PRIVATE)
        return response

    @post("/reset-password/{token:str}")
    async def confirm(self, pg: NamedDependency[Page], token: FromPath[str], data: Form) -> Template | Redirect:
        password = str(data.get("password", ""))
        _, error = await attempt(pg, lambda: accounts.finish_password_reset(pg.uow, token, password))
        if error is not None:
            errors: dict[str, Any] = field_errors(error)
            response = render(pg, "public/reset_confirm.html", status=error.status, token=token, errors=errors,
                              expired="token" in errors)
            response.headers.update(PRIVATE)
            return response
        # Every session of the account was revoked with the old password, this browser's included.
        response_ok = redirect("/login", i18n.gettext("Your password was changed. Log in with the new one."))
        end_session(response_ok)
        return response_ok
