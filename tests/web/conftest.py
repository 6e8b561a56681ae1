"""Browser-like helpers for the page tests: a fresh cookie jar per test, CSRF tokens read from the forms.

Every test gets its own ``httpx.AsyncClient`` on the session app's transport, so
cookies (session, CSRF, flash, language) never leak from one test into another.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import run_worker, smtp  # noqa: F401  (fixtures for the reset mail flow)
from tests.api.helpers import Member, add_member, fetch, scalar
from tests.conftest import Company

SESSION = "tandem_session"
CSRF = "tandem_csrf"
FLASH = "tandem_flash"
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


class Browser:
    """One visitor: a cookie jar, GETs pages and submits their forms with the CSRF token they carry."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def csrf(self, page: str = "/login") -> str:
        """The token of a form on ``page`` (the CSRF cookie comes with the first page)."""
        response = await self.get(page)
        found = CSRF_INPUT.search(response.text)
        assert found, (page, response.status_code, response.text[:500])
        return html.unescape(found.group(1))

    async def submit(self, page: str, action: str | None = None, data: dict[str, Any] | None = None,
                     **kwargs: Any) -> httpx.Response:
        """GET ``page``, then POST ``data`` plus its CSRF token to ``action`` (default: the page itself)."""
        token = await self.csrf(page)
        return await self.post(action or page, {**(data or {}), "_csrf_token": token}, **kwargs)

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]], **kwargs: Any) -> httpx.Response:
        """A raw form POST, without fetching a token (for the CSRF tests)."""
        return await self.http.post(path, data=data, **kwargs)  # type: ignore[arg-type]

    def sign_in(self, token: str) -> Browser:
        """Use an existing access token as this browser's session cookie."""
        self.http.cookies.set(SESSION, token, domain="127.0.0.1")
        return self

    @property
    def session(self) -> str | None:
        return self.http.cookies.get(SESSION)

    def flash(self, response: httpx.Response) -> str:
        """The flash message a redirect carries (decoded JSON text)."""
        import json
        from urllib.parse import unquote

        raw = response.cookies.get(FLASH)
        assert raw, response.headers
        return " ".join(item["text"] for item in json.loads(unquote(raw)))


@pytest.fixture
async def new_browser(client: httpx.AsyncClient) -> AsyncIterator[Callable[[], Browser]]:
    """Open as many independent browsers as a test needs (each with its own cookies)."""
    opened: list[httpx.AsyncClient] = []

    def open_browser() -> Browser:
        http = httpx.AsyncClient(transport=client._transport, base_url="http://127.0.0.1")
        opened.append(http)
        return Browser(http)

    yield open_browser
    for http in opened:
        await http.aclose()


@pytest.fixture
def browser(new_browser: Callable[[], Browser]) -> Browser:
    """An anonymous browser."""
    return new_browser()


@pytest.fixture
def owner(new_browser: Callable[[], Browser], company: Company) -> Browser:
    """The owner of a fresh company, signed in."""
    return new_browser().sign_in(company.token)


@pytest.fixture
def member_of(new_browser: Callable[[], Browser]) -> Callable[[Company, str], Awaitable[tuple[Browser, Member]]]:
    """A new user with ``role`` in the company, signed in in a browser of their own."""

    async def make(company: Company, role: str) -> tuple[Browser, Member]:
        member = await add_member(company.tenant.id, role)
        return new_browser().sign_in(member.token), member

    return make


def lang_of(response: httpx.Response) -> str:
    found = HTML_LANG.search(response.text)
    assert found, response.text[:300]
    return found.group(1)


def assert_page(response: httpx.Response, status: int, *texts: str) -> str:
    """An HTML page with this status that shows every one of ``texts`` (HTML-unescaped)."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert "Traceback" not in response.text
    shown = html.unescape(response.text)
    for text in texts:
        assert text in shown, (text, shown[:3000])
    return shown


def assert_redirect(response: httpx.Response, location: str) -> None:
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    assert response.headers["location"] == location, response.headers


async def audit_rows(tenant_id: Any, action: str) -> list[Any]:
    return await fetch("SELECT actor_user_id, details FROM shared.audit_events WHERE tenant_id = :t AND action = :a"
                       " ORDER BY id", t=tenant_id, a=action)


async def row_counts() -> dict[str, int]:
    """Rows a page action could write anywhere on the platform."""
    tables = ("tenants", "users", "memberships", "invitations", "api_keys", "audit_events", "access_tokens",
              "password_resets")
    return {t: int(await scalar(f"SELECT count(*) FROM shared.{t}")) for t in tables}


__all__ = ["Browser", "assert_page", "assert_redirect", "audit_rows", "lang_of", "row_counts"]
