"""Fresh databases on the session's PostgreSQL server, so destructive migration tests never touch
the shared session database (tenants alpha and beta stay as they are)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from backend import cli
from backend.config import get_settings
from backend.db.database import Database, get_database, set_database
from tenants.migrate import migrate_all
from tests.harness import TestServers


@dataclass
class FreshDatabase:
    name: str
    url: str
    db: Database


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


MakeDatabase = Callable[..., Awaitable[FreshDatabase]]
RunCli = Callable[..., Awaitable[int]]


@pytest.fixture
async def fresh_database(servers: TestServers) -> AsyncIterator[MakeDatabase]:
    """Factory: a new, empty database on the test server (optionally migrated); dropped afterwards."""
    made: list[FreshDatabase] = []

    async def make(*, migrate: bool = True, pool_size: int = 6) -> FreshDatabase:
        name = f"tandem_mig_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(_dsn(servers.database_url))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = _dsn(servers.database_url, name)
        fresh = FreshDatabase(name, url, Database({"default": url}, pool_size=pool_size, max_overflow=0))
        made.append(fresh)
        if migrate:
            report = await migrate_all(fresh.db, concurrency=2)
            assert report.ok, report.failed
        return fresh

    yield make
    for fresh in made:
        await fresh.db.dispose()
    admin = await asyncpg.connect(_dsn(servers.database_url))
    try:
        for fresh in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{fresh.name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def keep_global_database() -> Iterator[None]:
    """The CLI installs its own process-wide Database; put the session's back afterwards."""
    try:
        previous: Database | None = get_database()
    except RuntimeError:
        previous = None
    yield
    set_database(previous)


@pytest.fixture
def tandem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keep_global_database: None) -> Iterator[RunCli]:
    """Run the real CLI in a worker thread (it owns its event loop, like the installed `tandem` script)."""

    async def run(fresh: FreshDatabase, *argv: str) -> int:
        monkeypatch.setenv("TANDEM_DATABASE_URL", fresh.url)
        monkeypatch.setenv("TANDEM_DATA_DIR", str(tmp_path / "data"))
        get_settings.cache_clear()
        try:
            return await asyncio.to_thread(cli.main, list(argv))
        finally:
            get_settings.cache_clear()

    yield run
    get_settings.cache_clear()
