"""Times for interactions and tasks: parsing instants and days, and the caller's local day.

"Today", "overdue" and date filters are computed in the caller's time zone: the user's profile zone, else the
company's (API keys have no profile).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.company.models import CompanySettings
from backend.domains.crm.validate import Fields


def instant(check: Fields, data: dict[str, Any], field: str) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string; a time without an offset is refused."""
    raw = data.get(field)
    if raw is None or raw == "":
        return None
    value: datetime | None = raw if isinstance(raw, datetime) else None
    if value is None and isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            value = None
    if value is None:
        check.fail(field, "a date and time such as 2026-05-01T14:30:00+09:00")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        check.fail(field, "include a time zone offset, e.g. +09:00 or Z")
        return None
    if not 1970 <= value.year <= 2999:
        check.fail(field, "out of range")
        return None
    return value.astimezone(UTC)  # stored and answered in UTC, whatever offset it came with


def day(check: Fields, data: dict[str, Any], field: str) -> date | None:
    """A calendar day from a date or an ISO string (``2026-12-31``)."""
    raw = data.get(field)
    if raw is None or raw == "":
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        value: date | None = raw
    else:
        try:
            value = date.fromisoformat(str(raw).strip()) if isinstance(raw, str) else None
        except ValueError:
            value = None
    if value is None:
        check.fail(field, "a date such as 2026-12-31")
        return None
    if not 1970 <= value.year <= 2999:
        check.fail(field, "out of range")
        return None
    return value


def zone_named(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def caller_zone(uow: UnitOfWork, preferred: str | None) -> ZoneInfo:
    """The zone to compute local days in: ``preferred`` (the user's profile zone) if valid, else the company's."""
    zone = zone_named(preferred)
    if zone is not None:
        return zone
    company = (await uow.session.execute(select(CompanySettings.timezone))).scalar_one_or_none()
    return zone_named(company) or ZoneInfo("UTC")


def local_midnight(day_: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts. Where clocks skip midnight, 00:00 (fold 0, the offset before the jump) is
    the instant of the jump, which is the day's first instant."""
    return datetime.combine(day_, time(0), tzinfo=zone)


def day_bounds(day_: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day."""
    return local_midnight(day_, zone), local_midnight(day_ + timedelta(days=1), zone)


def period(raw_from: str | None, raw_to: str | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """A half-open [since, until) from ``from``/``to`` filters: each a local day (inclusive) or an instant."""
    check = Fields()
    bounds: list[datetime | None] = []
    for field, raw in (("from", raw_from), ("to", raw_to)):
        if raw is None or raw == "":
            bounds.append(None)
            continue
        if len(raw.strip()) == 10:
            found = day(check, {field: raw}, field)
            bounds.append(None if found is None else day_bounds(found, zone)[0 if field == "from" else 1])
        else:
            bounds.append(instant(check, {field: raw}, field))
    if bounds[0] is not None and bounds[1] is not None and bounds[1] <= bounds[0]:
        check.fail("to", "must be after from")
    check.done()
    return bounds[0], bounds[1]
