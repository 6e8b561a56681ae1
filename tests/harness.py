"""Test infrastructure: a real PostgreSQL and Redis, embedded unless URLs are given.

TANDEM_TEST_DATABASE_URL: a server where a fresh database is created per run (and dropped after).
TANDEM_TEST_REDIS_URL:    a Redis; the run uses database 9 and flushes it first.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.runtime.embedded import EmbeddedPostgres, EmbeddedRedis


@dataclass
class TestServers:
    database_url: str
    redis_url: str
    _pg: EmbeddedPostgres | None = None
    _redis: EmbeddedRedis | None = None
    _admin_url: str | None = None
    _dbname: str | None = None

    async def close(self) -> None:
        if self._admin_url and self._dbname:
            conn = await asyncpg.connect(self._admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self._dbname}" WITH (FORCE)')
            finally:
                await conn.close()
        if self._redis:
            self._redis.stop()
        if self._pg:
            self._pg.stop()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def start_servers(workdir: Path) -> TestServers:
    dbname = f"tandem_test_{uuid.uuid4().hex[:10]}"
    external_pg = os.environ.get("TANDEM_TEST_DATABASE_URL")
    pg: EmbeddedPostgres | None = None
    if external_pg:
        admin = _asyncpg_dsn(external_pg)
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{dbname}"')
        finally:
            await conn.close()
        database_url = make_url(admin).set(database=dbname).render_as_string(hide_password=False)
    else:
        pg = EmbeddedPostgres(workdir / "pg", database=dbname)
        database_url = pg.start()
        admin = None
    external_redis = os.environ.get("TANDEM_TEST_REDIS_URL")
    rd: EmbeddedRedis | None = None
    if external_redis:
        redis_url = external_redis.rstrip("/")
        redis_url = redis_url if "?db=" in redis_url or redis_url.count("/") > 2 else redis_url + "/9"
        import redis.asyncio as aioredis

        client = aioredis.from_url(redis_url)  # type: ignore[no-untyped-call]
        await client.flushdb()
        await client.aclose()
    else:
        rd = EmbeddedRedis(workdir / "redis")
        redis_url = rd.start()
    return TestServers(database_url=database_url, redis_url=redis_url, _pg=pg, _redis=rd,
                       _admin_url=admin, _dbname=dbname if external_pg else None)
