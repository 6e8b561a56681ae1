"""Every error leaves as RFC 9457 problem+json; no stack trace reaches a client."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import IntegrityError

from backend.kit.errors import DomainError
from backend.logs import ensure_request_id

log = logging.getLogger("tandem.api")
PROBLEM_JSON = "application/problem+json"


def problem(
    request: Request[Any, Any, Any], status: int, code: str, detail: str,
    errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    body["request_id"] = ensure_request_id()  # bound, so the X-Request-ID header matches the body
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    errors = [{"field": e.field, "reason": e.reason} for e in exc.errors]
    return problem(request, exc.status, exc.code, exc.detail, errors, exc.headers or None)


_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
_UNIQUE_KEY = re.compile(r"Key \(([a-z_]+)\)=")


def _reason_of(item: dict[str, Any]) -> str:
    message = str(item.get("message", "invalid"))
    if message in {"'data'", '"data"', "data"}:  # Litestar's KeyError text for an absent/null body
        return "a JSON object body is required"
    return message


def _field_of(item: dict[str, Any]) -> str:
    # msgspec reports missing and unknown fields at the object (`$`), naming the field in the message.
    named = _NAMED_FIELD.search(str(item.get("message", "")))
    if named:
        return named.group(1)
    key = item.get("key")
    if key == "data":  # Litestar's internal name for the request body
        return "body"
    if key:
        return str(key)
    source = item.get("source")
    return str(source) if source else "body"


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        errors = [{"field": _field_of(i), "reason": _reason_of(i)} for i in extra
                  if isinstance(i, dict)]
        if errors:
            return problem(request, 422, "validation_failed", "The request has invalid fields.", errors)
        return problem(request, 400, "malformed_request", _safe_detail(exc.detail, "The request body is malformed."))
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
            429: "rate_limited"}.get(status, "http_error")
    if status >= 500:
        log.error("http error %s on %s", status, request.url.path)
        return problem(request, status, "server_error", "The server could not complete the request.")
    default = HTTPStatus(status).description or HTTPStatus(status).phrase
    return problem(request, status, code, _safe_detail(exc.detail, default), headers=exc.headers or None)


def on_integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    """A unique violation is a lost race between two requests (e.g. concurrent signups): a conflict."""
    if getattr(exc.orig, "sqlstate", None) != "23505":
        return on_unexpected(request, exc)
    column = _UNIQUE_KEY.search(str(getattr(getattr(exc.orig, "__cause__", None), "detail", None) or ""))
    errors = [{"field": column.group(1), "reason": "already taken"}] if column else None
    return problem(request, 409, "conflict", "That already exists (another request just created it).", errors)


def on_undecodable(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[dict[str, Any]]:
    """msgspec raises UnicodeDecodeError (not a DecodeError Litestar would map) for a body that is not UTF-8."""
    return problem(request, 400, "malformed_request", "The request body is not valid UTF-8.")


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(request, 500, "internal_error", "Something went wrong on our side; it has been logged.")


def _safe_detail(detail: str | None, fallback: str) -> str:
    if not detail or len(detail) > 300 or "Traceback" in detail:
        return fallback
    return detail


exception_handlers: dict[Any, Any] = {
    DomainError: on_domain_error,
    HTTPException: on_http_exception,
    IntegrityError: on_integrity_error,
    UnicodeDecodeError: on_undecodable,
    Exception: on_unexpected,
}
_ = MediaType
