"""@tenant_job / @shared_job: every job runs inside exactly one scope.

A tenant job must be called with ``tenant_id``; it resolves the tenant from the
registry and opens ``tenant_scope``. The wrapped function receives the
UnitOfWork and the tenant, never a raw session.

Failures: the scope rolls the transaction back first, so a retry starts clean.
arq itself retries only on ``Retry``; these decorators turn transient errors
(database, network, SMTP, …) into ``Retry`` with exponential backoff until the
worker's ``max_tries``, and let permanent ones (a ``DomainError``, an unknown
tenant) fail at once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq.worker import Retry

from backend.db.uow import UnitOfWork
from backend.kit.errors import DomainError
from backend.logs import bind, log_context
from tenants.registry import TenantRef, registry
from tenants.scope import shared_scope, tenant_scope

TenantJob = Callable[..., Awaitable[Any]]


log = logging.getLogger("tandem.jobs")
MAX_TRIES = 5


class UnknownTenant(RuntimeError):
    pass


def backoff_seconds(job_try: int, base: float = 2.0) -> float:
    """2 s, 4 s, 8 s, … capped at 5 minutes (``base`` 0 retries at once: tests)."""
    return float(min(base * 2 ** max(job_try - 1, 0), 300))


async def _retrying(ctx: dict[str, Any], name: str, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except (DomainError, UnknownTenant, Retry):
        raise
    except Exception as exc:
        job_try = int(ctx.get("job_try", 1))
        if job_try >= int(ctx.get("max_tries", MAX_TRIES)):
            log.error("job %s failed for good after %d tries: %s", name, job_try, type(exc).__name__)
            raise
        delay = backoff_seconds(job_try, float(ctx.get("retry_base_seconds", 2.0)))
        log.warning("job %s failed (%s), retry %d in %.0fs", name, type(exc).__name__, job_try + 1, delay)
        raise Retry(defer=delay) from exc


def tenant_job(fn: Callable[..., Awaitable[Any]]) -> TenantJob:
    @functools.wraps(fn)
    async def run(ctx: dict[str, Any], *, tenant_id: str, **kwargs: Any) -> Any:
        tenant: TenantRef | None = await registry.by_id(tenant_id)
        if tenant is None:
            raise UnknownTenant(f"tenant {tenant_id} does not exist")
        if not tenant.active:
            return {"skipped": "tenant suspended"}
        token = log_context.set({})
        bind(tenant=tenant.slug, job=fn.__name__)
        async def call() -> Any:
            async with tenant_scope(tenant) as uow:
                return await fn(ctx, uow, tenant, **kwargs)

        try:
            return await _retrying(ctx, fn.__name__, call)
        finally:
            log_context.reset(token)

    run.__qualname__ = fn.__name__
    return run


def shared_job(fn: Callable[..., Awaitable[Any]]) -> TenantJob:
    @functools.wraps(fn)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        async def call() -> Any:
            async with shared_scope() as uow:
                return await fn(ctx, uow, **kwargs)

        return await _retrying(ctx, fn.__name__, call)

    run.__qualname__ = fn.__name__
    return run


__all__ = ["UnitOfWork", "shared_job", "tenant_job"]
