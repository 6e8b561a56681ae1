"""Every tenant route of the app, present and future, refuses a credential of another tenant.

The routes are read from the app itself, so a route added by a later feature is covered without editing this
file: for each method of each ``/api/v1/t/{tenant_slug}/…`` route, alpha's owner token against beta's slug must
answer exactly what the same request answers for a tenant that does not exist (404 ``tenant_not_found``, same
body), and never a success. The staff pages under ``/t/{slug}/…`` are checked the same way for GET.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar

from backend.app import create_app
from tests.tenancy.test_membership import comparable
from web.session import SESSION_COOKIE

PARAM = re.compile(r"\{([a-z_]+)(?::([a-z]+))?\}")


def _fill(path: str, slug: str) -> str:
    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name in {"tenant_slug", "slug"}:
            return slug
        if kind == "int":
            return "1"
        return str(uuid.UUID(int=0x7E57))  # a syntactically valid id that exists nowhere

    return PARAM.sub(value, path)


def _routes(app: Litestar, prefix: str) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        if not route.path.startswith(prefix):
            continue
        for method in sorted(getattr(route, "methods", set()) - {"OPTIONS", "HEAD"}):
            yield method, route.path


def _headline(page: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    return (title.group(1).strip() if title else "", h1.group(1).strip() if h1 else "")


@pytest.fixture(scope="module")
def app_routes(settings, database) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    app = create_app(settings, database=database)
    api = sorted(set(_routes(app, "/api/v1/t/{tenant_slug")))
    pages = sorted({(m, p) for m, p in _routes(app, "/t/{") if m == "GET"})
    return api, pages


def test_the_route_list_is_not_empty(app_routes) -> None:
    api, pages = app_routes
    assert len(api) >= 20, api  # members, keys, accounts, contacts, deals, …
    assert any("/accounts" in path for _, path in api)
    assert pages, "staff pages under /t/{slug}/ are expected"


async def test_every_api_route_answers_a_foreign_token_like_an_unknown_tenant(client, app_routes, alpha,
                                                                               beta) -> None:
    api, _ = app_routes
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    checked = 0
    for method, path in api:
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        foreign = await client.request(method, _fill(path, beta.slug), headers=alpha.auth, json=body)
        unknown = await client.request(method, _fill(path, missing), headers=alpha.auth, json=body)
        assert foreign.status_code < 200 or foreign.status_code >= 400, (method, path, foreign.text)
        # a request refused before the tenant is resolved (a missing query parameter) names the path: blank it
        seen_foreign = str(comparable(foreign)).replace(beta.slug, "<slug>")
        seen_unknown = str(comparable(unknown)).replace(missing, "<slug>")
        assert (foreign.status_code, seen_foreign) == (unknown.status_code, seen_unknown), (
            method, path, foreign.text, unknown.text)
        checked += 1
    assert checked == len(api)
    # control: the same token opens alpha's own list routes
    own = await client.get(f"/api/v1/t/{alpha.slug}/accounts", headers=alpha.auth)
    assert own.status_code == 200, own.text


async def test_every_staff_page_answers_a_foreign_session_like_an_unknown_tenant(client: httpx.AsyncClient,
                                                                                app_routes, alpha, beta) -> None:
    _, pages = app_routes
    session = {"Cookie": f"{SESSION_COOKIE}={alpha.token}"}
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    for method, path in pages:
        client.cookies.clear()
        foreign = await client.request(method, _fill(path, beta.slug), headers=session)
        client.cookies.clear()
        unknown = await client.request(method, _fill(path, missing), headers=session)
        assert foreign.status_code == unknown.status_code == 404, (path, foreign.status_code, unknown.status_code)
        assert _headline(foreign.text) == _headline(unknown.text), path
    client.cookies.clear()
