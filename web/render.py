"""Rendering pages with the shared layout context, and running form actions safely."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from backend.kit.errors import DomainError
from web import i18n
from web.context import Page
from web.session import FLASH_COOKIE, flash, take_flashes

T = TypeVar("T")


def layout_context(request: Request[Any, Any, Any], page: Page | None) -> dict[str, Any]:
    return {
        "request": request,
        "user": page.user if page else None,
        "tenant": page.tenant if page else None,
        "role": page.role if page else None,
        "company": page.company if page else None,
        "modules": page.modules if page else [],
        "base": page.base if page else "",
        "locale": i18n.current_locale.get(),
        "languages": i18n.LANGUAGES,
        "flashes": take_flashes(request),
        "path": request.url.path,
    }


def render(page: Page, template: str, status: int = 200, **context: Any) -> Template:
    return render_for(page.request, page, template, status, **context)


def render_for(request: Request[Any, Any, Any], page: Page | None, template: str, status: int = 200,
               **context: Any) -> Template:
    cookies = [Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/")] if request.cookies.get(FLASH_COOKIE) else []
    return Template(template_name=template, context={**layout_context(request, page), **context},
                    status_code=status, cookies=cookies)


def redirect(path: str, message: str | None = None, level: str = "success") -> Redirect:
    response = Redirect(path=path, status_code=303)
    if message:
        flash(response, message, level)
    return response


def field_errors(exc: DomainError) -> dict[str, str]:
    """A domain error as {field: translated reason}; the summary goes under ``__all__``."""
    errors = {e.field: i18n.gettext(e.reason) for e in exc.errors}
    errors["__all__"] = i18n.gettext(exc.detail)
    return errors


def form_version(data: Mapping[str, Any]) -> int | None:
    """The record version a form was rendered with (If-Match semantics): None when absent, and a mangled one
    becomes -1, which never matches, so nothing is overwritten."""
    raw = data.get("version", "")
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 10 else -1


async def attempt(page: Page, action: Callable[[], Awaitable[T]]) -> tuple[T | None, DomainError | None]:
    """Run a service call in a savepoint: on a domain error nothing of it is kept."""
    try:
        async with page.uow.savepoint():
            return await action(), None
    except DomainError as exc:
        return None, exc
