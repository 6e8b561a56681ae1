"""RSS of a fresh API process before and after requests have touched N distinct tenants."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.apiserver import ApiServer
from tests.perf.fleet import Account
from tests.perf.model import Deadline, MemoryFigures, Stats

CONCURRENCY = 4


class TouchFailed(RuntimeError):
    pass


async def _touch(client: httpx.AsyncClient, account: Account) -> float:
    started = time.perf_counter()
    answer = await client.get(f"/api/v1/t/{account.slug}/", headers={"Authorization": f"Bearer {account.token}"})
    if answer.status_code != 200:
        raise TouchFailed(f"GET /api/v1/t/{account.slug}/: HTTP {answer.status_code} {answer.text[:200]}")
    return 1000 * (time.perf_counter() - started)


async def measure(
    database_url: str, redis_url: str, workdir: Path, accounts: list[Account], deadline: Deadline
) -> MemoryFigures:
    if not accounts:
        raise ValueError("the memory phase needs at least one tenant")
    server = ApiServer(database_url, redis_url, workdir, name="api-memory")
    await server.start()
    try:
        rss_start = server.rss_mib()
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
            await _touch(client, accounts[0])  # warm: pool connection, code paths, first registry entry
            rss_before = server.rss_mib()

            async def one(account: Account) -> float:
                async with gate:
                    deadline.check("memory phase requests")
                    return await _touch(client, account)

            timings = await asyncio.gather(*(one(a) for a in accounts))
        await asyncio.sleep(0.2)  # let the server finish closing connections
        rss_after = server.rss_mib()
    finally:
        await server.stop()
    return MemoryFigures(tenants_touched=len(accounts), rss_start_mib=rss_start, rss_before_mib=rss_before,
                         rss_after_mib=rss_after, request_ms=Stats.of(list(timings)))
