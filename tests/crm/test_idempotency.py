"""Idempotency-Key on POST /accounts: replays, reuse with another body, tenant separation, failures."""

from __future__ import annotations

import uuid

from tests.api.helpers import add_member, assert_problem, scalar


async def count(company) -> int:
    return await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".accounts')


async def test_a_retry_gets_the_first_answer_and_creates_nothing_new(client, company) -> None:
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    first = await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**company.auth, **key},
                              json={"name": "Once Only Co"})
    again = await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**company.auth, **key},
                              json={"name": "Once Only Co"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert await count(company) == 1


async def test_same_key_with_another_body_or_caller_is_refused(client, company) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    assert (await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**company.auth, **key},
                              json={"name": "First Body"})).status_code == 201
    other = await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**company.auth, **key},
                              json={"name": "Second Body"})
    assert_problem(other, 422, "idempotency_key_reused")
    manager = await add_member(company.tenant.id, "manager")
    other_caller = await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**manager.auth, **key},
                                     json={"name": "First Body"})
    assert_problem(other_caller, 422, "idempotency_key_reused")
    assert await count(company) == 1


async def test_keys_are_scoped_to_the_tenant(client, make_company) -> None:
    one, two = await make_company(), await make_company()
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    a = await client.post(f"/api/v1/t/{one.slug}/accounts", headers={**one.auth, **key}, json={"name": "Same"})
    b = await client.post(f"/api/v1/t/{two.slug}/accounts", headers={**two.auth, **key}, json={"name": "Same"})
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers
    assert (await count(one), await count(two)) == (1, 1)


async def test_a_failed_request_is_not_remembered(client, company) -> None:
    key = {"Idempotency-Key": f"fail-{uuid.uuid4()}"}
    bad = await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**company.auth, **key},
                            json={"name": "x", "status": "bogus"})
    assert_problem(bad, 422)
    fixed = await client.post(f"/api/v1/t/{company.slug}/accounts", headers={**company.auth, **key},
                              json={"name": "x", "status": "bogus"})
    assert_problem(fixed, 422)  # runs again (not a replay of a stored failure, and not "in progress")
    assert "idempotent-replayed" not in fixed.headers
    assert await count(company) == 0


async def test_invalid_keys_are_422(client, company) -> None:
    response = await client.post(f"/api/v1/t/{company.slug}/accounts",
                                 headers={**company.auth, "Idempotency-Key": "x" * 300}, json={"name": "K"})
    assert_problem(response, 422)
    assert await count(company) == 0
