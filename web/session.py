"""The browser session: an access token in an HTTP-only cookie, plus one-shot flash messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, Response

from backend.config import Settings

SESSION_COOKIE = "tandem_session"
FLASH_COOKIE = "tandem_flash"
CSRF_COOKIE = "tandem_csrf"


def session_token(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) < 200 else None


def start_session(response: Response[Any], token: str, expires_at: datetime, settings: Settings) -> None:
    response.set_cookie(SESSION_COOKIE, token, expires=int(expires_at.timestamp()), httponly=True,
                        secure=settings.cookie_secure, samesite="lax", path="/")


def end_session(response: Response[Any]) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def flash(response: Response[Any], text: str, level: str = "success") -> None:
    """Queue a message for the next page; ``text`` is already translated."""
    response.set_cookie(FLASH_COOKIE, quote(json.dumps([{"level": level, "text": text}])), httponly=True,
                        samesite="lax", path="/", max_age=60)


def take_flashes(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    from urllib.parse import unquote

    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(unquote(raw))
    except ValueError:
        return []
    return [{"level": str(i.get("level", "info")), "text": str(i.get("text", ""))} for i in items
            if isinstance(i, dict)][:5]
