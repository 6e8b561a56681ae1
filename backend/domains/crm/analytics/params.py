"""The report query, parsed once for the API and the pages: every bad parameter is reported at once (400).

Parameters (all optional, all text as they come from a query string):

* ``from``, ``to``: ISO dates, both inclusive, in the company's time zone; ``to`` defaults to today and ``from`` to
  the first day of the month eleven months before ``to`` (the last twelve calendar months); at most five years.
* ``pipeline_id``: a pipeline (the funnel defaults to the default pipeline; other reports cover every pipeline).
* ``currency``: a three-letter code (ABC/XYZ/BCG default to the company's base currency).
* ``abc``: three percentages ``A,B,C`` adding up to exactly 100 (default ``80,15,5``).
* ``xyz``: two increasing limits of the coefficient of variation ``X,Y`` (default ``0.5,1.0``): X <= 0.5 < Y <= 1.0 < Z.
* ``share``: the relative revenue share from which an account counts as "high share" (0 < share <= 1, default 0.5).
* ``growth``: the growth in percent from which an account counts as "high growth" (default 10).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from backend.kit.errors import DomainError, FieldError

DEFAULT_ABC = (Decimal(80), Decimal(15), Decimal(5))
DEFAULT_XYZ = (Decimal("0.5"), Decimal("1.0"))
DEFAULT_SHARE = Decimal("0.5")
DEFAULT_GROWTH = Decimal(10)
MAX_DAYS = 5 * 366
FIELDS = ("from", "to", "pipeline_id", "currency", "abc", "xyz", "share", "growth")


CODE = "invalid_report_query"


def bad_query(errors: list[FieldError]) -> DomainError:
    """Query parameters of a report that cannot be used: a 400 problem with one reason per field."""
    return DomainError("Please correct the report settings.", CODE, 400, errors)


@dataclass(frozen=True, slots=True)
class Period:
    """Calendar days, both ends inclusive, in the company's time zone."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class ReportQuery:
    period: Period
    pipeline_id: uuid.UUID | None = None
    currency: str | None = None
    abc: tuple[Decimal, Decimal, Decimal] = DEFAULT_ABC
    xyz: tuple[Decimal, Decimal] = DEFAULT_XYZ
    share: Decimal = DEFAULT_SHARE
    growth: Decimal = DEFAULT_GROWTH


def month_start(day: date, months_back: int = 0) -> date:
    """The first day of the month ``months_back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def default_period(today: date) -> Period:
    return Period(month_start(today, 11), today)


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def fail(self, field: str, reason: str) -> None:
        self.items.append(FieldError(field, reason))


def _text(raw: Mapping[str, str | None], field: str) -> str | None:
    value = raw.get(field)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(errors: _Errors, raw: Mapping[str, str | None], field: str) -> date | None:
    value = _text(raw, field)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not 1900 <= parsed.year <= 2999:
        errors.fail(field, "a date such as 2026-12-31")
        return None
    return parsed


def _decimals(value: str, count: int) -> list[Decimal] | None:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != count:
        return None
    try:
        numbers = [Decimal(p) for p in parts]
    except InvalidOperation:
        return None
    if not all(n.is_finite() for n in numbers):
        return None
    return numbers


def _abc(errors: _Errors, raw: Mapping[str, str | None]) -> tuple[Decimal, Decimal, Decimal]:
    value = _text(raw, "abc")
    if value is None:
        return DEFAULT_ABC
    numbers = _decimals(value, 3)
    if numbers is None or any(n < 0 or n > 100 for n in numbers) or numbers[0] <= 0 or sum(numbers) != 100:
        errors.fail("abc", "three percentages for A, B and C that add up to 100, e.g. 80,15,5")
        return DEFAULT_ABC
    return numbers[0], numbers[1], numbers[2]


def _xyz(errors: _Errors, raw: Mapping[str, str | None]) -> tuple[Decimal, Decimal]:
    value = _text(raw, "xyz")
    if value is None:
        return DEFAULT_XYZ
    numbers = _decimals(value, 2)
    if numbers is None or numbers[0] < 0 or numbers[1] <= numbers[0] or numbers[1] > 100:
        errors.fail("xyz", "two increasing limits for X and Y, e.g. 0.5,1.0")
        return DEFAULT_XYZ
    return numbers[0], numbers[1]


def _one_number(errors: _Errors, raw: Mapping[str, str | None], field: str, default: Decimal, low: Decimal,
                high: Decimal, reason: str, *, low_open: bool = False) -> Decimal:
    value = _text(raw, field)
    if value is None:
        return default
    numbers = _decimals(value, 1)
    number = numbers[0] if numbers else None
    if number is None or number > high or number < low or (low_open and number == low):
        errors.fail(field, reason)
        return default
    return number


def parse(raw: Mapping[str, str | None], *, today: date) -> ReportQuery:
    """A report query from raw query parameters; raises a 400 ``invalid_report_query`` naming every bad one."""
    errors = _Errors()
    start, end = _date(errors, raw, "from"), _date(errors, raw, "to")
    end = end or today
    start = start or month_start(end, 11)
    if start > end:
        errors.fail("from", "must not be after to")
    elif (end - start).days >= MAX_DAYS:
        errors.fail("from", "at most five years before to")
    pipeline_id = None
    if (value := _text(raw, "pipeline_id")) is not None:
        try:
            pipeline_id = uuid.UUID(value)
        except ValueError:
            errors.fail("pipeline_id", "not an id")
    currency = _text(raw, "currency")
    if currency is not None:
        if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
            errors.fail("currency", "a three-letter currency code")
        currency = currency.upper()
    query = ReportQuery(
        period=Period(start, end), pipeline_id=pipeline_id, currency=currency, abc=_abc(errors, raw),
        xyz=_xyz(errors, raw),
        share=_one_number(errors, raw, "share", DEFAULT_SHARE, Decimal(0), Decimal(1),
                          "a relative share above 0 and at most 1, e.g. 0.5", low_open=True),
        growth=_one_number(errors, raw, "growth", DEFAULT_GROWTH, Decimal(-100), Decimal(10000),
                           "a growth in percent between -100 and 10000, e.g. 10"),
    )
    if errors.items:
        raise bad_query(errors.items)
    return query
