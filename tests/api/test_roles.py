"""Role guards on every tenant route, API-key roles, owners that cannot vanish, suspended companies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from tenants import provisioning
from tenants.scope import shared_scope
from tests.api.helpers import Member, add_member, assert_problem, bearer, fetch, new_email
from tests.conftest import Company, new_company

ROLES = ("owner", "admin", "manager", "rep", "accountant", "support", "viewer")
ADMINS = {"owner", "admin"}


@dataclass
class Staffed:
    company: Company
    members: dict[str, Member]


@pytest.fixture(scope="module")
async def staffed(database, settings) -> Staffed:
    """One fresh company with a member in every role (the founder is the owner)."""
    company = await new_company(settings)
    members = {"owner": Member(company.user_id, company.email, company.token, "owner")}
    for role in ROLES[1:]:
        members[role] = await add_member(company.tenant.id, role)
    return Staffed(company, members)


async def pending_invitation_ids(client, staffed: Staffed) -> set[str]:
    response = await client.get(f"/api/v1/t/{staffed.company.slug}/invitations", headers=staffed.company.auth)
    return {i["id"] for i in response.json()}


async def member_roles(client, staffed: Staffed) -> dict[str, str]:
    response = await client.get(f"/api/v1/t/{staffed.company.slug}/members", headers=staffed.company.auth,
                                params={"limit": 200})
    return {m["user_id"]: m["role"] for m in response.json()["items"]}


async def key_states(client, staffed: Staffed) -> dict[str, str | None]:
    response = await client.get(f"/api/v1/t/{staffed.company.slug}/api-keys", headers=staffed.company.auth)
    return {k["id"]: k["revoked_at"] for k in response.json()}


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix_on_every_tenant_route(client, staffed, role) -> None:
    base = f"/api/v1/t/{staffed.company.slug}"
    me = staffed.members[role]
    allowed = role in ADMINS

    def check(response, ok_status: int) -> None:
        if allowed:
            assert response.status_code == ok_status, (role, response.request.method, response.request.url,
                                                        response.text)
        else:
            assert_problem(response, 403, "role_forbidden")

    # Everyone reads the company and its members.
    info = await client.get(f"{base}/", headers=me.auth)
    assert info.status_code == 200, info.text
    assert info.json()["your_role"] == role
    members = await client.get(f"{base}/members", headers=me.auth)
    assert members.status_code == 200, members.text
    assert {m["role"] for m in members.json()["items"]} >= set(ROLES)

    # Targets made by the owner, so the outcome depends only on the caller's role.
    target = await add_member(staffed.company.tenant.id, "rep")
    invitation = await client.post(f"{base}/invitations", json={"email": new_email("target"), "role": "viewer"},
                                   headers=staffed.company.auth)
    key = await client.post(f"{base}/api-keys", json={"name": f"target-{role}", "role": "viewer"},
                            headers=staffed.company.auth)
    assert invitation.status_code == 201
    assert key.status_code == 201
    invitation_id, key_id = invitation.json()["id"], key.json()["id"]

    check(await client.patch(f"{base}/members/{target.user_id}", json={"role": "support"}, headers=me.auth), 200)
    assert (await member_roles(client, staffed))[str(target.user_id)] == ("support" if allowed else "rep")

    created = await client.post(f"{base}/invitations", json={"email": new_email(f"by-{role}"), "role": "viewer"},
                                headers=me.auth)
    check(created, 201)
    listed = await client.get(f"{base}/invitations", headers=me.auth)
    check(listed, 200)
    if allowed:
        assert created.json()["id"] in {i["id"] for i in listed.json()}
    check(await client.delete(f"{base}/invitations/{invitation_id}", headers=me.auth), 204)
    assert (invitation_id in await pending_invitation_ids(client, staffed)) is not allowed

    made_key = await client.post(f"{base}/api-keys", json={"name": f"by-{role}", "role": "viewer"}, headers=me.auth)
    check(made_key, 201)
    keys = await client.get(f"{base}/api-keys", headers=me.auth)
    check(keys, 200)
    if allowed:
        assert made_key.json()["secret"].startswith("tdm_sk_")
        assert all(k["secret"] is None for k in keys.json())
    check(await client.delete(f"{base}/api-keys/{key_id}", headers=me.auth), 204)
    assert ((await key_states(client, staffed))[key_id] is not None) is allowed

    check(await client.delete(f"{base}/members/{target.user_id}", headers=me.auth), 204)
    assert (str(target.user_id) in await member_roles(client, staffed)) is not allowed
    if allowed:
        assert_problem(await client.get(f"{base}/", headers=target.auth), 404, "tenant_not_found")
    else:
        assert (await client.get(f"{base}/", headers=target.auth)).status_code == 200


async def test_unknown_ids_are_404_for_admins(client, staffed) -> None:
    base = f"/api/v1/t/{staffed.company.slug}"
    nobody = uuid.uuid4()
    auth = staffed.members["admin"].auth
    assert_problem(await client.patch(f"{base}/members/{nobody}", json={"role": "rep"}, headers=auth),
                   404, "member_not_found")
    assert_problem(await client.delete(f"{base}/members/{nobody}", headers=auth), 404, "member_not_found")
    assert_problem(await client.delete(f"{base}/invitations/{nobody}", headers=auth), 404, "invitation_not_found")
    assert_problem(await client.delete(f"{base}/api-keys/{nobody}", headers=auth), 404, "api_key_not_found")


async def test_non_members_see_no_tenant_at_all(client, staffed, beta) -> None:
    base = f"/api/v1/t/{staffed.company.slug}"
    for method, path in (("GET", "/"), ("GET", "/members"), ("GET", "/invitations"), ("GET", "/api-keys"),
                         ("DELETE", f"/members/{staffed.company.user_id}")):
        assert_problem(await client.request(method, base + path, headers=beta.auth), 404, "tenant_not_found")
    assert_problem(await client.get(f"{base}/members"), 401, "unauthorized")


async def test_viewer_api_key_reads_but_cannot_administer_and_dies_when_revoked(client, company, make_company) -> None:
    base = f"/api/v1/t/{company.slug}"
    made = await client.post(f"{base}/api-keys", json={"name": "dashboard", "role": "viewer"}, headers=company.auth)
    assert made.status_code == 201, made.text
    secret, key_id = made.json()["secret"], made.json()["id"]
    assert made.json()["prefix"] == secret[:12]
    key = {"X-API-Key": secret}

    assert (await client.get(f"{base}/members", headers=key)).status_code == 200
    assert (await client.get(f"{base}/members", headers=bearer(secret))).status_code == 200
    assert (await client.get(f"{base}/", headers=key)).json()["your_role"] == "viewer"
    assert_problem(await client.post(f"{base}/api-keys", json={"name": "escalate", "role": "owner"}, headers=key),
                   403, "role_forbidden")
    assert_problem(await client.get(f"{base}/api-keys", headers=key), 403, "role_forbidden")
    assert_problem(await client.post(f"{base}/invitations", json={"email": new_email("k"), "role": "viewer"},
                                     headers=key), 403, "role_forbidden")
    listed = {k["id"]: k for k in (await client.get(f"{base}/api-keys", headers=company.auth)).json()}
    assert listed[key_id]["last_used_at"] is not None

    # A key belongs to one company only.
    other = await make_company()
    assert_problem(await client.get(f"/api/v1/t/{other.slug}/members", headers=key), 404, "tenant_not_found")

    assert (await client.delete(f"{base}/api-keys/{key_id}", headers=company.auth)).status_code == 204
    assert_problem(await client.get(f"{base}/members", headers=key), 401, "invalid_api_key")
    assert_problem(await client.get(f"{base}/", headers=bearer(secret)), 401, "invalid_api_key")
    # Revoking twice is harmless.
    assert (await client.delete(f"{base}/api-keys/{key_id}", headers=company.auth)).status_code == 204


async def test_admin_key_cannot_mint_an_owner_key(client, company) -> None:
    base = f"/api/v1/t/{company.slug}"
    secret = (await client.post(f"{base}/api-keys", json={"name": "ops", "role": "admin"},
                                headers=company.auth)).json()["secret"]
    key = {"X-API-Key": secret}
    assert_problem(await client.post(f"{base}/api-keys", json={"name": "root", "role": "owner"}, headers=key),
                   403, "role_not_grantable")
    made = await client.post(f"{base}/api-keys", json={"name": "child", "role": "viewer"}, headers=key)
    assert made.status_code == 201
    assert made.json()["role"] == "viewer"
    assert_problem(await client.post(f"{base}/api-keys", json={"name": "x", "role": "boss"}, headers=company.auth),
                   422, "invalid_role")
    body = assert_problem(await client.post(f"{base}/api-keys", json={"name": "   ", "role": "viewer"},
                                            headers=company.auth), 422)
    assert {e["field"] for e in body["errors"]} == {"name"}


async def test_last_owner_can_be_neither_demoted_nor_removed(client, company) -> None:
    base = f"/api/v1/t/{company.slug}"
    owner_id = company.user_id
    assert_problem(await client.patch(f"{base}/members/{owner_id}", json={"role": "admin"}, headers=company.auth),
                   409, "last_owner")
    assert_problem(await client.delete(f"{base}/members/{owner_id}", headers=company.auth), 409, "last_owner")
    # Re-asserting the same role is no demotion.
    assert (await client.patch(f"{base}/members/{owner_id}", json={"role": "owner"},
                               headers=company.auth)).status_code == 200

    admin = await add_member(company.tenant.id, "admin")
    assert_problem(await client.patch(f"{base}/members/{owner_id}", json={"role": "viewer"}, headers=admin.auth),
                   403, "role_not_grantable")
    assert_problem(await client.delete(f"{base}/members/{owner_id}", headers=admin.auth), 403, "role_not_grantable")
    assert_problem(await client.patch(f"{base}/members/{admin.user_id}", json={"role": "owner"}, headers=admin.auth),
                   403, "role_not_grantable")
    assert_problem(await client.patch(f"{base}/members/{admin.user_id}", json={"role": "root"},
                                      headers=company.auth), 422, "invalid_role")

    second = await add_member(company.tenant.id, "owner")
    demoted = await client.patch(f"{base}/members/{owner_id}", json={"role": "admin"}, headers=second.auth)
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["role"] == "admin"
    # Now `second` is the last owner.
    assert_problem(await client.delete(f"{base}/members/{second.user_id}", headers=second.auth), 409, "last_owner")
    assert_problem(await client.patch(f"{base}/members/{second.user_id}", json={"role": "rep"},
                                      headers=second.auth), 409, "last_owner")
    owners = await fetch("SELECT count(*) FROM shared.memberships WHERE tenant_id = :t AND role = 'owner'",
                         t=company.tenant.id)
    assert owners[0][0] == 1
    audit = await fetch("SELECT action FROM shared.audit_events WHERE tenant_id = :t AND action = "
                        "'member.role_changed'", t=company.tenant.id)
    assert len(audit) == 2  # owner->owner and owner->admin; refused changes leave no trace


async def test_suspended_company_refuses_its_members(client, company) -> None:
    async with shared_scope() as uow:
        await provisioning.set_status(uow, company.slug, "suspended")
    assert_problem(await client.get(f"/api/v1/t/{company.slug}/", headers=company.auth), 403, "tenant_suspended")
    assert_problem(await client.get(f"/api/v1/t/{company.slug}/members", headers=company.auth), 403,
                   "tenant_suspended")
    me = (await client.get("/api/v1/me", headers=company.auth)).json()
    assert [m["tenant"]["status"] for m in me["memberships"]] == ["suspended"]


async def test_members_are_paged_by_email(client, company) -> None:
    emails = sorted([company.email] + [(await add_member(company.tenant.id, "viewer")).email for _ in range(4)])
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/api/v1/t/{company.slug}/members", params=params, headers=company.auth)).json()
        seen += [m["email"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == emails
