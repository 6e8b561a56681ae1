"""arq connection settings and the after-commit job sender."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool

from backend.db.uow import JobRequest

QUEUE_NAME = "tandem:queue"  # default; Settings.queue_name is what app and worker use


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def connect(url: str, queue_name: str = QUEUE_NAME) -> ArqRedis:
    return await create_pool(redis_settings(url), default_queue_name=queue_name)


def arq_sender(pool: ArqRedis, queue_name: str = QUEUE_NAME) -> Any:
    async def send(jobs: Sequence[JobRequest]) -> None:
        for job in jobs:
            # A deterministic job id: arq refuses a duplicate while the first is queued or kept.
            await pool.enqueue_job(job.function, _job_id=job.job_id, _queue_name=queue_name, **job.kwargs)

    return send
