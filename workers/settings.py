"""arq WorkerSettings, built at start-up from Settings (no I/O at import)."""

from __future__ import annotations

from typing import Any, cast

from arq.worker import Worker, func

from backend import logs
from backend.config import Settings
from backend.db.database import Database, current_database, get_database, set_database
from backend.integrations.mailer import Mailer
from backend.kit.jobs import current_job_sender, set_job_sender
from backend.queue import arq_sender, redis_settings
from workers.decorators import MAX_TRIES
from workers.jobs.mail import send_invitation, send_password_reset

# Mail jobs keep no result: their arguments (an invitation token) must not linger in Redis.
FUNCTIONS: list[Any] = [func(cast(Any, job), keep_result=0) for job in (send_password_reset, send_invitation)]


def build_worker(settings: Settings, *, database: Database | None = None, burst: bool = False,
                 extra_functions: list[Any] | None = None, retry_base_seconds: float = 2.0) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["previous_globals"] = (current_database(), current_job_sender())
        if database is None:
            set_database(Database({"default": settings.database_url or ""}, pool_size=4, max_overflow=4))
        else:
            set_database(database)
        set_job_sender(arq_sender(ctx["redis"], settings.queue_name))
        ctx["settings"] = settings
        ctx["max_tries"] = MAX_TRIES
        ctx["retry_base_seconds"] = retry_base_seconds
        ctx["mailer"] = Mailer(settings.mail_from, settings.smtp_url, settings.data_dir / "mail")

    async def shutdown(ctx: dict[str, Any]) -> None:
        if database is None:
            await get_database().dispose()
        previous_db, previous_sender = ctx.get("previous_globals", (None, None))
        set_database(previous_db)
        set_job_sender(previous_sender)

    return Worker(
        functions=[*FUNCTIONS, *(extra_functions or [])],
        redis_settings=redis_settings(settings.redis_url or ""),
        queue_name=settings.queue_name,
        health_check_key=f"{settings.queue_name}:health-check",
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        max_tries=MAX_TRIES,
        keep_result=3600,
        handle_signals=not burst,
        job_timeout=300,
    )


async def run_worker(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_json)
    worker = build_worker(settings)
    try:
        await worker.async_run()
    finally:
        await worker.close()
