"""ASGI middleware: request id, access log line, context reset."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.logs import ensure_request_id, log_context, request_id_var

log = logging.getLogger("tandem.access")
_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _RID.fullmatch(incoming) else uuid.uuid4().hex
        rid_token, ctx_token = request_id_var.set(rid), log_context.set({})
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %s %.1fms", scope.get("method", "-"), scope["path"], status["code"],
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(rid_token)
            log_context.reset(ctx_token)

    return middleware


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """before_send hook: every response (unmatched routes included) carries X-Request-ID."""
    if message["type"] != "http.response.start":
        return
    rid = ensure_request_id()
    headers = list(message.get("headers", []))
    if not any(name.lower() == b"x-request-id" for name, _ in headers):
        headers.append((b"x-request-id", rid.encode()))
    message["headers"] = headers
