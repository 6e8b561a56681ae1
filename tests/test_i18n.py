"""Message catalogs: the template is current, ko/ja/ru translate all of it, and the locale reaches the pages.

When a test here fails after you added or changed a user-facing string, run ``make i18n``
(``python -m web.i18n_extract``) and translate the new entries in ``web/translations/*/LC_MESSAGES``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

from web import i18n
from web.i18n_extract import KEYWORDS, TEMPLATE, TRANSLATIONS, extract_python, merge, placeholders, run

LANGUAGES = ("ko", "ja", "ru")
PLURAL_FORMS = {"ko": 1, "ja": 1, "ru": 3}
PINNED = {  # browser tests look for these
    "Log out": {"ko": "로그아웃", "ja": "ログアウト", "ru": "Выйти"},
    "Members": {"ko": "구성원", "ja": "メンバー", "ru": "Участники"},
    "Profile": {"ko": "프로필", "ja": "プロフィール", "ru": "Профиль"},
    "Save": {"ko": "저장", "ja": "保存", "ru": "Сохранить"},
    "Language": {"ko": "언어", "ja": "言語", "ru": "Язык"},
}


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


@cache
def template() -> Catalog:
    return _read(TEMPLATE)


@cache
def translations(language: str) -> Catalog:
    return _read(TRANSLATIONS / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po", language)


def _ids(catalog: Catalog) -> set[tuple[str | tuple[str, ...], str | None]]:
    """Each message as (msgid, msgctxt): one English word used in two senses is two messages."""
    return {(message.id, message.context) for message in catalog if message.id}


def _forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, tuple | list) else (message.string or "",)


def _template_messages() -> Iterator[Message]:
    return (message for message in template() if message.id)


@pytest.fixture
def locale() -> Iterator[None]:
    """Tests set ``current_locale`` freely; it is put back afterwards."""
    token = i18n.current_locale.set(i18n.DEFAULT)
    yield
    i18n.current_locale.reset(token)


# (a) the committed template is what the sources say today


def test_template_matches_a_fresh_extraction(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    run(pot=fresh, directory=None, report=lambda _: None)
    extracted, committed = _ids(_read(fresh)), _ids(template())
    assert not extracted - committed, f"new strings, run `make i18n`: {sorted(map(str, extracted - committed))}"
    assert not committed - extracted, f"gone strings, run `make i18n`: {sorted(map(str, committed - extracted))}"


def test_template_covers_strings_no_extractor_sees() -> None:
    from backend.domains.billing.plans import PLANS
    from backend.kit.modules import MODULES
    from web.errors import CSRF_MESSAGE, MESSAGES, TITLES
    from web.templating import ROLE_LABELS

    registry = {CSRF_MESSAGE, *TITLES.values(), *MESSAGES.values(), *ROLE_LABELS.values(),
                *(p.name for p in PLANS), *(p.summary for p in PLANS),
                *(m.label for m in MODULES.values()), *(m.description for m in MODULES.values()),
                *(item.label for m in MODULES.values() for item in m.nav)}
    plain = {msgid for msgid, context in _ids(template()) if context is None}
    assert registry <= plain
    assert {"Not found.", "Authentication required.", "You are not allowed to do this."} <= plain


def test_extractor_takes_only_string_literals() -> None:
    source = b'''
raise Invalid("Unknown plan.", [FieldError("plan", "one of: " + ", ".join(codes))], "invalid_plan")
raise Invalid("Password too weak.", [FieldError(field, f"at least {n} characters")])
raise NotFound(detail="No such " "thing.")
raise Conflict(message)
i18n.ngettext("%(num)d seat", "%(num)d seats", n)
FieldError(field="slug", reason="already taken")
'''
    found = list(extract_python(io.BytesIO(source), {"Invalid", "FieldError", "NotFound", "Conflict", "ngettext"},
                                (), {}))
    messages = [(name, args) for _, name, args, _ in found]
    assert ("Invalid", ("Unknown plan.", None, "invalid_plan")) in messages
    assert ("FieldError", ("plan", None)) in messages
    assert ("NotFound", ("No such thing.",)) in messages
    assert ("ngettext", ("%(num)d seat", "%(num)d seats", None)) in messages
    assert ("FieldError", (None, "already taken")) in messages
    assert ("Invalid", ("Password too weak.", None)) in messages
    assert all(name != "Conflict" for name, _ in messages)
    assert len(messages) == 6  # the f-string reason gives nothing


def test_extractor_reads_message_contexts() -> None:
    """``pgettext``/``npgettext`` (Python and templates) and ``lazy_with_context`` give messages with a msgctxt."""
    keywords = parse_keywords(KEYWORDS)
    python = b'''
i18n.pgettext("date range", "From")
i18n.npgettext("import", "%(num)s row", "%(num)s rows", n)
KINDS = {"won": i18n.lazy_with_context("stage kind", "Won")}
i18n.gettext("From")
'''
    found = {(message, context) for _, message, _, context in extract(extract_python, io.BytesIO(python), keywords)}
    assert found == {("From", "date range"), (("%(num)s row", "%(num)s rows"), "import"), ("Won", "stage kind"),
                     ("From", None)}
    template = b'{{ pgettext("stage move", "To") }} {{ npgettext("x", "%(num)d deal", "%(num)d deals", 2) }}'
    found = {(message, context) for _, message, _, context in extract(
        "jinja2", io.BytesIO(template), keywords, options={"extensions": "jinja2.ext.i18n"})}
    assert found == {("To", "stage move"), (("%(num)d deal", "%(num)d deals"), "x")}


def test_words_used_in_two_senses_have_a_context_each() -> None:
    ids = _ids(template())
    for msgid, contexts in {"From": ("date range", "stage move"), "To": ("date range", "stage move"),
                            "Won": ("number of deals", "stage kind"), "Lost": ("number of deals", "stage kind"),
                            "Open": ("stage kind",), "Upload": ("import step",)}.items():
        for context in contexts:
            assert (msgid, context) in ids, (msgid, context)
    assert ("Upload", None) in ids  # the button keeps the plain verb
    assert ("From", None) not in ids  # every "From" says which one it is


def test_merge_keeps_translations_also_of_returning_messages(tmp_path: Path) -> None:
    po = tmp_path / "ko" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Language: ko\\n"\n\nmsgid "Gone"\nmsgstr "사라짐"\n\n'
                  '#~ msgid "Log out"\n#~ msgstr "로그아웃"\n', "utf-8")
    fresh = Catalog()
    fresh.add("Log out", locations=[("web/templates/base.html", 18)])
    fresh.add("Remove", locations=[("web/templates/app/members.html", 53)])
    merged = merge(fresh, "ko", tmp_path)
    assert merged["Log out"].string == "로그아웃"
    assert not merged["Log out"].fuzzy
    assert not merged["Remove"].string
    assert "Gone" not in merged
    assert "Gone" in merged.obsolete


def test_merge_keeps_each_sense_of_a_word(tmp_path: Path) -> None:
    po = tmp_path / "ru" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Language: ru\\n"\n\nmsgctxt "date range"\nmsgid "From"\nmsgstr "С"\n\n'  # noqa: RUF001
                  '#~ msgctxt "stage move"\n#~ msgid "From"\n#~ msgstr "Откуда"\n', "utf-8")
    fresh = Catalog()
    fresh.add("From", locations=[("web/templates/crm/_reports_filter.html", 8)], context="date range")
    fresh.add("From", locations=[("web/templates/crm/deal_card.html", 141)], context="stage move")
    merged = merge(fresh, "ru", tmp_path)
    assert merged.get("From", context="date range").string == "С"  # noqa: RUF001 (Cyrillic on purpose)
    assert merged.get("From", context="stage move").string == "Откуда"
    assert not merged.get("From", context="stage move").fuzzy


# (b) every message is translated, and the catalogs follow the template


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    catalog = translations(language)
    assert not catalog.fuzzy
    missing = []
    for message in _template_messages():
        translated = catalog.get(message.id, context=message.context)
        if translated is None or translated.fuzzy or not all(form.strip() for form in _forms(translated)):
            missing.append((message.id, message.context))
    assert not missing, f"{language}: untranslated or fuzzy, see `make i18n`: {missing}"
    assert _ids(catalog) == _ids(template()), f"{language}: catalog out of date, run `make i18n`"


@pytest.mark.parametrize("language", LANGUAGES)
def test_pinned_translations(language: str) -> None:
    for msgid, expected in PINNED.items():
        assert translations(language)[msgid].string == expected[language]


# (c) placeholders survive translation


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    wrong = []
    for message in _template_messages():
        translated = translations(language).get(message.id, context=message.context)
        if translated is None:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        expected = {tuple(placeholders(text)) for text in ids}
        assert len(expected) == 1, f"singular and plural msgids differ in placeholders: {message.id}"
        for form in _forms(translated):
            # Jinja's newstyle gettext always %-formats: a stray "%" in a translation breaks the page.
            if tuple(placeholders(form)) not in expected or _bare_percents(form) != _bare_percents(ids[0]):
                wrong.append((message.id, form))
    assert not wrong, f"{language}: placeholders differ from the msgid: {wrong}"


def _bare_percents(text: str) -> int:
    for placeholder in placeholders(text):
        text = text.replace(placeholder, "")
    return text.count("%")


def test_placeholder_pattern() -> None:
    assert placeholders("%(name)s owes %(amount).2f, %(num)d seats, 100%") == ["%(amount).2f", "%(name)s", "%(num)d"]


# (d) plural forms per language


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms(language: str) -> None:
    catalog = translations(language)
    assert catalog.num_plurals == PLURAL_FORMS[language]
    plurals = [m for m in _template_messages() if isinstance(m.id, tuple | list)]
    assert plurals, "the template has plural messages (ngettext)"
    for message in plurals:
        translated = catalog.get(message.id, context=message.context)
        assert translated is not None, message.id
        assert isinstance(translated.string, tuple | list), message.id
        assert len(translated.string) == PLURAL_FORMS[language], (message.id, translated.string)


def test_russian_plural_forms_at_runtime(locale: None) -> None:
    i18n.current_locale.set("ru")
    seats = [i18n.ngettext("%(num)d seat", "%(num)d seats", n) % {"num": n} for n in (1, 3, 5, 11, 21, 22)]
    assert seats == ["1 пользователь", "3 пользователя", "5 пользователей", "11 пользователей",
                     "21 пользователь", "22 пользователя"]


def test_russian_plural_forms_of_counts_in_pages(locale: None) -> None:
    i18n.current_locale.set("ru")
    rows = [i18n.ngettext("%(num)s row", "%(num)s rows", n) % {"num": n} for n in (1, 3, 5, 11, 21, 22)]
    assert rows == ["1 строка", "3 строки", "5 строк", "11 строк", "21 строка", "22 строки"]
    i18n.current_locale.set("ja")
    assert i18n.ngettext("%(num)s row", "%(num)s rows", 5) % {"num": 5} == "5行"


@pytest.mark.parametrize(("language", "dates", "moves"), [
    ("en", "From", "From"), ("ru", "С", "Откуда"),  # noqa: RUF001 (Cyrillic on purpose)
    ("ja", "開始日", "移動元"), ("ko", "시작일", "이전 단계"),
])
def test_pgettext_picks_the_sense(locale: None, language: str, dates: str, moves: str) -> None:
    i18n.current_locale.set(language)
    assert (i18n.pgettext("date range", "From"), i18n.pgettext("stage move", "From")) == (dates, moves)
    assert i18n.pgettext("no such context", "Log out") == "Log out"  # a sense nobody translated stays English


def test_templates_have_pgettext_npgettext_and_label_contexts(locale: None) -> None:
    from web.templating import template_config

    environment = template_config().to_engine().engine
    page = environment.from_string(
        '{{ pgettext("date range", "To") }}|{{ pgettext("stage move", "To") }}|'
        '{{ npgettext("no such context", "%(num)d deal", "%(num)d deals", 3) }}|'
        '{{ code | label("stage kind") }}|{{ code | label }}|{{ pgettext("number of deals", "Won") }}')
    i18n.current_locale.set("ru")
    assert page.render(code="won") == "По|Куда|3 deals|Выигрышный|Выиграна|Выиграно"
    i18n.current_locale.set("en")
    assert page.render(code="won") == "To|To|3 deals|Won|Won|Won"


# (e) gettext follows the request's language


@pytest.mark.parametrize(("language", "expected"), [
    ("ko", "로그아웃"), ("ja", "ログアウト"), ("ru", "Выйти"), ("en", "Log out"), ("xx", "Log out"), ("", "Log out"),
])
def test_gettext_follows_current_locale(locale: None, language: str, expected: str) -> None:
    i18n.current_locale.set(language)
    assert i18n.gettext("Log out") == expected
    assert i18n.gettext("A string nobody translated") == "A string nobody translated"


# (f) numbers, money and dates follow the locale


def _formatted(language: str) -> tuple[str, str, str, str]:
    i18n.current_locale.set(language)
    return (i18n.format_money(Decimal("1234.50"), "USD"), i18n.format_number(Decimal("1234.5")),
            i18n.format_date(date(2025, 3, 7)), i18n.format_date(date(2025, 3, 7), "long"))


def _plain(text: str) -> str:
    """CLDR separates with (narrow) no-break spaces; compare with plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_formatting_per_locale(locale: None) -> None:
    en, ko, ja, ru = (_formatted(language) for language in ("en", "ko", "ja", "ru"))
    assert en == ("$1,234.50", "1,234.5", "Mar 7, 2025", "March 7, 2025")
    assert _plain(ru[0]) == "1 234,50 $"  # comma decimals, grouped by spaces, the sign after
    assert _plain(ru[1]) == "1 234,5"
    assert _plain(ru[2]) == "7 мар. 2025 г."  # noqa: RUF001 (Cyrillic on purpose)
    assert ko[0] == "US$1,234.50"
    assert ko[2] == "2025. 3. 7."
    assert ko[3] == "2025년 3월 7일"
    assert ja[2] == "2025/03/07"
    assert ja[3] == "2025年3月7日"
    assert len({en[2], ko[2], ja[2], ru[2]}) == 4
    assert _formatted("xx") == en


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_markup_in_messages(language: str) -> None:
    """Jinja renders translations as trusted markup: a raw < or > would become an HTML element."""
    catalog = translations(language)
    offending = [m.id for m in _template_messages()
                 if any(ch in text for ch in "<>"
                        for text in (*_forms(catalog.get(m.id, context=m.context)), *_ids_of(m)))]
    assert not offending, f"{language}: messages with < or >: {offending}"


def _ids_of(message: object) -> tuple[str, ...]:
    ident = getattr(message, "id", "")
    return tuple(ident) if isinstance(ident, tuple) else (str(ident),)
