"""Opaque keyset cursors: the last row's sort values, base64url-encoded JSON."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from backend.kit.errors import FieldError, Invalid

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class PageOf(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise Invalid("Invalid cursor.", [FieldError("cursor", "not a cursor from this list")]) from exc
    if not isinstance(values, list) or len(values) != size:
        raise Invalid("Invalid cursor.", [FieldError("cursor", "not a cursor from this list")])
    return values


def clamp_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("Invalid page size.", [FieldError("limit", f"1-{MAX_LIMIT}")])
    return limit
