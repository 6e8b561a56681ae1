"""Collect every translatable string into ``web/translations/messages.pot`` and merge it into the catalogs.

Run ``python -m web.i18n_extract`` (or ``make i18n``) after adding or changing a user-facing string.

Two sources feed the template:

* the source files named in ``babel.cfg`` (Python under backend/, tenants/, web/ and the Jinja2
  templates), read with Babel's extraction API and the keywords in :data:`KEYWORDS` (the gettext
  functions, also ``pgettext``/``npgettext`` whose first argument becomes the ``msgctxt``, the
  domain error classes with their detail, ``FieldError`` with its reason, and the detail of a rate
  ``Limiter``);
* strings kept in registries that no extractor can see, because they sit in dictionaries or
  dataclasses and are translated where they are shown: error page titles and texts, module labels,
  descriptions and navigation items, plan names and summaries, role labels, and the default
  details of the domain error classes.

Each ``web/translations/<lang>/LC_MESSAGES/messages.po`` is then updated from the template:
existing translations are kept (also those of messages that had become obsolete and came back),
new messages are added untranslated, and messages gone from the sources are kept as obsolete
entries. Files are only rewritten when something besides their timestamps changed.

Python files are read by :func:`extract_python`, a stricter variant of Babel's ``python``
extractor: only string literals (or literals joined by ``+`` or implicit concatenation) are
messages, so ``FieldError("plan", "one of: " + ", ".join(codes))`` yields nothing instead of a
bogus ``"one of: , "`` msgid, and f-strings are never messages.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import io
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from web import i18n

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
TRANSLATIONS = i18n.CATALOGS
TEMPLATE = TRANSLATIONS / f"{i18n.DOMAIN}.pot"
LANGUAGES: tuple[str, ...] = tuple(code for code in i18n.LANGUAGES if code != i18n.DEFAULT)
PROJECT = "Tandem"
TEAM = "Tandem translators"
WIDTH = 100

# GNU-style keyword specs: name, or name:argument positions (1-based).
# ``1c``: the argument is the message's context (``msgctxt``), see ``i18n.pgettext``.
KEYWORDS: tuple[str, ...] = (
    "_", "gettext", "ngettext:1,2", "lazy", "pgettext:1c,2", "npgettext:1c,2,3", "lazy_with_context:1c,2",
    "Invalid", "Conflict", "Forbidden", "NotFound", "Unauthorized", "TooManyRequests", "DomainError",
    "FieldError:2", "Limiter:5", "fail:2",
)
# Keyword arguments that stand for a positional message argument, e.g. ``NotFound(detail="...")``.
ARGUMENT_NAMES: dict[str, dict[str, int]] = {
    "*": {"detail": 1, "message": 1, "singular": 1, "plural": 2},
    "pgettext": {"context": 1, "message": 2},
    "npgettext": {"context": 1, "singular": 2, "plural": 3},
    "FieldError": {"reason": 2},
    "fail": {"reason": 2},
    "Limiter": {"detail": 5},
}
# Modules whose import registers every module, navigation item and page: the composition root.
REGISTRY_IMPORTS: tuple[str, ...] = ("backend.app",)
# Header lines that change on every run and do not count as a change of the file.
VOLATILE_HEADERS: tuple[bytes, ...] = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')

Location = tuple[str, int]
ExtractorResult = tuple[int, str, tuple[str | None, ...], list[str]]


# -- Python sources ---------------------------------------------------------------------------------------------


def _literal(node: ast.expr | None) -> str | None:
    """The text of a string literal, or of literals joined with ``+``; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None or right is None else left + right
    return None


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def extract_python(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
                   options: Mapping[str, Any]) -> Iterator[ExtractorResult]:
    """Babel extractor for Python: calls of a keyword whose message arguments are plain string literals.

    Yields Babel's ``(lineno, funcname, messages, comments)``; an argument that is not a literal is
    ``None``, which makes Babel skip the call when that argument is a message.
    """
    source = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    tree = ast.parse(source, filename=getattr(fileobj, "name", "<unknown>"))
    lines = source.splitlines()
    tags = tuple(comment_tags)
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)),
                   key=lambda call: (call.lineno, call.col_offset))
    for node in calls:
        name = _call_name(node)
        if name is None or name not in keywords:
            continue
        arguments: list[str | None] = [_literal(arg) for arg in node.args]
        for keyword in node.keywords:
            position = ARGUMENT_NAMES.get(name, ARGUMENT_NAMES["*"]).get(keyword.arg or "")
            if position is None:
                continue
            arguments.extend([None] * (position - len(arguments)))
            arguments[position - 1] = _literal(keyword.value)
        if any(argument is not None for argument in arguments):
            yield node.lineno, name, tuple(arguments), _comments(lines, node.lineno, tags)


