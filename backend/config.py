"""Typed settings from TANDEM_* environment variables.

Read once (``get_settings`` caches); importing this module does no I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"TANDEM_{name}")
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"TANDEM_{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.lower() in {"1", "true", "yes", "on"}


DEFAULT_FROM = "Tandem <no-reply@tandem.localhost>"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob Tandem reads from the environment."""

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".tandem"))
    host: str = "127.0.0.1"
    port: int = 8000
    env: str = "development"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    migrate_concurrency: int = 8
    access_token_ttl_seconds: int = 12 * 3600
    invitation_ttl_seconds: int = 7 * 24 * 3600
    password_reset_ttl_seconds: int = 3600
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_window_seconds: int = 900
    signups_per_ip_per_hour: int = 20
    reset_requests_per_ip_per_hour: int = 30
    max_body_bytes: int = 1_048_576
    registry_cache_ttl_seconds: float = 30.0
    queue_name: str = "tandem:queue"
    secret_key: str = ""  # signs CSRF tokens; `tandem run` persists one in the data dir when unset
    cookie_secure: bool = False
    smtp_url: str | None = None
    mail_from: str = DEFAULT_FROM
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_json: bool = True
    # argon2id cost (OWASP 2023 minimum profile: m=19 MiB, t=2, p=1)
    argon2_memory_kib: int = 19_456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=_env("DATABASE_URL"),
            redis_url=_env("REDIS_URL"),
            data_dir=Path(_env("DATA_DIR", ".tandem") or ".tandem"),
            host=_env("HOST", "127.0.0.1") or "127.0.0.1",
            port=_env_int("PORT", 8000),
            env=_env("ENV", "development") or "development",
            db_pool_size=_env_int("DB_POOL_SIZE", 10),
            db_max_overflow=_env_int("DB_MAX_OVERFLOW", 10),
            migrate_concurrency=_env_int("MIGRATE_CONCURRENCY", 8),
            access_token_ttl_seconds=_env_int("ACCESS_TOKEN_TTL", 12 * 3600),
            invitation_ttl_seconds=_env_int("INVITATION_TTL", 7 * 24 * 3600),
            password_reset_ttl_seconds=_env_int("PASSWORD_RESET_TTL", 3600),
            login_max_failures_per_account=_env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
            login_max_failures_per_ip=_env_int("LOGIN_MAX_FAILURES_PER_IP", 30),
            login_window_seconds=_env_int("LOGIN_WINDOW", 900),
            signups_per_ip_per_hour=_env_int("SIGNUPS_PER_IP_PER_HOUR", 20),
            reset_requests_per_ip_per_hour=_env_int("RESET_REQUESTS_PER_IP_PER_HOUR", 30),
            registry_cache_ttl_seconds=float(_env_int("REGISTRY_CACHE_TTL", 30)),
            max_body_bytes=_env_int("MAX_BODY_BYTES", 1_048_576),
            smtp_url=_env("SMTP_URL"),
            mail_from=_env("MAIL_FROM", DEFAULT_FROM) or DEFAULT_FROM,
            public_url=_env("PUBLIC_URL", "") or "",
            log_level=(_env("LOG_LEVEL", "INFO") or "INFO").upper(),
            log_json=_env_bool("LOG_JSON", True),
            queue_name=_env("QUEUE_NAME", "tandem:queue") or "tandem:queue",
            secret_key=_env("SECRET_KEY", "") or "",
            cookie_secure=_env_bool("COOKIE_SECURE", False),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
