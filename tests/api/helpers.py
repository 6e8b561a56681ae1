"""Plain helpers for the API tests: problem+json checks, SQL peeks, members made through the identity service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import text

from backend.db.database import Database, get_database, set_database
from backend.domains.identity import access, accounts
from backend.kit import jobs
from tenants.scope import shared_scope
from tests.conftest import PASSWORD, unique

PROBLEM_KEYS = ("type", "title", "status", "detail", "code")


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and code); returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    for key in PROBLEM_KEYS:
        assert key in body, (key, body)
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["type"] == f"/problems/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    for error in body.get("errors", []):
        assert isinstance(error.get("field"), str), body
        assert error["field"], body
        assert isinstance(error.get("reason"), str), body
        assert error["reason"], body
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_email(prefix: str = "user") -> str:
    return f"{unique(prefix)}@example.com"


async def fetch(sql: str, **params: Any) -> list[Any]:
    async with get_database().engine().connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def scalar(sql: str, **params: Any) -> Any:
    async with get_database().engine().connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def execute(sql: str, **params: Any) -> int:
    async with get_database().engine().begin() as conn:
        return (await conn.execute(text(sql), params)).rowcount


async def footprint() -> tuple[int, int, int, int]:
    """Rows and schemas a signup would create: tenants, users, memberships, t_… schemas."""
    row = (await fetch(
        "SELECT (SELECT count(*) FROM shared.tenants), (SELECT count(*) FROM shared.users),"
        " (SELECT count(*) FROM shared.memberships),"
        " (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\\_%')"
    ))[0]
    return tuple(row)  # type: ignore[return-value]


@dataclass
class Member:
    user_id: uuid.UUID
    email: str
    token: str
    role: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


async def add_member(tenant_id: uuid.UUID, role: str, email: str | None = None) -> Member:
    """A new user with ``role`` in the tenant and a fresh access token (identity service, real DB)."""
    email = email or new_email(role)
    async with shared_scope() as uow:
        user = await accounts.register_user(uow, email, PASSWORD)
        await access.add_member(uow, tenant_id, user.id, role)
        issued = await accounts.issue_access_token(uow, user, 3600)
    return Member(user.id, email, issued.token, role)


@asynccontextmanager
async def hosted(app: Litestar, client_ip: str, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Host another app instance like the session ``client`` fixture, in this loop, lifespan included.

    An app's lifespan installs its own job sender; the session app's sender is put back afterwards
    so jobs enqueued by other tests still reach the queue.
    """
    previous_sender = jobs._sender
    started, stop = asyncio.Event(), asyncio.Event()

    async def host() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(host())
    await asyncio.wait_for(started.wait(), 30)
    jobs.set_job_sender(previous_sender)
    try:
        transport = httpx.ASGITransport(app=app, client=(client_ip, 41000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c
    finally:
        stop.set()
        await task
        set_database(database)
        jobs.set_job_sender(previous_sender)