def _comments(lines: list[str], lineno: int, tags: tuple[str, ...]) -> list[str]:
    """Translator comments (``# TRANSLATORS: ...``) on the lines right above a call."""
    if not tags:
        return []
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        found.insert(0, lines[index].strip().lstrip("#").strip())
        index -= 1
    for start, text in enumerate(found):
        if text.startswith(tags):
            return found[start:]
    return []


# -- Registries -------------------------------------------------------------------------------------------------


class _Locator:
    """Finds the line where a registry string is written, for the ``#:`` reference of the template."""

    def __init__(self) -> None:
        self._sources: dict[str, list[str]] = {}

    def __call__(self, module: str, text: str, *, literal: bool = True) -> Location:
        """The first line of ``module`` holding ``text`` as a string literal (or verbatim, if not ``literal``)."""
        file = inspect.getsourcefile(importlib.import_module(module)) or ""
        path = Path(file).resolve()
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        lines = self._sources.setdefault(relative, path.read_text("utf-8").splitlines() if path.exists() else [])
        needles = (f'"{text}"', f"'{text}'") if literal else (text,)
        for number, line in enumerate(lines, start=1):
            if any(needle in line for needle in needles):
                return relative, number
        return relative, 0


def registry_messages() -> Iterator[tuple[str, Location, str]]:
    """``(msgid, location, comment)`` for the strings held in registries, found by importing them."""
    for module in REGISTRY_IMPORTS:
        importlib.import_module(module)
    from backend.domains.billing.plans import PLANS
    from backend.kit import errors as domain_errors
    from backend.kit.modules import MODULES
    from backend.kit.ratelimit import Limiter
    from web import errors as web_errors
    from web.templating import ROLE_LABELS, VALUE_LABELS

    locate = _Locator()

    def entry(module: str, text: str, comment: str) -> tuple[str, Location, str]:
        return text, locate(module, text), comment

    for status, title in web_errors.TITLES.items():
        yield entry("web.errors", title, f"Error page title (HTTP {status})")
    for status, text in web_errors.MESSAGES.items():
        yield entry("web.errors", text, f"Error page text (HTTP {status})")
    yield entry("web.errors", web_errors.CSRF_MESSAGE, "Error page text (CSRF failure)")
    for status in web_errors.TITLES:
        if status not in web_errors.MESSAGES and HTTPStatus(status).description:
            # web.errors.error_page falls back to the standard description of the status.
            yield (HTTPStatus(status).description, locate("web.errors", "MESSAGES = ", literal=False),
                   f"Error page text (HTTP {status}): the standard status description")
    for registered in MODULES.values():
        key = registered.key
        yield entry("backend.kit.modules", registered.label, f"Module label ({key})")
        yield entry("backend.kit.modules", registered.description, f"Module description ({key})")
        for item in registered.nav:
            yield entry("backend.kit.modules", item.label, f"Navigation item ({key}: {item.path})")
    for plan in PLANS:
        yield entry("backend.domains.billing.plans", plan.name, f"Plan name ({plan.code})")
        yield entry("backend.domains.billing.plans", plan.summary, f"Plan summary ({plan.code})")
    for role, label in ROLE_LABELS.items():
        yield entry("web.templating", label, f"Role label ({role.value})")
    for code, text in VALUE_LABELS.items():
        yield entry("web.templating", text, f"Label of the stored value {code!r}")
    for name, cls in vars(domain_errors).items():
        if isinstance(cls, type) and issubclass(cls, domain_errors.DomainError):
            detail = inspect.signature(cls.__init__).parameters.get("detail")
            if detail is not None and isinstance(detail.default, str) and detail.default:
                yield entry("backend.kit.errors", detail.default, f"Default detail of {name}")
    for limiter_field in dataclasses.fields(Limiter):
        if limiter_field.name == "detail" and isinstance(limiter_field.default, str):
            yield entry("backend.kit.ratelimit", limiter_field.default, "Default detail of a rate Limiter")


# -- Template ---------------------------------------------------------------------------------------------------


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]:
    with MAPPING.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(MAPPING))  # type: ignore[no-untyped-call]
    return list(method_map), dict(options_map)


def _directory_filter(method_map: Iterable[tuple[str, str]]) -> Callable[[str], bool]:
    """Only walk the top-level folders the mapping names, and never hidden or private folders."""
    tops = {pattern.split("/", 1)[0] for pattern, _ in method_map}

    def accept(path: str) -> bool:
        relative = Path(os.path.relpath(path, ROOT))
        return relative.parts[0] in tops and not any(p.startswith((".", "_")) for p in relative.parts)

    return accept


