"""Process-wide database handle: one engine per cluster.

The registry maps every tenant to a cluster name; ``Database`` turns the name
into an engine. There is one cluster (``default``) until a tenant is moved.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.engine import create_engine, session_factory

DEFAULT_CLUSTER = "default"


class Database:
    def __init__(self, urls: dict[str, str], *, pool_size: int = 10, max_overflow: int = 10) -> None:
        if DEFAULT_CLUSTER not in urls:
            raise ValueError("a 'default' cluster URL is required")
        self.urls = dict(urls)
        self._engines: dict[str, AsyncEngine] = {
            name: create_engine(url, pool_size=pool_size, max_overflow=max_overflow) for name, url in urls.items()
        }
        self._factories = {name: session_factory(engine) for name, engine in self._engines.items()}

    def engine(self, cluster: str = DEFAULT_CLUSTER) -> AsyncEngine:
        try:
            return self._engines[cluster]
        except KeyError:
            raise LookupError(f"unknown database cluster {cluster!r}") from None

    def sessions(self, cluster: str = DEFAULT_CLUSTER) -> async_sessionmaker[AsyncSession]:
        try:
            return self._factories[cluster]
        except KeyError:
            raise LookupError(f"unknown database cluster {cluster!r}") from None

    @property
    def clusters(self) -> list[str]:
        return list(self._engines)

    async def dispose(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()


_current: Database | None = None


def set_database(db: Database | None) -> None:
    global _current
    _current = db


def current_database() -> Database | None:
    return _current


def get_database() -> Database:
    if _current is None:
        raise RuntimeError("database not initialised: call backend.bootstrap.start() first")
    return _current
