"""UnitOfWork: one session, one transaction, and work deferred until commit.

Services receive a UnitOfWork. They may flush, never commit: the scope that
opened the UnitOfWork owns the transaction. Side effects (enqueue a job, send a
mail) are registered with ``after_commit`` and run only once the transaction
has committed; a rollback drops them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A background job to enqueue after commit, with a deterministic id."""

    function: str
    job_id: str
    kwargs: dict[str, Any]


@dataclass
class UnitOfWork:
    session: AsyncSession
    tenant_id: str | None = None
    schema: str | None = None
    _after_commit: list[AfterCommit] = field(default_factory=list)
    jobs: list[JobRequest] = field(default_factory=list)

    def after_commit(self, fn: AfterCommit) -> None:
        self._after_commit.append(fn)

    def enqueue(self, function: str, job_id: str, **kwargs: Any) -> None:
        """Queue a job; the scope sends it after commit (dropped on rollback)."""
        self.jobs.append(JobRequest(function=function, job_id=job_id, kwargs=kwargs))

    async def flush(self) -> None:
        await self.session.flush()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo everything done inside (rows, queued jobs, callbacks) if it raises.

        For adapters that catch a domain error and carry on (a form shown again with
        its errors): the outer transaction then commits nothing of the failed attempt.
        """
        jobs, callbacks = len(self.jobs), len(self._after_commit)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self.jobs[jobs:]
            del self._after_commit[callbacks:]
            raise

    async def run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for fn in callbacks:
            try:
                await fn()
            except Exception:
                log.exception("after-commit callback failed")

    def discard(self) -> None:
        self._after_commit.clear()
        self.jobs.clear()
