"""Sign-in, throttling, logout, token expiry and who may call /me."""

from __future__ import annotations

from backend.kit.secrets import token_digest
from tests.api.helpers import assert_problem, bearer, execute, fetch, new_email
from tests.conftest import PASSWORD


async def login(client, email: str, password: str = PASSWORD):
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def test_login_issues_a_working_token(client, company) -> None:
    response = await login(client, company.email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user_id"] == str(company.user_id)
    assert body["access_token"].startswith("tdm_at_")
    assert body["access_token"] != company.token
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == str(company.user_id)


async def test_wrong_password_and_unknown_account_look_the_same(client, company) -> None:
    wrong = assert_problem(await login(client, company.email, "Not-The-Password-1"), 401, "invalid_credentials")
    unknown = assert_problem(await login(client, new_email("ghost"), PASSWORD), 401, "invalid_credentials")
    assert wrong["detail"] == unknown["detail"]
    malformed = assert_problem(await login(client, "not-an-email", PASSWORD), 401, "invalid_credentials")
    assert malformed["detail"] == wrong["detail"]


async def test_account_is_throttled_after_five_failures_even_for_the_right_password(
    client, company, make_company, settings
) -> None:
    assert settings.login_max_failures_per_account == 5
    for _ in range(5):
        assert_problem(await login(client, company.email, "Wrong-Password-42"), 401, "invalid_credentials")
    limited = await login(client, company.email, PASSWORD)
    assert_problem(limited, 429, "rate_limited")
    retry_after = int(limited.headers["retry-after"])
    assert 1 <= retry_after <= settings.login_window_seconds
    # Still refused with the right password, and the account key ignores case and spaces.
    assert_problem(await login(client, f" {company.email.upper()} ", PASSWORD), 429, "rate_limited")
    # Another account from the same address is unaffected: the limit is per account.
    other = await make_company()
    assert (await login(client, other.email)).status_code == 200
    # Existing tokens keep working: throttling guards sign-in only.
    assert (await client.get("/api/v1/me", headers=company.auth)).status_code == 200


async def test_success_resets_the_account_counter(client, company) -> None:
    for _ in range(4):
        assert_problem(await login(client, company.email, "Wrong-Password-42"), 401)
    assert (await login(client, company.email)).status_code == 200
    for _ in range(4):
        assert_problem(await login(client, company.email, "Wrong-Password-42"), 401)
    assert (await login(client, company.email)).status_code == 200


async def test_address_is_throttled_after_its_limit_across_accounts(client, ip_limited_client, make_company) -> None:
    victims = [await make_company() for _ in range(4)]
    for victim in victims[:3]:
        assert_problem(await login(ip_limited_client, victim.email, "Wrong-Password-42"), 401, "invalid_credentials")
    # The fourth account never failed, yet this address is now refused, right password or not.
    limited = await login(ip_limited_client, victims[3].email)
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    # From another address the same account signs in: the limit was on the address.
    assert (await login(client, victims[3].email)).status_code == 200
    assert (await login(client, victims[0].email)).status_code == 200


async def test_logout_revokes_only_the_current_token(client, company) -> None:
    second = (await login(client, company.email)).json()["access_token"]
    assert (await client.post("/api/v1/auth/logout", headers=company.auth)).status_code == 204
    revoked = await client.get("/api/v1/me", headers=company.auth)
    assert_problem(revoked, 401, "invalid_token")
    assert revoked.headers["www-authenticate"] == "Bearer"
    assert_problem(await client.get(f"/api/v1/t/{company.slug}/", headers=company.auth), 401, "invalid_token")
    assert_problem(await client.post("/api/v1/auth/logout", headers=company.auth), 401, "invalid_token")
    assert (await client.get("/api/v1/me", headers=bearer(second))).status_code == 200
    row = await fetch("SELECT revoked_at FROM shared.access_tokens WHERE token_hash = :h",
                      h=token_digest(company.token))
    assert row[0][0] is not None


async def test_expired_token_is_refused(client, company) -> None:
    assert (await client.get("/api/v1/me", headers=company.auth)).status_code == 200
    changed = await execute("UPDATE shared.access_tokens SET expires_at = now() - interval '1 second' "
                            "WHERE token_hash = :h", h=token_digest(company.token))
    assert changed == 1
    assert_problem(await client.get("/api/v1/me", headers=company.auth), 401, "invalid_token")
    assert_problem(await client.get(f"/api/v1/t/{company.slug}/members", headers=company.auth), 401, "invalid_token")


async def test_missing_or_garbage_credentials_are_401(client, alpha) -> None:
    assert_problem(await client.get("/api/v1/me"), 401, "unauthorized")
    assert_problem(await client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert_problem(await client.get("/api/v1/me", headers=bearer("tdm_at_not-a-real-token")), 401, "invalid_token")
    assert_problem(await client.get("/api/v1/me", headers=bearer("x" * 5000)), 401, "invalid_token")
    assert_problem(await client.get("/api/v1/me", headers={"X-API-Key": "tdm_sk_nope"}), 401, "invalid_api_key")
    # A token's hash is not a token.
    assert_problem(await client.get("/api/v1/me", headers=bearer(token_digest(alpha.token))), 401, "invalid_token")


async def test_api_key_cannot_act_as_a_user(client, company) -> None:
    created = await client.post(f"/api/v1/t/{company.slug}/api-keys", json={"name": "ci", "role": "admin"},
                                headers=company.auth)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    for headers in (bearer(secret), {"X-API-Key": secret}):
        assert_problem(await client.get("/api/v1/me", headers=headers), 403, "user_token_required")
        assert_problem(await client.post("/api/v1/auth/logout", headers=headers), 403, "user_token_required")
        assert_problem(await client.post("/api/v1/companies", json={"company_name": "Via Key"}, headers=headers),
                       403, "user_token_required")
    # The key itself is fine on tenant routes.
    info = await client.get(f"/api/v1/t/{company.slug}/", headers={"X-API-Key": secret})
    assert info.status_code == 200
    assert info.json()["your_role"] == "admin"
