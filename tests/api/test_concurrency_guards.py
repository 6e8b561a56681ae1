"""Guards that must hold under concurrency, plus who may revoke whose credentials."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from backend.domains.identity import access
from backend.kit.errors import Conflict
from tenants.scope import shared_scope
from tests.api.helpers import add_member, assert_problem, bearer


async def _backend_pid(uow) -> int:
    return (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def _wait_until_blocked(pid: int) -> None:
    """Poll PostgreSQL until backend ``pid`` waits on a lock (observable state, bounded)."""
    for _ in range(500):
        async with shared_scope() as probe:
            waiting = (await probe.session.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )).scalar_one_or_none()
        if waiting == "Lock":
            return
        await asyncio.sleep(0.01)  # polling interval of a state check, not a synchronisation guess
    raise AssertionError(f"backend {pid} never blocked on a lock")


async def test_two_owners_demoting_each_other_leave_one_owner(company) -> None:
    second = await add_member(company.tenant.id, "owner")
    first = access.Actor(tenant_id=company.tenant.id, role="owner", user_id=company.user_id)
    other = access.Actor(tenant_id=company.tenant.id, role="owner", user_id=second.user_id)
    release = asyncio.Event()
    first_pid: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def first_demotes_second() -> None:
        async with shared_scope() as uow:
            first_pid.set_result(await _backend_pid(uow))
            await access.change_role(uow, first, second.user_id, "viewer")
            await release.wait()  # hold the locks until the other transaction is queued behind them

    async def second_removes_first() -> str:
        async with shared_scope() as uow:
            pid = await _backend_pid(uow)
            second_pid.set_result(pid)
            try:
                await access.remove_member(uow, other, company.user_id)
            except Conflict as exc:
                return exc.code
        return "removed"

    second_pid: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    one = asyncio.create_task(first_demotes_second())
    await first_pid
    two = asyncio.create_task(second_removes_first())
    await _wait_until_blocked(await second_pid)
    release.set()
    await one
    assert await two == "last_owner"
    async with shared_scope() as uow:
        owners = (await uow.session.execute(text(
            "SELECT count(*) FROM shared.memberships WHERE tenant_id = :t AND role = 'owner'"
        ), {"t": company.tenant.id})).scalar_one()
    assert owners == 1


async def test_parallel_wrong_passwords_cannot_outrun_the_throttle(client, make_company, settings) -> None:
    victim = await make_company()
    attempts = 20
    responses = await asyncio.gather(*(
        client.post("/api/v1/auth/token", json={"email": victim.email, "password": f"wrong-{i}-password"})
        for i in range(attempts)
    ))
    statuses = sorted(r.status_code for r in responses)
    limit = settings.login_max_failures_per_account
    assert statuses.count(401) == limit
    assert statuses.count(429) == attempts - limit


@pytest.mark.parametrize("kind", ["api-keys", "invitations"])
async def test_admin_cannot_revoke_owner_level_credentials(client, company, kind) -> None:
    admin = await add_member(company.tenant.id, "admin")
    if kind == "api-keys":
        created = await client.post(f"/api/v1/t/{company.slug}/api-keys", headers=company.auth,
                                    json={"name": "owner key", "role": "owner"})
    else:
        created = await client.post(f"/api/v1/t/{company.slug}/invitations", headers=company.auth,
                                    json={"email": "future-owner@example.com", "role": "owner"})
    assert created.status_code == 201, created.text
    target = created.json()["id"]
    denied = await client.delete(f"/api/v1/t/{company.slug}/{kind}/{target}", headers=bearer(admin.token))
    assert_problem(denied, 403, "role_not_grantable")
    allowed = await client.delete(f"/api/v1/t/{company.slug}/{kind}/{target}", headers=company.auth)
    assert allowed.status_code == 204
