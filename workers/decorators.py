"""@tenant_job / @shared_job: every job runs inside exactly one scope.

A tenant job must be called with ``tenant_id``; it resolves the tenant from the
registry and opens ``tenant_scope``. The wrapped function receives the
UnitOfWork and the tenant, never a raw session. An exception rolls the
transaction back and arq retries the job (bounded by ``max_tries``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from backend.db.uow import UnitOfWork
from backend.logs import bind, log_context
from tenants.registry import TenantRef, registry
from tenants.scope import shared_scope, tenant_scope

TenantJob = Callable[..., Awaitable[Any]]


class UnknownTenant(RuntimeError):
    pass


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
        try:
            async with tenant_scope(tenant) as uow:
                return await fn(ctx, uow, tenant, **kwargs)
        finally:
            log_context.reset(token)

    run.__qualname__ = fn.__name__
    return run


def shared_job(fn: Callable[..., Awaitable[Any]]) -> TenantJob:
    @functools.wraps(fn)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        async with shared_scope() as uow:
            return await fn(ctx, uow, **kwargs)

    run.__qualname__ = fn.__name__
    return run


__all__ = ["UnitOfWork", "shared_job", "tenant_job"]
