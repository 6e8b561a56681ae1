"""Requirement (8): the membership channel. A valid credential of tenant A opens nothing of
tenant B: users and API keys of A get 404 on B's routes, indistinguishable from an unknown
tenant, and B is left unchanged."""

from __future__ import annotations

import uuid

import pytest


def comparable(resp) -> dict:
    body = dict(resp.json())
    body.pop("instance", None)
    body.pop("request_id", None)
    return body


async def assert_not_found(resp, unknown_body) -> None:
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert comparable(resp) == unknown_body


def attempts(target, victim_user_id):
    base = f"/api/v1/t/{target}"
    return [
        ("GET", f"{base}/", None),
        ("GET", f"{base}/members", None),
        ("GET", f"{base}/invitations", None),
        ("GET", f"{base}/api-keys", None),
        ("PATCH", f"{base}/members/{victim_user_id}", {"role": "viewer"}),
        ("DELETE", f"{base}/members/{victim_user_id}", None),
        ("POST", f"{base}/api-keys", {"name": "stolen", "role": "owner"}),
        ("POST", f"{base}/invitations", {"email": "intruder@example.com", "role": "owner"}),
    ]


async def unknown_tenant_body(client, headers) -> dict:
    resp = await client.get(f"/api/v1/t/no-such-{uuid.uuid4().hex[:8]}/", headers=headers)
    assert resp.status_code == 404
    return comparable(resp)


async def beta_state(client, beta) -> tuple:
    members = await client.get(f"/api/v1/t/{beta.slug}/members", headers=beta.auth)
    keys = await client.get(f"/api/v1/t/{beta.slug}/api-keys", headers=beta.auth)
    invites = await client.get(f"/api/v1/t/{beta.slug}/invitations", headers=beta.auth)
    assert members.status_code == keys.status_code == invites.status_code == 200
    return (sorted((m["email"], m["role"]) for m in members.json()["items"]),
            sorted(k["id"] for k in keys.json()), sorted(i["id"] for i in invites.json()))


async def test_a_user_of_alpha_gets_404_on_every_route_of_beta(client, alpha, beta):
    before = await beta_state(client, beta)
    unknown = await unknown_tenant_body(client, alpha.auth)
    assert unknown["code"] == "tenant_not_found"
    for method, path, body in attempts(beta.slug, beta.user_id):
        resp = await client.request(method, path, headers=alpha.auth, json=body)
        await assert_not_found(resp, unknown)
    assert await beta_state(client, beta) == before
    # control: the same token is good on alpha's own routes
    assert (await client.get(f"/api/v1/t/{alpha.slug}/members", headers=alpha.auth)).status_code == 200


@pytest.mark.parametrize("how", ["x-api-key", "bearer"])
async def test_an_api_key_of_one_tenant_gets_404_on_another(client, company, beta, how):
    made = await client.post(f"/api/v1/t/{company.slug}/api-keys", headers=company.auth,
                             json={"name": "integration", "role": "admin"})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    headers = {"X-API-Key": secret} if how == "x-api-key" else {"Authorization": f"Bearer {secret}"}

    own = await client.get(f"/api/v1/t/{company.slug}/api-keys", headers=headers)
    assert own.status_code == 200, own.text  # control: the key is valid and admin at home

    before = await beta_state(client, beta)
    unknown = await unknown_tenant_body(client, headers)
    for method, path, body in attempts(beta.slug, beta.user_id):
        resp = await client.request(method, path, headers=headers, json=body)
        await assert_not_found(resp, unknown)
    assert await beta_state(client, beta) == before
