"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from backend.db.database import get_database


@get("/healthz", tags=["health"], summary="The process is up", include_in_schema=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["health"], summary="Database and Redis are reachable")
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}

    async def database() -> None:
        async with get_database().engine().connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await request.app.state.redis.ping()

    for name, probe in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(probe(), timeout=2.0)
            checks[name] = "ok"
        except Exception as exc:  # a probe reports, it never raises
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return Response({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)
