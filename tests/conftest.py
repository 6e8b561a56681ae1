"""Session-wide harness: one migrated database, tenants alpha and beta, a live app client."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import configure_passwords, create_app
from backend.config import Settings
from backend.db.database import Database, set_database
from tenants import onboarding
from tenants.migrate import migrate_all
from tenants.registry import TenantRef, registry
from tenants.scope import shared_scope
from tests.harness import TestServers, start_servers

PASSWORD = "Correct-Horse-Battery-9"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


@dataclass
class Company:
    tenant: TenantRef
    email: str
    token: str
    user_id: uuid.UUID

    @property
    def slug(self) -> str:
        return self.tenant.slug

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
async def servers() -> AsyncIterator[TestServers]:
    # Not under pytest's basetemp: a second pytest session of the same user rotates those folders and
    # would pull the embedded PostgreSQL's data directory away from under a running suite.
    workdir = Path(tempfile.mkdtemp(prefix="tandem-test-servers-"))
    found = await start_servers(workdir)
    try:
        yield found
    finally:
        await found.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(servers: TestServers, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Real argon2id, cheaper parameters so the suite stays fast.
    s = Settings(database_url=servers.database_url, redis_url=servers.redis_url,
                 data_dir=tmp_path_factory.mktemp("data"), argon2_memory_kib=1024, argon2_time_cost=1,
                 login_max_failures_per_account=5, login_max_failures_per_ip=1000, log_json=False,
                 signups_per_ip_per_hour=100_000, reset_requests_per_ip_per_hour=100_000,
                 queue_name=f"tandem:test:{uuid.uuid4().hex[:8]}")
    configure_passwords(s)
    return s


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database({"default": settings.database_url or ""}, pool_size=5, max_overflow=5)
    set_database(db)
    report = await migrate_all(db, concurrency=4)
    assert report.ok, report.failed
    yield db
    await db.dispose()


async def new_company(settings: Settings, slug: str | None = None, email: str | None = None) -> Company:
    slug = slug or unique("co")
    email = email or f"{unique('owner')}@example.com"
    async with shared_scope() as uow:
        result = await onboarding.signup(uow, company_name=f"Company {slug}", email=email, password=PASSWORD,
                                         slug=slug, token_ttl_seconds=3600)
    return Company(result.tenant, email, result.token.token, result.user.id)


@pytest.fixture(scope="session")
async def alpha(database: Database, settings: Settings) -> Company:
    return await new_company(settings, unique("alpha"), f"{unique('alpha-owner')}@example.com")


@pytest.fixture(scope="session")
async def beta(database: Database, settings: Settings) -> Company:
    return await new_company(settings, unique("beta"), f"{unique('beta-owner')}@example.com")


@pytest.fixture
async def company(database: Database, settings: Settings) -> Company:
    """A fresh tenant for tests that change membership, keys or status."""
    return await new_company(settings)


@pytest.fixture(scope="session")
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over ASGI in the test's own event loop (lifespan included)."""
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    started, stop = asyncio.Event(), asyncio.Event()

    async def host() -> None:  # enter and exit the lifespan in one task (anyio cancel scopes demand it)
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(host())
    await asyncio.wait_for(started.wait(), 30)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c
    stop.set()
    await task
    set_database(database)


@pytest.fixture
def make_company(settings: Settings, database: Database) -> Callable[..., Awaitable[Company]]:
    async def make(**kwargs: Any) -> Company:
        return await new_company(settings, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    registry.invalidate()


def path_of(*parts: str) -> Path:
    return Path(__file__).parent.joinpath(*parts)
