"""Hostile or sloppy requests get a 4xx problem+json, never a 500 and never a stack trace."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import assert_problem, error_fields, fetch
from tests.conftest import PASSWORD, Company, new_company

SLUG = "{slug}"  # filled with the module's company
PLATFORM_POSTS = ["/api/v1/signup", "/api/v1/auth/token", "/api/v1/auth/password-reset",
                  "/api/v1/auth/password-reset/confirm", "/api/v1/invitations/accept", "/api/v1/companies"]
TENANT_POSTS = [f"/api/v1/t/{SLUG}/invitations", f"/api/v1/t/{SLUG}/api-keys"]
ALL_POSTS = PLATFORM_POSTS + TENANT_POSTS


@pytest.fixture(scope="module")
async def target(database, settings) -> Company:
    return await new_company(settings)


def url(path: str, company: Company) -> str:
    return path.replace(SLUG, company.slug)


async def send(client, company: Company, method: str, path: str, **kwargs):
    headers = {**company.auth, **kwargs.pop("headers", {})}
    return await client.request(method, url(path, company), headers=headers, **kwargs)


@pytest.mark.parametrize("path", ALL_POSTS)
@pytest.mark.parametrize("raw", [b'{"email":', b"{'email': 'x'}", b"{,}", b"nul", b'{"a":1}}', b"\xff\xfe{}",
                                 b'{"email":"\xff@x.com","password":"aaaaaaaaaaaa"}'])
async def test_malformed_json_is_400(client, target, path, raw) -> None:
    response = await send(client, target, "POST", path, content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 400)


@pytest.mark.parametrize("path", ALL_POSTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
async def test_non_json_content_type_is_refused(client, target, path, content_type) -> None:
    response = await send(client, target, "POST", path, content=b"email=a%40b.cc&password=x",
                          headers={"content-type": content_type})
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("path", ALL_POSTS)
@pytest.mark.parametrize("payload", [[], ["a"], "text", 42, True, None])
async def test_non_object_bodies_are_4xx(client, target, path, payload) -> None:
    response = await send(client, target, "POST", path, content=json.dumps(payload).encode(),
                          headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("path", ALL_POSTS)
async def test_empty_body_is_4xx(client, target, path) -> None:
    response = await send(client, target, "POST", path, content=b"", headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert "'data'" not in response.text  # no raw Python error text leaks into the reason


CASES = [
    # (path, body, fields expected in errors)
    ("/api/v1/auth/token", {"email": 123, "password": "x"}, {"email"}),
    ("/api/v1/auth/token", {"email": "a@example.com", "password": None}, {"password"}),
    ("/api/v1/auth/token", {"email": "a@example.com"}, {"password"}),
    ("/api/v1/auth/token", {"email": "a@example.com", "password": "x", "remember_me": True}, {"remember_me"}),
    ("/api/v1/auth/token", {"email": "a@example.com", "password": ""}, {"password"}),
    ("/api/v1/auth/token", {"email": "x" * 300 + "@example.com", "password": "x"}, {"email"}),
    ("/api/v1/auth/token", {"email": "a\u0000@example.com", "password": "x"}, {"email"}),
    ("/api/v1/signup", {"company_name": "Co", "email": "a@example.com"}, {"password"}),
    ("/api/v1/signup", {"company_name": ["Co"], "email": "a@example.com", "password": PASSWORD}, {"company_name"}),
    ("/api/v1/signup", {"company_name": "Co", "email": "a@example.com", "password": PASSWORD, "role": "owner"},
     {"role"}),
    ("/api/v1/signup", {"company_name": "C" * 201, "email": "a@example.com", "password": PASSWORD},
     {"company_name"}),
    ("/api/v1/signup", {"company_name": "Co", "email": "a@example.com", "password": "p" * 257}, {"password"}),
    ("/api/v1/signup", {"company_name": "Co", "email": "a@example.com", "password": PASSWORD, "slug": 7}, {"slug"}),
    ("/api/v1/signup", {"company_name": "Nul\u0000Co", "email": "nul@example.com", "password": PASSWORD},
     {"company_name"}),
    ("/api/v1/signup", {"company_name": "Co", "email": "nul@example.com", "password": PASSWORD,
                        "full_name": "a\u0000b"}, {"full_name"}),
    ("/api/v1/auth/password-reset", {}, {"email"}),
    ("/api/v1/auth/password-reset", {"email": "a\u0000@example.com"}, {"email"}),
    ("/api/v1/auth/password-reset/confirm", {"token": "t" * 201, "password": PASSWORD}, {"token"}),
    ("/api/v1/auth/password-reset/confirm", {"token": "", "password": PASSWORD}, {"token"}),
    ("/api/v1/invitations/accept", {"password": PASSWORD}, {"token"}),
    ("/api/v1/invitations/accept", {"token": {"$ne": None}}, {"token"}),
    ("/api/v1/companies", {"company_name": 3}, {"company_name"}),
    (f"/api/v1/t/{SLUG}/invitations", {"email": "x@example.com"}, {"role"}),
    (f"/api/v1/t/{SLUG}/invitations", {"email": "x@example.com", "role": "r" * 17}, {"role"}),
    (f"/api/v1/t/{SLUG}/invitations", {"email": "x\u0000@example.com", "role": "viewer"}, {"email"}),
    (f"/api/v1/t/{SLUG}/invitations", {"email": "not-an-email", "role": "viewer"}, {"email"}),
    (f"/api/v1/t/{SLUG}/api-keys", {"name": "", "role": "viewer"}, {"name"}),
    (f"/api/v1/t/{SLUG}/api-keys", {"name": "n" * 101, "role": "viewer"}, {"name"}),
    (f"/api/v1/t/{SLUG}/api-keys", {"name": "k\u0000", "role": "viewer"}, {"name"}),
    (f"/api/v1/t/{SLUG}/api-keys", {"name": "k", "role": "viewer", "secret": "mine"}, {"secret"}),
]


@pytest.mark.parametrize(("path", "body", "fields"), CASES)
async def test_invalid_fields_are_422_naming_the_field(client, target, path, body, fields) -> None:
    response = await send(client, target, "POST", path, json=body)
    problem = assert_problem(response, 422)
    assert problem["errors"], problem
    assert error_fields(problem) == fields, problem


@pytest.mark.parametrize("body", [{"role": 5}, {"role": None}, {}, {"role": "viewer", "user_id": "x"}])
async def test_invalid_role_change_bodies_are_422(client, target, body) -> None:
    response = await send(client, target, "PATCH", f"/api/v1/t/{SLUG}/members/{target.user_id}", json=body)
    assert assert_problem(response, 422)["errors"]


@pytest.mark.parametrize("path", ["/api/v1/signup", "/api/v1/auth/token", f"/api/v1/t/{SLUG}/api-keys"])
async def test_body_over_the_limit_is_413(client, target, settings, path) -> None:
    assert settings.max_body_bytes == 1_048_576
    padding = b"a" * settings.max_body_bytes
    body = b'{"email":"' + padding + b'@example.com","password":"x"}'
    response = await send(client, target, "POST", path, content=body, headers={"content-type": "application/json"})
    assert_problem(response, 413, "body_too_large")


async def test_body_just_under_the_limit_is_parsed(client, target, settings) -> None:
    body = json.dumps({"email": "a@example.com", "password": "p" * (settings.max_body_bytes - 100)}).encode()
    assert len(body) < settings.max_body_bytes
    response = await send(client, target, "POST", "/api/v1/auth/token", content=body,
                          headers={"content-type": "application/json"})
    assert error_fields(assert_problem(response, 422)) == {"password"}  # too long a password, but parsed


@pytest.mark.parametrize("slug", [
    "no-such-company-here", "ALPHA", "x'; DROP TABLE shared.users;--", "1 OR 1=1", "t_00000000", "%00",
    "a" * 300, "%2e%2e", "..%2F..%2Fshared", "alpha%0A", "ålpha", "${jndi:ldap:x}", "public", "shared",
])
async def test_unknown_or_tricky_slugs_are_404(client, target, slug) -> None:
    for path in (f"/api/v1/t/{slug}/", f"/api/v1/t/{slug}/members", f"/api/v1/t/{slug}/api-keys"):
        response = await client.get(path, headers=target.auth)
        assert_problem(response, 404)
    assert await fetch("SELECT count(*) FROM shared.users")


async def test_existing_tenant_in_other_case_is_not_found(client, target) -> None:
    assert_problem(await client.get(f"/api/v1/t/{target.slug.upper()}/", headers=target.auth), 404)


@pytest.mark.parametrize("ident", ["not-a-uuid", "123", "0", "00000000-0000-0000-0000-00000000000g",
                                   "'%20OR%20'1'='1", "%2E%2E", "%00"])
@pytest.mark.parametrize(("method", "route"), [("PATCH", "members"), ("DELETE", "members"),
                                               ("DELETE", "invitations"), ("DELETE", "api-keys")])
async def test_non_uuid_ids_are_404(client, target, ident, method, route) -> None:
    kwargs = {"json": {"role": "viewer"}} if method == "PATCH" else {}
    response = await send(client, target, method, f"/api/v1/t/{SLUG}/{route}/{ident}", **kwargs)
    assert_problem(response, 404)


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "201"}, {"limit": "abc"}, {"limit": "-1"},
                                    {"cursor": "c" * 255}, {"cursor": "a\u0000"}])
async def test_bad_query_parameters_are_422(client, target, params) -> None:
    response = await send(client, target, "GET", f"/api/v1/t/{SLUG}/members", params=params)
    assert error_fields(assert_problem(response, 422)) == set(params)


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/me", "/api/v1/t/", "/api/v1/t", "/api/v1/me/extra",
                                  f"/api/v1/t/{SLUG}/nothing", "/api/v1/signup/%2E%2E/me"])
async def test_unknown_routes_are_404(client, target, path) -> None:
    assert_problem(await send(client, target, "GET", path), 404)


@pytest.mark.parametrize("path", ["/admin", "/.env", "/t/", "/wp-login.php"])
async def test_unknown_browser_paths_get_an_html_404_page(client, target, path) -> None:
    response = await send(client, target, "GET", path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/signup"), ("DELETE", "/api/v1/me"), ("PUT", "/api/v1/auth/token"),
    ("PATCH", "/api/v1/auth/logout"), ("PUT", f"/api/v1/t/{SLUG}/members"), ("POST", f"/api/v1/t/{SLUG}/"),
    ("GET", f"/api/v1/t/{SLUG}/members/00000000-0000-0000-0000-000000000000"),
])
async def test_wrong_method_is_405(client, target, method, path) -> None:
    response = await send(client, target, method, path)
    assert_problem(response, 405, "method_not_allowed")


async def test_problems_carry_the_request_id(client, target) -> None:
    response = await client.get("/api/v1/t/no-such-company-x/members",
                                headers={**target.auth, "X-Request-ID": "trace-abc-12345"})
    body = assert_problem(response, 404, "tenant_not_found")
    assert response.headers["x-request-id"] == "trace-abc-12345"
    assert body["request_id"] == "trace-abc-12345"
    assert body["instance"] == "/api/v1/t/no-such-company-x/members"
    # An id that is not safe to echo is replaced by a fresh one.
    response = await client.get("/api/v1/me", headers={"X-Request-ID": "bad id\twith spaces"})
    body = assert_problem(response, 401)
    assert body["request_id"] == response.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/signup"])
async def test_null_body_names_the_body_in_plain_words(client, path) -> None:
    response = await client.post(path, content=b"null", headers={"content-type": "application/json"})
    assert response.status_code in {400, 422}
    problem = assert_problem(response, response.status_code)
    assert "'data'" not in response.text
    if response.status_code == 422:
        assert [e["field"] for e in problem["errors"]] == ["body"]
        assert problem["errors"][0]["reason"] in {"a JSON object body is required", "Expected `object`, got `null`"}
