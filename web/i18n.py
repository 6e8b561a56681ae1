"""Languages, message catalogs and locale-aware formatting for the web pages.

Catalogs are the gettext ``.po`` files under ``web/translations/<lang>/LC_MESSAGES``;
they are compiled in memory on first use, so no binary ``.mo`` file is committed.
The request's language lives in a context variable set by the web dependency:
the user's profile language, else the browser's Accept-Language, else English.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어", "ja": "日本語", "ru": "Русский"}
DEFAULT = "en"
CATALOGS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"

current_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT)
current_timezone: ContextVar[str] = ContextVar("timezone", default="UTC")


@lru_cache(maxsize=8)
def catalog(language: str) -> NullTranslations:
    po = CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        parsed = read_po(source, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, parsed, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str) -> str:
    return catalog(current_locale.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(current_locale.get()).ungettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in one of its senses: the same English word used with another meaning elsewhere (a date range's
    "From" and a stage move's "From") gets a ``msgctxt`` of its own, so translators can translate each sense."""
    return catalog(current_locale.get()).upgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return catalog(current_locale.get()).unpgettext(context, singular, plural, n)


def lazy(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


def lazy_with_context(context: str, message: str) -> tuple[str, str]:
    """Like :func:`lazy`, for a message with a context: translate it with ``pgettext(*pair)`` where it is shown."""
    return context, message


def negotiate(preferred: str | None, accept_language: str | None) -> str:
    if preferred in LANGUAGES:
        return preferred
    wanted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            wanted.append((quality, tag.strip()))
    choice = Locale.negotiate([t for _, t in sorted(wanted, key=lambda w: -w[0])], list(LANGUAGES), sep="-")
    return str(choice) if choice is not None and str(choice) in LANGUAGES else DEFAULT


def _locale() -> Locale:
    try:
        return Locale.parse(current_locale.get())
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_timezone.get())
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return dates.format_datetime(value, format=fmt, tzinfo=_zone(), locale=_locale())


def format_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone()).date()
    return dates.format_date(value, format=fmt, locale=_locale())


def format_number(value: int | float | Decimal | None, exact: bool = False) -> str:
    """``exact``: every decimal of the value is shown (the default pattern rounds to three)."""
    return "" if value is None else numbers.format_decimal(value, locale=_locale(), decimal_quantization=not exact)


def format_money(value: Decimal | int | None, currency: str) -> str:
    return "" if value is None else numbers.format_currency(value, currency, locale=_locale())


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        return False
    return True
