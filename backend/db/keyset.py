"""Keyset pagination for SQLAlchemy selects: ``(sort value, id)`` after the cursor, one query per page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.errors import FieldError, Invalid
from backend.kit.pagination import PageOf, clamp_limit, decode_cursor, encode_cursor


def like_escaped(text: str) -> str:
    """``text`` with the LIKE wildcards and the escape character taken literally (use escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    """An ILIKE pattern matching ``text`` anywhere, its own wildcards taken literally (use escape='\\')."""
    return "%" + like_escaped(text) + "%"


def as_text(value: Any) -> Any:
    return str(value)


def as_timestamp(value: Any) -> Any:
    return datetime.fromisoformat(str(value))


async def keyset_page(
    session: AsyncSession, query: Select[Any], *, sort_column: Any, id_column: Any, descending: bool,
    cursor: str | None, limit: int, value_of: Callable[[Any], Any], parse_value: Callable[[Any], Any] = as_text,
) -> PageOf[Any]:
    limit = clamp_limit(limit)
    after = decode_cursor(cursor, 2)
    if after is not None:
        try:
            last = (parse_value(after[0]), uuid.UUID(str(after[1])))
        except ValueError as exc:
            raise Invalid("Invalid cursor.", [FieldError("cursor", "not a cursor from this list")]) from exc
        key = tuple_(sort_column, id_column)
        query = query.where(key < tuple_(*last) if descending else key > tuple_(*last))
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column.asc(), id_column.asc())
    rows = list((await session.execute(query.order_by(*order).limit(limit + 1))).scalars())
    more, rows = len(rows) > limit, rows[:limit]
    if not (more and rows):
        return PageOf(rows, None)
    value = value_of(rows[-1])
    return PageOf(rows, encode_cursor([value.isoformat() if isinstance(value, datetime) else value,
                                       str(rows[-1].id)]))
