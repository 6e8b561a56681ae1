"""One exception handler table for the whole app, split by channel.

``/api/…`` and the probes answer RFC 9457 problem+json; every other path is a
browser page and gets a friendly HTML page (or a redirect to login).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import IntegrityError

from backend.api import problems
from backend.kit.errors import DomainError
from web import errors as pages
from web.context import LoginRequired

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def is_api(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/api" or path in {"/healthz", "/readyz"}


def by_channel(api: Handler, web: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        return api(request, exc) if is_api(request) else web(request, exc)

    return handle


def _web_integrity(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return pages.error_page(request, 409)
    return pages.on_unexpected(request, exc)


def _web_undecodable(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    return pages.error_page(request, 400)


exception_handlers: dict[Any, Handler] = {
    LoginRequired: pages.on_login_required,
    DomainError: by_channel(problems.on_domain_error, pages.on_domain_error),
    HTTPException: by_channel(problems.on_http_exception, pages.on_http_exception),
    IntegrityError: by_channel(problems.on_integrity_error, _web_integrity),
    UnicodeDecodeError: by_channel(problems.on_undecodable, _web_undecodable),
    Exception: by_channel(problems.on_unexpected, pages.on_unexpected),
}
