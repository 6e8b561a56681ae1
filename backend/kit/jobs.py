"""The seam between the UnitOfWork and the job queue.

Scopes hand the jobs a UnitOfWork collected to ``send_jobs`` after commit; the
composition root (API app, worker, CLI) installs the real sender (arq).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from backend.db.uow import JobRequest

log = logging.getLogger(__name__)

JobSender = Callable[[Sequence[JobRequest]], Awaitable[None]]

_sender: JobSender | None = None


def set_job_sender(sender: JobSender | None) -> None:
    global _sender
    _sender = sender


def current_job_sender() -> JobSender | None:
    return _sender


async def send_jobs(jobs: Sequence[JobRequest]) -> None:
    if not jobs:
        return
    if _sender is None:
        log.error("no job sender configured; dropping %d job(s): %s", len(jobs), [j.function for j in jobs])
        return
    await _sender(jobs)
