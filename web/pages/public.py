"""Public pages: landing, signup, login, logout, language, company chooser, invitations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.billing.plans import PLANS
from backend.domains.identity import access, accounts
from backend.kit.errors import DomainError, Unauthorized
from tenants import onboarding
from tenants.naming import is_valid_slug, suggest_slug
from tenants.provisioning import slug_taken
from tenants.registry import registry
from web import i18n
from web.context import Page, page, safe_next
from web.render import attempt, field_errors, redirect, render
from web.session import end_session, start_session

LANG_COOKIE = "tandem_lang"
Form = URLEncodedBody[dict[str, str]]
NO_SCHEMA = {"include_in_schema": False}


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class PublicPages(Controller):
    path = "/"
    dependencies = {"pg": Provide(page)}
    include_in_schema = False

    @get("/")
    async def landing(self, pg: NamedDependency[Page]) -> Template:
        return render(pg, "public/landing.html", plans=PLANS)

    @get("/signup")
    async def signup_form(self, pg: NamedDependency[Page], plan: FromQuery[str | None] = None) -> Template:
        return render(pg, "public/signup.html", plans=PLANS, values={"plan": plan or "starter"}, errors={})

    @post("/signup")
    async def signup(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        settings = _settings(pg.request)
        values = {k: str(v).strip() for k, v in data.items() if k != "password"}
        async def sign_up() -> Any:
            await pg.request.app.state.signup_limit.hit(_ip(pg.request))
            return await onboarding.signup(
                pg.uow, company_name=values.get("company_name", ""), email=values.get("email", ""),
                password=str(data.get("password", "")), slug=values.get("slug") or None,
                full_name=values.get("full_name", ""), token_ttl_seconds=settings.access_token_ttl_seconds,
                locale=i18n.current_locale.get(), plan_code=values.get("plan") or None,
            )

        result, error = await attempt(pg, sign_up)
        if error is not None or result is None:
            assert error is not None
            return render(pg, "public/signup.html", status=error.status, plans=PLANS, values=values,
                          errors=field_errors(error))
        response = redirect(f"/t/{result.tenant.slug}/", i18n.gettext("Welcome to Tandem! Your company is ready."))
        start_session(response, result.token.token, result.token.expires_at, settings)
        return response

    @get("/signup/slug")
    async def slug_check(
        self, pg: NamedDependency[Page], slug: FromQuery[str] = "", company_name: FromQuery[str] = ""
    ) -> Template:
        """htmx: suggest an address from the company name and say whether it is free."""
        candidate = (slug or suggest_slug(company_name) if (slug or company_name) else "").strip().lower()
        if not candidate:
            state = "empty"
        elif not is_valid_slug(candidate):
            state = "invalid"
        elif await slug_taken(pg.uow, candidate):
            state = "taken"
        else:
            state = "free"
        return render(pg, "public/_slug_status.html", slug=candidate, state=state, suggested=not slug)

    @get("/login")
    async def login_form(self, pg: NamedDependency[Page], next: FromQuery[str | None] = None) -> Template:
        return render(pg, "public/login.html", values={"next": safe_next(next, "")}, errors={})

    @post("/login")
    async def login(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        settings = _settings(pg.request)
        throttle = pg.request.app.state.throttle
        email, password = str(data.get("email", "")).strip(), str(data.get("password", ""))
        values = {"email": email, "next": safe_next(data.get("next"), "")}

        async def sign_in() -> Any:
            await throttle.attempt(email, _ip(pg.request))
            user = await accounts.authenticate(pg.uow, email, password)
            if user is None:
                raise Unauthorized("Wrong email or password.", "invalid_credentials")
            await throttle.succeeded(email, _ip(pg.request))
            return await accounts.issue_access_token(pg.uow, user, settings.access_token_ttl_seconds)

        issued, error = await attempt(pg, sign_in)
        if error is not None or issued is None:
            assert error is not None
            return render(pg, "public/login.html", status=error.status, values=values, errors=field_errors(error))
        response = redirect(safe_next(values["next"], "/companies"))
        start_session(response, issued.token, issued.expires_at, settings)
        return response

    @post("/logout")
    async def logout(self, pg: NamedDependency[Page]) -> Redirect:
        if pg.token_id is not None:
            await accounts.revoke_token(pg.uow, pg.token_id)
        response = redirect("/login", i18n.gettext("You are logged out."))
        end_session(response)
        return response

    @post("/language")
    async def language(self, pg: NamedDependency[Page], data: Form) -> Redirect:
        choice = str(data.get("language", ""))
        if choice not in i18n.LANGUAGES:
            return redirect(safe_next(data.get("next")))
        if pg.user is not None:
            pg.user.locale = choice
            await pg.uow.flush()
        response = redirect(safe_next(data.get("next")))
        response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, samesite="lax", path="/", httponly=True)
        return response

    @get("/companies")
    async def companies(self, pg: NamedDependency[Page]) -> Template | Redirect:
        if pg.user is None:
            return Redirect("/login?next=/companies", status_code=303)
        rows = []
        for membership in await access.memberships_of(pg.uow, pg.user.id):
            tenant = await registry.by_id(membership.tenant_id)
            if tenant is not None:
                rows.append((tenant, membership.role))
        if len(rows) == 1 and rows[0][0].active and not pg.request.query_params.get("all"):
            return Redirect(f"/t/{rows[0][0].slug}/", status_code=303)
        return render(pg, "public/companies.html", companies=rows)

    @get("/invite/{token:str}")
    async def invitation(self, pg: NamedDependency[Page], token: FromPath[str]) -> Template:
        return render(pg, "public/invite.html", token=token, values={}, errors={})

    @post("/invite/{token:str}")
    async def accept(self, pg: NamedDependency[Page], token: FromPath[str], data: Form) -> Template | Redirect:
        settings = _settings(pg.request)
        values = {"full_name": str(data.get("full_name", "")).strip()}

        async def accept() -> Any:
            user, membership = await access.accept_invitation(
                pg.uow, token, user=pg.user, password=None if pg.user else str(data.get("password", "")),
                full_name=values["full_name"],
            )
            issued = None if pg.user else await accounts.issue_access_token(
                pg.uow, user, settings.access_token_ttl_seconds)
            return membership, issued

        result, error = await attempt(pg, accept)
        if error is not None or result is None:
            assert error is not None
            return render(pg, "public/invite.html", status=error.status, token=token, values=values,
                          errors=field_errors(error))
        membership, issued = result
        tenant = await registry.by_id(membership.tenant_id)
        assert tenant is not None
        response = redirect(f"/t/{tenant.slug}/", i18n.gettext("Welcome aboard! You joined the company."))
        if issued is not None:
            start_session(response, issued.token, issued.expires_at, settings)
        return response


def language_cookie(request: Request[Any, Any, Any]) -> str | None:
    value = request.cookies.get(LANG_COOKIE)
    return value if value in i18n.LANGUAGES else None


__all__ = ["DomainError", "PublicPages", "language_cookie"]
