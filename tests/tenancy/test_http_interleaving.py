"""Requirement (1b): interleaved concurrent HTTP requests of two tenants through the real app,
whose database pool holds two connections, never answer with the other tenant's data."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select, text

from backend.domains.identity.models import Membership, User
from tenants.scope import shared_scope


async def member_emails(tenant_id) -> set[str]:
    async with shared_scope() as uow:
        rows = await uow.session.execute(
            select(User.email).join(Membership, Membership.user_id == User.id).where(Membership.tenant_id == tenant_id)
        )
        return set(rows.scalars())


async def test_interleaved_requests_of_two_tenants_over_a_pool_of_two(pool2_app, alpha, beta):
    client, db, log = pool2_app.client, pool2_app.database, pool2_app.log
    members = {alpha.slug: await member_emails(alpha.tenant.id), beta.slug: await member_emails(beta.tenant.id)}
    assert alpha.email in members[alpha.slug]
    assert beta.email in members[beta.slug]
    assert not members[alpha.slug] & members[beta.slug]

    # own requests, plus each owner knocking at the other tenant's door, all in flight together
    plan = []
    for me, other in ((alpha, beta), (beta, alpha)):
        plan += [("info", me, me)] * 12 + [("members", me, me)] * 12
        plan += [("info", me, other)] * 3 + [("members", me, other)] * 3
    random.Random(7).shuffle(plan)

    async def call(kind, caller, target):
        path = f"/api/v1/t/{target.slug}/" + ("members" if kind == "members" else "")
        return kind, caller, target, await client.get(path, headers=caller.auth)

    checkouts_before = log.checkouts
    results = await asyncio.gather(*(call(*p) for p in plan))

    for kind, caller, target, resp in results:
        if caller is not target:
            assert resp.status_code == 404, (kind, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["code"] == "tenant_not_found"
            continue
        assert resp.status_code == 200, (kind, resp.text)
        body = resp.json()
        if kind == "info":
            assert body["id"] == str(target.tenant.id)
            assert body["slug"] == target.slug
            assert body["name"] == f"Company {target.slug}"
            assert body["your_role"] == "owner"
        else:
            assert {m["email"] for m in body["items"]} == members[target.slug]

    assert log.connects <= 2, "the app's pool opened more than two connections"
    assert log.checkouts - checkouts_before >= len(plan), "connections were not reused across requests"
    assert db.engine().pool.checkedout() == 0
    async with db.engine().connect() as c1, db.engine().connect() as c2:
        for conn in (c1, c2):
            schemas = (await conn.execute(text("SELECT current_schemas(false)"))).scalar_one()
            assert [s for s in schemas if s.startswith("t_")] == []
