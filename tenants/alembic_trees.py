"""Locating and driving the two Alembic trees without env.py (programmatic API).

Alembic's ``op`` and ``context`` are module-level proxies, global to the process.
Under asyncio every ``run_sync`` greenlet yields to the event loop at each round
trip, so two upgrades running at once on one loop would execute each other's
operations on the wrong connection (the wrong tenant schema). Async callers
therefore go through ``Tree.upgrade_async``, which runs one Alembic upgrade at a
time per event loop; transactions, locks and version checks stay concurrent.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS = Path(__file__).resolve().parent.parent / "backend" / "db" / "migrations"
SHARED_TREE = MIGRATIONS / "shared"
TENANT_TREE = MIGRATIONS / "tenant"


@dataclass(frozen=True)
class Tree:
    location: Path

    @property
    def script(self) -> ScriptDirectory:
        return _script(str(self.location))

    @property
    def head(self) -> str:
        head = self.script.get_current_head()
        if head is None:
            raise RuntimeError(f"migration tree {self.location} has no head")
        return head

    def current(self, connection: Connection, version_schema: str) -> str | None:
        ctx = MigrationContext.configure(connection, opts={"version_table_schema": version_schema})
        return ctx.get_current_revision()

    def upgrade(self, connection: Connection, version_schema: str, metadata: MetaData | None = None) -> str:
        """Upgrade to head inside the caller's open transaction; returns the new revision."""
        script = self.script
        cfg = Config()
        cfg.set_main_option("script_location", str(self.location))

        def fn(rev: Any, _context: Any) -> Any:
            return script._upgrade_revs("head", rev)

        with EnvironmentContext(cfg, script, fn=fn, destination_rev="head") as env:
            env.configure(
                connection=connection,
                target_metadata=metadata,
                version_table_schema=version_schema,
                transactional_ddl=True,
            )
            with env.begin_transaction():
                env.run_migrations()
        return self.head

    async def upgrade_async(self, connection: AsyncConnection, version_schema: str,
                            metadata: MetaData | None = None) -> str:
        """``upgrade`` for an async connection, serialised with every other upgrade on this event loop."""
        async with alembic_lock():
            return await connection.run_sync(lambda sync_conn: self.upgrade(sync_conn, version_schema, metadata))


_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def alembic_lock() -> asyncio.Lock:
    """The lock that keeps Alembic's global proxies to one running upgrade on this event loop."""
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


@lru_cache(maxsize=8)
def _script(location: str) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", location)
    return ScriptDirectory.from_config(cfg)


SHARED = Tree(SHARED_TREE)
TENANT = Tree(TENANT_TREE)
