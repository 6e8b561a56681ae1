"""Requirement (7): the tenant registry cache is keyed per tenant, and a status change is seen
right after its commit (suspended: 403 for members, 404 for everyone else)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event
from sqlalchemy.util import await_only

from tenants import provisioning
from tenants.registry import TenantRegistry, registry
from tenants.scope import shared_scope
from tests.conftest import new_company, unique


def same_tenant(ref, co) -> None:
    assert ref is not None
    assert (ref.id, ref.slug, ref.schema) == (co.tenant.id, co.slug, co.tenant.schema)


async def test_concurrent_lookups_of_two_tenants_never_cross(alpha, beta):
    plan = [alpha, beta] * 20

    async def look(co, i):
        return co, await (registry.by_slug(co.slug) if i % 2 == 0 else registry.by_id(co.tenant.id))

    for ref_co, ref in await asyncio.gather(*(look(co, i // 2) for i, co in enumerate(plan))):
        same_tenant(ref, ref_co)

    misses, hits = registry.misses, registry.hits
    for co in (alpha, beta, beta, alpha):
        same_tenant(await registry.by_slug(co.slug), co)
        same_tenant(await registry.by_id(co.tenant.id), co)
        same_tenant(await registry.by_id(str(co.tenant.id)), co)
    assert registry.misses == misses, "a warm lookup went to the database"
    assert registry.hits == hits + 12


async def test_invalidating_one_tenant_leaves_the_other_cached(alpha, beta):
    for co in (alpha, beta):
        same_tenant(await registry.by_slug(co.slug), co)
    registry.invalidate(alpha.tenant)
    misses = registry.misses
    same_tenant(await registry.by_slug(beta.slug), beta)
    same_tenant(await registry.by_id(beta.tenant.id), beta)
    assert registry.misses == misses
    same_tenant(await registry.by_slug(alpha.slug), alpha)
    assert registry.misses == misses + 1


async def test_a_tiny_cache_under_eviction_still_answers_the_right_tenant(database, settings, alpha, beta):
    third = await new_company(settings, unique("iso-c"))
    small = TenantRegistry(max_entries=2)
    cos = [alpha, beta, third]
    for i in range(12):
        co = cos[(i * 7) % 3]
        same_tenant(await small.by_slug(co.slug), co)
        same_tenant(await small.by_id(cos[(i + 1) % 3].tenant.id), cos[(i + 1) % 3])
    assert len(small._by_slug) <= 2
    assert len(small._by_id) <= 2


async def info(client, co, caller):
    return await client.get(f"/api/v1/t/{co.slug}/", headers=caller.auth)


async def test_suspension_is_seen_right_after_commit(client, company, alpha):
    assert (await info(client, company, company)).status_code == 200  # warms the cache with "active"
    assert (await info(client, company, alpha)).status_code == 404
    cached = await registry.by_id(company.tenant.id)
    assert cached is not None
    assert cached.active

    async with shared_scope() as uow:
        ref = await provisioning.set_status(uow, company.slug, "suspended")
    assert ref.status == "suspended"

    # the worker looks tenants up by id, the API by slug: both keys must have been dropped
    misses = registry.misses
    by_id = await registry.by_id(company.tenant.id)
    assert registry.misses == misses + 1, "the stale entry was served from the cache"
    assert by_id is not None
    assert by_id.status == "suspended"

    member = await info(client, company, company)
    assert member.status_code == 403, member.text
    assert member.headers["content-type"].startswith("application/problem+json")
    assert member.json()["code"] == "tenant_suspended"
    members = await client.get(f"/api/v1/t/{company.slug}/members", headers=company.auth)
    assert members.status_code == 403
    outsider = await info(client, company, alpha)
    assert outsider.status_code == 404, outsider.text
    assert outsider.json()["code"] == "tenant_not_found"

    async with shared_scope() as uow:
        await provisioning.set_status(uow, company.slug, "active")
    by_slug = await registry.by_slug(company.slug)
    assert by_slug is not None
    assert by_slug.active, "the stale slug entry was served from the cache"
    assert (await info(client, company, company)).status_code == 200


async def test_a_rolled_back_suspension_changes_nothing(client, company):
    assert (await info(client, company, company)).status_code == 200

    async def suspend_then_fail() -> None:
        async with shared_scope() as uow:
            await provisioning.set_status(uow, company.slug, "suspended")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        await suspend_then_fail()

    ref = await registry.by_slug(company.slug)
    assert ref is not None
    assert ref.active
    registry.invalidate()
    ref = await registry.by_slug(company.slug)
    assert ref is not None
    assert ref.active, "the rolled-back suspension reached the database"
    assert (await info(client, company, company)).status_code == 200


async def test_a_lookup_racing_a_suspension_does_not_cache_the_stale_entry(company, small_db):
    """A cache miss that read the tenant row *before* the suspension committed, but stores it
    *after* the after-commit invalidation, must not put the stale "active" entry back for the
    whole TTL. The lookup is held right after its SELECT by an engine event (awaiting inside
    SQLAlchemy's greenlet), which makes the interleaving deterministic."""
    db = small_db(1)
    selected, release = asyncio.Event(), asyncio.Event()

    @event.listens_for(db.engine().sync_engine, "after_cursor_execute")
    def hold(conn, cursor, statement, parameters, context, executemany) -> None:
        if "shared.tenants" in statement and not release.is_set():
            selected.set()
            await_only(release.wait())

    lookup = asyncio.create_task(registry.by_slug(company.slug, database=db))
    await asyncio.wait_for(selected.wait(), 10)  # the lookup has read the row: still active
    async with shared_scope() as uow:
        await provisioning.set_status(uow, company.slug, "suspended")
    release.set()
    raced = await asyncio.wait_for(lookup, 10)
    assert raced is not None
    assert raced.active  # it read before the commit; fine for the request that asked

    after = await registry.by_slug(company.slug)
    assert after is not None
    assert after.status == "suspended", "the stale entry was cached after the invalidation"
    by_id = await registry.by_id(company.tenant.id)
    assert by_id is not None
    assert by_id.status == "suspended"
