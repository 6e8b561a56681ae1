"""Resolve where Postgres and Redis are: configured URLs, else embedded servers under the data dir."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from backend.config import Settings
from backend.runtime.embedded import EmbeddedPostgres, EmbeddedRedis


@dataclass
class Services:
    settings: Settings
    embedded: list[str] = field(default_factory=list)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


def start_services(settings: Settings, *, need_redis: bool = True) -> Services:
    services = Services(settings)
    changes: dict[str, object] = {}
    if not settings.database_url:
        pg = EmbeddedPostgres(settings.data_dir / "pg")
        changes["database_url"] = pg.start()
        services._stops.append(pg.stop)
        services.embedded.append("postgres")
    if need_redis and not settings.redis_url:
        rd = EmbeddedRedis(settings.data_dir / "redis")
        changes["redis_url"] = rd.start()
        services._stops.append(rd.stop)
        services.embedded.append("redis")
    services.settings = settings.with_overrides(**changes) if changes else settings
    return services


def persistent_secret(settings: Settings) -> str:
    """A signing secret kept in the data dir, so forms survive a restart of `tandem run`."""
    import secrets

    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