def build_template() -> Catalog:
    """A fresh template catalog of every msgid in the sources and registries."""
    method_map, options_map = _method_map()
    template = Catalog(project=PROJECT, version=_version(), copyright_holder=PROJECT, charset="utf-8",
                       last_translator=TEAM, language_team=TEAM, fuzzy=False,
                       header_comment=f"# Translations template for {PROJECT}: generated by `make i18n`, do not edit.")
    keywords = parse_keywords(KEYWORDS)
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords, comment_tags=("TRANSLATORS:",),
        directory_filter=_directory_filter(method_map), strip_comment_tags=True,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text, location, comment in registry_messages():
        template.add(text, None, [location], auto_comments=[comment])
    return template


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tandem")
    except PackageNotFoundError:
        return "0"


# -- Writing ----------------------------------------------------------------------------------------------------


def _render(catalog: Catalog, *, template: bool) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, omit_header=False, ignore_obsolete=template, include_previous=True,
             sort_by_file=False)
    return buffer.getvalue()


def _stable(data: bytes) -> bytes:
    return b"\n".join(line for line in data.splitlines() if not line.startswith(VOLATILE_HEADERS))


def _save(path: Path, data: bytes, *, write: bool) -> bool:
    """Whether ``path`` differs from ``data`` (timestamps aside); written if so and ``write``."""
    if path.exists() and _stable(path.read_bytes()) == _stable(data):
        return False
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return True


def merge(template: Catalog, language: str, directory: Path = TRANSLATIONS) -> Catalog:
    """The catalog of ``language`` updated from ``template``, keeping every translation it had."""
    po = directory / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    if po.exists():
        with po.open("rb") as source:
            catalog = read_po(source, locale=language, domain=i18n.DOMAIN)
        # Obsolete entries take part in the merge again, so a message that comes back keeps its translation.
        for message in list(catalog.obsolete.values()):
            if catalog.get(message.id, context=message.context) is None:
                catalog[message.id] = message
        catalog.obsolete.clear()
    else:
        catalog = Catalog(locale=language, domain=i18n.DOMAIN, project=PROJECT, version=template.version,
                          copyright_holder=PROJECT, charset="utf-8", fuzzy=False,
                          last_translator=TEAM, language_team=f"{i18n.LANGUAGES[language]} ({TEAM})",
                          header_comment=f"# {i18n.LANGUAGES[language]} ({language}) translations for {PROJECT}.\n"
                                         f"# Update with `make i18n`; see web/i18n_extract.py.")
        catalog.revision_date = datetime.now().astimezone()
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    return catalog


def missing(catalog: Catalog) -> list[Message]:
    """Messages of ``catalog`` without a usable translation: empty, partly empty, or fuzzy."""
    absent: list[Message] = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(strings):
            absent.append(message)
    return absent


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    messages: int  # msgids in the template
    untranslated: int  # summed over the catalogs
    stale: tuple[Path, ...]  # files that were (or, when checking, would be) rewritten


def run(pot: Path = TEMPLATE, directory: Path | None = TRANSLATIONS, languages: Iterable[str] = LANGUAGES,
        report: Callable[[str], object] = print, *, write: bool = True) -> Outcome:
    """Write the template and update the catalogs of ``directory`` (none: only the template)."""
    template = build_template()
    if pot.exists():
        with pot.open("rb") as source:
            previous = read_po(source)
        if {(m.id, m.context) for m in previous if m.id} == {(m.id, m.context) for m in template if m.id}:
            template.creation_date = previous.creation_date
    count = sum(1 for m in template if m.id)
    stale = [pot] if _save(pot, _render(template, template=True), write=write) else []
    report(f"{pot}: {count} messages{' (changed)' if stale else ''}")
    untranslated = 0
    for language in languages if directory is not None else ():
        po = (directory or TRANSLATIONS) / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        catalog = merge(template, language, directory or TRANSLATIONS)
        if _save(po, _render(catalog, template=False), write=write):
            stale.append(po)
        todo = missing(catalog)
        untranslated += len(todo)
        report(f"{po}: {len(todo)} to translate{' (changed)' if po in stale else ''}")
        for message in todo:
            report(f"  {'fuzzy' if message.fuzzy else 'empty'}: {message.id!r}")
    return Outcome(count, untranslated, tuple(stale))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.i18n_extract",
                                     description="Extract messages and update the ko/ja/ru catalogs.")
    parser.add_argument("--pot", type=Path, default=TEMPLATE, help="where to write the template")
    parser.add_argument("--no-update", action="store_true", help="only write the template, leave the catalogs")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file is out of date or a message lacks a translation")
    args = parser.parse_args(argv)
    outcome = run(args.pot, None if args.no_update else TRANSLATIONS, write=not args.check)
    if args.check and (outcome.stale or outcome.untranslated):
        print("out of date: run `make i18n` and translate the messages listed above", file=sys.stderr)
        return 1
    return 0


def placeholders(text: str) -> list[str]:
    """The ``%(name)s``-style placeholders of a message, sorted (also used by the tests)."""
    return sorted(re.findall(r"%\([A-Za-z_][A-Za-z0-9_]*\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]", text))


if __name__ == "__main__":
    sys.exit(main())
