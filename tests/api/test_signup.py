"""POST /api/v1/signup: a company, its owner and a working token, all or nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.api.helpers import assert_problem, bearer, error_fields, fetch, footprint, new_email
from tests.conftest import PASSWORD, unique


def signup_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"company_name": f"Company {unique('su')}", "email": new_email("signup"),
                               "password": PASSWORD, "slug": unique("su")}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def test_signup_returns_tenant_and_a_token_that_works(client) -> None:
    slug = unique("signup")
    email = new_email("founder")
    response = await client.post("/api/v1/signup", json=signup_body(slug=slug, email=email, full_name="Ada"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tenant"]["slug"] == slug
    tenant_id = uuid.UUID(body["tenant"]["id"])
    assert body["access_token"].startswith("tdm_at_")
    assert body["token_type"] == "bearer"

    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    assert me.json()["full_name"] == "Ada"
    assert [(m["tenant"]["slug"], m["role"]) for m in me.json()["memberships"]] == [(slug, "owner")]

    info = await client.get(f"/api/v1/t/{slug}/", headers=bearer(body["access_token"]))
    assert info.status_code == 200, info.text
    assert info.json()["id"] == str(tenant_id)
    assert info.json()["your_role"] == "owner"
    assert info.json()["status"] == "active"

    schema = (await fetch("SELECT schema_name FROM shared.tenants WHERE id = :id", id=tenant_id))[0][0]
    assert schema == f"t_{tenant_id.hex}"
    assert await fetch("SELECT 1 FROM pg_namespace WHERE nspname = :s", s=schema)


async def test_email_is_normalised_and_login_works_with_any_case(client) -> None:
    local = unique("MiXeD")
    response = await client.post("/api/v1/signup", json=signup_body(email=f"  {local}@Example.COM "))
    assert response.status_code == 201, response.text
    me = await client.get("/api/v1/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == f"{local.lower()}@example.com"
    login = await client.post("/api/v1/auth/token", json={"email": f"{local.upper()}@EXAMPLE.com",
                                                          "password": PASSWORD})
    assert login.status_code == 200, login.text


async def test_slug_is_suggested_from_the_company_name(client) -> None:
    tag = uuid.uuid4().hex[:8]
    response = await client.post("/api/v1/signup", json=signup_body(slug=None,
                                                                    company_name=f"Müller Widgets & Co {tag}"))
    assert response.status_code == 201, response.text
    assert response.json()["tenant"]["slug"] == f"muller-widgets-co-{tag}"
    assert response.json()["tenant"]["name"] == f"Müller Widgets & Co {tag}"


async def test_taken_slug_is_a_409_on_the_slug_field_and_writes_nothing(client, alpha) -> None:
    email = new_email("late")
    before = await footprint()
    response = await client.post("/api/v1/signup", json=signup_body(slug=alpha.slug, email=email))
    body = assert_problem(response, 409, "slug_taken")
    assert error_fields(body) == {"slug"}
    # The user row was flushed before the slug check failed: the rollback must take it away too.
    assert await footprint() == before
    assert not await fetch("SELECT 1 FROM shared.users WHERE email = :e", e=email)


async def test_taken_email_is_a_409_and_writes_nothing(client, alpha) -> None:
    slug = unique("dupmail")
    before = await footprint()
    response = await client.post("/api/v1/signup", json=signup_body(email=alpha.email.upper(), slug=slug))
    body = assert_problem(response, 409, "email_taken")
    assert error_fields(body) == {"email"}
    assert await footprint() == before
    assert not await fetch("SELECT 1 FROM shared.tenants WHERE slug = :s", s=slug)


@pytest.mark.parametrize("password", ["short1!", "aaaaaaaaaaaaaa", "abababababab", "password123", "PASSWORD123"])
async def test_weak_password_is_422_on_password(client, password) -> None:
    email, slug = new_email("weak"), unique("weak")
    before = await footprint()
    response = await client.post("/api/v1/signup", json=signup_body(email=email, slug=slug, password=password))
    body = assert_problem(response, 422, "weak_password")
    assert error_fields(body) == {"password"}
    assert await footprint() == before


@pytest.mark.parametrize("address", ["not-an-email", "a@b", "two@@example.com", "space in@example.com",
                                     "x@-bad-.com", "@example.com"])
async def test_bad_email_is_422_on_email(client, address) -> None:
    before = await footprint()
    response = await client.post("/api/v1/signup", json=signup_body(email=address))
    body = assert_problem(response, 422, "invalid_email")
    assert error_fields(body) == {"email"}
    assert await footprint() == before


@pytest.mark.parametrize("slug", ["api", "admin", "www", "-dash", "dash-", "a", "dou--ble",
                                  "x" * 41, "t_schema", "sp ace"])
async def test_reserved_or_malformed_slug_is_422_on_slug(client, slug) -> None:
    email = new_email("slug")
    before = await footprint()
    response = await client.post("/api/v1/signup", json=signup_body(slug=slug, email=email))
    body = assert_problem(response, 422)
    assert error_fields(body) == {"slug"}
    assert await footprint() == before
    assert not await fetch("SELECT 1 FROM shared.users WHERE email = :e", e=email)


@pytest.mark.parametrize("name", ["", " ", "x"])
async def test_company_name_too_short_is_422(client, name) -> None:
    before = await footprint()
    body = assert_problem(await client.post("/api/v1/signup", json=signup_body(company_name=name)), 422)
    assert error_fields(body) == {"company_name"}
    assert await footprint() == before


async def test_concurrent_signups_for_one_slug_give_one_company_and_one_conflict(client) -> None:
    slug = unique("race")
    emails = [new_email("racer") for _ in range(2)]
    before = await footprint()
    responses = await asyncio.gather(*(client.post("/api/v1/signup", json=signup_body(slug=slug, email=e))
                                       for e in emails))
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert "slug" in error_fields(assert_problem(loser, 409))
    tenants, users, memberships, schemas = await footprint()
    assert (tenants, users, memberships, schemas) == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)


async def test_concurrent_signups_for_one_email_give_one_account_and_one_conflict(client) -> None:
    email = new_email("twin")
    before = await footprint()
    responses = await asyncio.gather(*(client.post("/api/v1/signup", json=signup_body(email=email))
                                       for _ in range(2)))
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert "email" in error_fields(assert_problem(loser, 409))
    assert await footprint() == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
