"""Friendly HTML error pages (404/403/429/500…) for the web channel; never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, cast

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from backend.kit.errors import DomainError
from backend.logs import ensure_request_id
from web import i18n
from web.context import SCOPE_USER, LoginRequired, login_url
from web.render import layout_context

log = logging.getLogger("tandem.web")

TITLES = {
    400: "Bad request", 401: "Please log in", 403: "Not allowed", 404: "Page not found",
    405: "Not allowed", 409: "Conflict", 413: "Too large", 422: "Please check your input",
    429: "Too many attempts", 500: "Something went wrong",
}
MESSAGES = {
    404: "This page does not exist, or you do not have access to it.",
    500: "We logged the problem and will look into it. Please try again in a moment.",
    429: "Please wait a little before trying again.",
    405: "This action is not available here.",
}
CSRF_MESSAGE = "Your form expired or came from another site. Go back, reload the page and try again."


def _language(request: Request[Any, Any, Any]) -> None:
    if i18n.current_locale.get() == i18n.DEFAULT:
        i18n.current_locale.set(i18n.negotiate(request.cookies.get("tandem_lang"),
                                               request.headers.get("accept-language")))


def error_page(request: Request[Any, Any, Any], status: int, message: str | None = None,
               headers: dict[str, str] | None = None) -> Response[Any]:
    _language(request)
    rid = ensure_request_id()
    title = i18n.gettext(TITLES.get(status, HTTPStatus(status).phrase))
    text = message or i18n.gettext(MESSAGES.get(status, HTTPStatus(status).description or title))
    context = {**layout_context(request, None), "title": title, "message": text, "request_id": rid,
               "user": cast(dict[str, Any], request.scope).get(SCOPE_USER)}
    return Template(template_name="errors/error.html", context=context, status_code=status, headers=headers)


def on_login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    return Redirect(login_url(exc.next_path), status_code=303)


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = exc.status if exc.status in TITLES or 400 <= exc.status < 600 else 400
    message = None if status == 404 else i18n.gettext(exc.detail)
    return error_page(request, status, message, exc.headers or None)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 403 and "CSRF" in (exc.detail or ""):
        _language(request)
        return error_page(request, 403, i18n.gettext(CSRF_MESSAGE))
    if exc.status_code >= 500:
        log.error("http error %s on %s", exc.status_code, request.url.path)
    return error_page(request, exc.status_code if exc.status_code >= 400 else 400)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(request, 500)
