"""Invitations: issue, accept (new or signed-in user), and every way one stops being valid."""

from __future__ import annotations

from tests.api.helpers import add_member, assert_problem, bearer, error_fields, execute, fetch, new_email
from tests.conftest import PASSWORD

NEW_PASSWORD = "Brand-New-Member-77"


async def invite(client, company, email: str, role: str = "manager", headers: dict[str, str] | None = None):
    return await client.post(f"/api/v1/t/{company.slug}/invitations", json={"email": email, "role": role},
                             headers=headers or company.auth)


async def accept(client, token: str, headers: dict[str, str] | None = None, **body: object):
    return await client.post("/api/v1/invitations/accept", json={"token": token, **body}, headers=headers or {})


async def test_new_user_accepts_and_can_sign_in_with_that_role(client, company) -> None:
    email = new_email("invitee")
    issued = await invite(client, company, email.upper(), "accountant")
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["email"] == email
    assert body["role"] == "accountant"
    assert body["token"].startswith("tdm_inv_")
    assert body["accept_url"].endswith(f"/invite/{body['token']}")
    pending = (await client.get(f"/api/v1/t/{company.slug}/invitations", headers=company.auth)).json()
    assert [(p["id"], p.get("token")) for p in pending] == [(body["id"], None)]  # the secret is shown once

    accepted = await accept(client, body["token"], password=NEW_PASSWORD, full_name="Grace")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "accountant"
    assert accepted.json()["tenant"]["slug"] == company.slug

    login = await client.post("/api/v1/auth/token", json={"email": email, "password": NEW_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    me = (await client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["full_name"] == "Grace"
    assert [(m["tenant"]["slug"], m["role"]) for m in me["memberships"]] == [(company.slug, "accountant")]
    info = await client.get(f"/api/v1/t/{company.slug}/", headers=bearer(token))
    assert info.status_code == 200
    assert info.json()["your_role"] == "accountant"
    members = (await client.get(f"/api/v1/t/{company.slug}/members", headers=company.auth)).json()["items"]
    assert {(m["email"], m["role"]) for m in members} == {(company.email, "owner"), (email, "accountant")}
    assert (await client.get(f"/api/v1/t/{company.slug}/invitations", headers=company.auth)).json() == []


async def test_accepting_twice_is_invalid(client, company) -> None:
    token = (await invite(client, company, new_email("twice"))).json()["token"]
    assert (await accept(client, token, password=NEW_PASSWORD)).status_code == 200
    body = assert_problem(await accept(client, token, password=NEW_PASSWORD), 422, "invalid_invitation")
    assert error_fields(body) == {"token"}


async def test_expired_invitation_is_invalid_and_creates_no_account(client, company) -> None:
    email = new_email("late")
    issued = (await invite(client, company, email)).json()
    assert await execute("UPDATE shared.invitations SET expires_at = now() - interval '1 minute' WHERE id = :id",
                         id=issued["id"]) == 1
    assert_problem(await accept(client, issued["token"], password=NEW_PASSWORD), 422, "invalid_invitation")
    assert not await fetch("SELECT 1 FROM shared.users WHERE email = :e", e=email)


async def test_revoked_invitation_is_invalid(client, company) -> None:
    email = new_email("revoked")
    issued = (await invite(client, company, email)).json()
    revoked = await client.delete(f"/api/v1/t/{company.slug}/invitations/{issued['id']}", headers=company.auth)
    assert revoked.status_code == 204, revoked.text
    assert (await client.get(f"/api/v1/t/{company.slug}/invitations", headers=company.auth)).json() == []
    assert_problem(await accept(client, issued["token"], password=NEW_PASSWORD), 422, "invalid_invitation")
    assert not await fetch("SELECT 1 FROM shared.users WHERE email = :e", e=email)


async def test_unknown_or_garbage_token_is_invalid(client) -> None:
    for token in ("tdm_inv_nope", "x", "' OR 1=1 --"):
        assert_problem(await accept(client, token, password=NEW_PASSWORD), 422, "invalid_invitation")


async def test_new_user_needs_a_strong_password(client, company) -> None:
    email = new_email("nopass")
    token = (await invite(client, company, email)).json()["token"]
    assert error_fields(assert_problem(await accept(client, token), 422)) == {"password"}
    assert error_fields(assert_problem(await accept(client, token, password="short"), 422, "weak_password")) == {
        "password"}
    assert not await fetch("SELECT 1 FROM shared.users WHERE email = :e", e=email)
    # Failed attempts did not use the invitation up.
    assert (await accept(client, token, password=NEW_PASSWORD)).status_code == 200


async def test_existing_user_must_accept_signed_in_as_that_email(client, company, make_company) -> None:
    existing = await make_company()  # a user who already owns another company
    stranger = await make_company()
    token = (await invite(client, company, existing.email, "support")).json()["token"]

    assert_problem(await accept(client, token), 409, "sign_in_first")
    assert_problem(await accept(client, token, password=NEW_PASSWORD), 409, "sign_in_first")
    assert_problem(await accept(client, token, headers=bearer("tdm_at_forged")), 401, "invalid_token")
    assert_problem(await accept(client, token, headers=stranger.auth), 403, "invitation_email_mismatch")
    # The old password still works: nobody could take the account over through the invitation.
    assert (await client.post("/api/v1/auth/token", json={"email": existing.email, "password": PASSWORD})
            ).status_code == 200

    accepted = await accept(client, token, headers=existing.auth)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "support"
    me = (await client.get("/api/v1/me", headers=existing.auth)).json()
    assert {(m["tenant"]["slug"], m["role"]) for m in me["memberships"]} == {
        (existing.slug, "owner"), (company.slug, "support")}
    assert_problem(await client.get(f"/api/v1/t/{company.slug}/", headers=stranger.auth), 404, "tenant_not_found")


async def test_inviting_a_member_again_is_a_conflict(client, company) -> None:
    body = assert_problem(await invite(client, company, company.email, "viewer"), 409, "already_member")
    assert error_fields(body) == {"email"}


async def test_second_invitation_for_a_new_member_is_refused_once_they_joined(client, company) -> None:
    email = new_email("double")
    first = (await invite(client, company, email, "viewer")).json()["token"]
    second = (await invite(client, company, email, "admin")).json()["token"]
    assert (await accept(client, first, password=NEW_PASSWORD)).status_code == 200
    login = await client.post("/api/v1/auth/token", json={"email": email, "password": NEW_PASSWORD})
    assert_problem(await accept(client, second, headers=bearer(login.json()["access_token"])), 409, "already_member")
    info = await client.get(f"/api/v1/t/{company.slug}/", headers=bearer(login.json()["access_token"]))
    assert info.json()["your_role"] == "viewer"


async def test_admin_can_invite_but_not_an_owner(client, company) -> None:
    admin = await add_member(company.tenant.id, "admin")
    assert_problem(await invite(client, company, new_email("boss"), "owner", admin.auth), 403, "role_not_grantable")
    assert (await invite(client, company, new_email("helper"), "admin", admin.auth)).status_code == 201
    assert_problem(await invite(client, company, new_email("god"), "superuser"), 422, "invalid_role")
    # The owner may invite another owner.
    owner_invite = await invite(client, company, new_email("coowner"), "owner")
    assert owner_invite.status_code == 201
    accepted = await accept(client, owner_invite.json()["token"], password=NEW_PASSWORD)
    assert accepted.json()["role"] == "owner"


async def test_invitation_cannot_be_revoked_from_another_company(client, company, make_company) -> None:
    other = await make_company()
    issued = (await invite(client, company, new_email("mine"))).json()
    assert_problem(await client.delete(f"/api/v1/t/{other.slug}/invitations/{issued['id']}", headers=other.auth),
                   404, "invitation_not_found")
    assert (await accept(client, issued["token"], password=NEW_PASSWORD)).status_code == 200


async def test_api_key_cannot_accept_an_invitation(client, company) -> None:
    key = await client.post(f"/api/v1/t/{company.slug}/api-keys", headers=company.auth,
                            json={"name": "bot", "role": "viewer"})
    invite = await client.post(f"/api/v1/t/{company.slug}/invitations", headers=company.auth,
                               json={"email": "keyholder@example.com", "role": "rep"})
    response = await client.post("/api/v1/invitations/accept",
                                 headers={"Authorization": f"Bearer {key.json()['secret']}"},
                                 json={"token": invite.json()["token"], "password": "Another-Strong-Pass-1"})
    assert response.status_code == 403
    assert response.json()["code"] == "user_token_required"
    members = await client.get(f"/api/v1/t/{company.slug}/members", headers=company.auth)
    assert "keyholder@example.com" not in [m["email"] for m in members.json()["items"]]
