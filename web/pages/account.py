"""The signed-in user's profile: language, time zone, password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.company.service import timezones
from backend.domains.identity import accounts, passwords
from backend.kit.errors import FieldError, Invalid
from web import i18n
from web.context import LoginRequired, Page, page
from web.render import attempt, field_errors, redirect, render
from web.session import start_session

Form = URLEncodedBody[dict[str, str]]
TIMEZONES = timezones()  # the full IANA list, as on the company settings page


class AccountPages(Controller):
    path = "/profile"
    dependencies = {"pg": Provide(page)}
    include_in_schema = False

    @get("/")
    async def profile(self, pg: NamedDependency[Page]) -> Template:
        _require_user(pg)
        return render(pg, "app/profile.html", errors={}, timezones=TIMEZONES)

    @post("/")
    async def save(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        user = _require_user(pg)

        async def update() -> None:
            language, zone = str(data.get("locale", "")), str(data.get("timezone", ""))
            full_name = str(data.get("full_name", "")).strip()
            errors = []
            if language not in i18n.LANGUAGES:
                errors.append(FieldError("locale", "Choose one of the offered languages."))
            if not i18n.is_valid_timezone(zone):
                errors.append(FieldError("timezone", "Unknown time zone."))
            if len(full_name) > 200:
                errors.append(FieldError("full_name", "At most 200 characters."))
            if errors:
                raise Invalid("Please correct the highlighted fields.", errors)
            user.locale, user.timezone, user.full_name = language, zone, full_name
            await pg.uow.flush()

        _, error = await attempt(pg, update)
        if error is not None:
            return render(pg, "app/profile.html", status=error.status, errors=field_errors(error), timezones=TIMEZONES)
        i18n.current_locale.set(user.locale)
        return redirect("/profile/", i18n.gettext("Profile saved."))

    @post("/password")
    async def change_password(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        user = _require_user(pg)
        settings = pg.request.app.state.settings

        async def change() -> Any:
            if not await passwords.verify_password(user.password_hash, str(data.get("current_password", ""))):
                raise Invalid("Your current password is not correct.",
                              [FieldError("current_password", "not correct")], "wrong_password")
            await accounts.set_password(pg.uow, user, str(data.get("new_password", "")).strip() and
                                        str(data.get("new_password", "")))
            return await accounts.issue_access_token(pg.uow, user, settings.access_token_ttl_seconds)

        issued, error = await attempt(pg, change)
        if error is not None or issued is None:
            assert error is not None
            errors = field_errors(error)
            if "password" in errors:
                errors["new_password"] = errors.pop("password")
            return render(pg, "app/profile.html", status=error.status, errors=errors, timezones=TIMEZONES)
        # Every other session was revoked with the old password; this browser gets a fresh one.
        response = redirect("/profile/", i18n.gettext("Password changed. Other sessions were signed out."))
        start_session(response, issued.token, issued.expires_at, settings)
        return response


def _require_user(pg: Page) -> Any:
    if pg.user is None:
        raise LoginRequired(pg.request.url.path)
    return pg.user
