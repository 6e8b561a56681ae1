"""Locating and driving the two Alembic trees without env.py (programmatic API)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData

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


@lru_cache(maxsize=8)
def _script(location: str) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", location)
    return ScriptDirectory.from_config(cfg)


SHARED = Tree(SHARED_TREE)
TENANT = Tree(TENANT_TREE)
