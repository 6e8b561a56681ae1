"""Idempotency-Key on POST: a retried request gets the first answer instead of a second record.

Keys are scoped to the tenant (``tandem:t:<tenant id>:idem:<sha256(key)>``) and remembered for 24 h.
The first request marks the key as in progress; its response is stored only after the transaction
committed (a rollback stores nothing, so a retry runs again). A retry with the same key and the same
body gets the stored status, body and ETag with ``Idempotent-Replayed: true``; the same key with a
different body is a 422; a retry while the first is still running is a 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from backend.api.context import TenantContext
from backend.kit.errors import Conflict, FieldError, Invalid

HEADER = "idempotency-key"
REMEMBER_SECONDS = 24 * 3600
PENDING_SECONDS = 60
PENDING = b"pending"


def _key(ctx: TenantContext, raw: str) -> str:
    return f"tandem:t:{ctx.tenant.id}:idem:{hashlib.sha256(raw.encode()).hexdigest()}"


async def _fingerprint(request: Request[Any, Any, Any], ctx: TenantContext) -> str:
    body = await request.body()
    who = f"{request.method} {request.url.path} {ctx.actor.user_id} {ctx.actor.api_key_id}"
    return hashlib.sha256(who.encode() + b"\n" + body).hexdigest()


async def idempotent(request: Request[Any, Any, Any], ctx: TenantContext,
                     produce: Callable[[], Awaitable[Response[Any]]]) -> Response[Any]:
    raw = request.headers.get(HEADER)
    if raw is None:
        return await produce()
    if not 1 <= len(raw) <= 255 or not raw.isprintable():
        raise Invalid("Invalid Idempotency-Key.", [FieldError("Idempotency-Key", "1-255 printable characters")])
    redis = request.app.state.redis
    key, fingerprint = _key(ctx, raw), await _fingerprint(request, ctx)
    if not await redis.set(key, PENDING, nx=True, ex=PENDING_SECONDS):
        stored = await redis.get(key)
        if stored is None or stored == PENDING:
            raise Conflict("A request with this Idempotency-Key is still being processed.", "idempotency_in_progress")
        saved = json.loads(stored)
        if saved["fingerprint"] != fingerprint:
            raise Invalid("This Idempotency-Key was used for a different request.",
                          [FieldError("Idempotency-Key", "already used with another body")], "idempotency_key_reused")
        return Response(content=saved["body"].encode(), status_code=saved["status"], media_type="application/json",
                        headers={**saved["headers"], "Idempotent-Replayed": "true"})
    try:
        response = await produce()
    except BaseException:
        await redis.delete(key)
        raise
    body = msgspec.json.encode(response.content).decode()
    headers = {k: v for k, v in response.headers.items() if k.lower() == "etag"}
    record = json.dumps({"fingerprint": fingerprint, "status": response.status_code, "body": body, "headers": headers})

    async def remember() -> None:
        await redis.set(key, record, ex=REMEMBER_SECONDS)

    ctx.uow.after_commit(remember)
    return response
