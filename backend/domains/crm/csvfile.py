"""Reading uploaded CSV files: size and row limits, encoding detection, delimiter sniffing.

Encodings: UTF-8 (with or without BOM) and UTF-16 with a BOM (Excel's "Unicode text"); otherwise the legacy
encodings spreadsheets still write in our markets are tried — Korean (CP949/EUC-KR), Japanese (Shift_JIS/CP932)
and Russian (Windows-1251) — and the one whose text reads most like its own script wins. Delimiters: comma,
semicolon or tab, whichever splits the first records most consistently.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from backend.kit.errors import DomainError, FieldError

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
DELIMITERS = (",", ";", "\t")
SNIFF_CHARS = 64 * 1024
SNIFF_RECORDS = 20


def _korean(ch: str) -> bool:
    """A Hangul syllable of KS X 1001 (CP949's extension syllables are what other encodings decode into)."""
    return "\uac00" <= ch <= "\ud7a3" and _encoded_length(ch, "euc_kr") == 2  # not an 8-byte make-up sequence


def _japanese(ch: str) -> bool:
    """Kana or a kanji of JIS X 0208 (not half-width katakana, which is what other encodings decode into)."""
    return ("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff") and _encoded_length(ch, "shift_jis") == 2


def _russian(ch: str) -> bool:
    return "\u0410" <= ch <= "\u044f" or ch in "\u0401\u0451"


def _encoded_length(ch: str, encoding: str) -> int:
    try:
        return len(ch.encode(encoding))
    except UnicodeEncodeError:
        return 0


# (codec, how it is reported, the letters its texts are written in)
LEGACY: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("cp949", "euc-kr", _korean), ("cp932", "shift_jis", _japanese), ("cp1251", "windows-1251", _russian))


@dataclass(frozen=True, slots=True)
class CsvText:
    text: str
    encoding: str
    delimiter: str
    headers: list[str]
    row_count: int


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of an uploaded file."""
    for bom, codec, name in ((codecs.BOM_UTF8, "utf-8", "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
                             (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), name
            except UnicodeDecodeError as exc:
                raise DomainError("The file says it is Unicode but is not.", "import_encoding", 400,
                                  [FieldError("file", "save the file as CSV UTF-8")]) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[float, str, str] | None = None
    for codec, name, letter in LEGACY:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        foreign = [ch for ch in text if ord(ch) > 127 and not unicodedata.category(ch).startswith(("Z", "P", "S"))]
        score = sum(1 for ch in foreign if letter(ch)) / len(foreign) if foreign else 0.0
        if best is None or score > best[0]:
            best = (score, text, name)
    if best is None or best[0] < 0.5:
        raise DomainError("The file's text encoding was not recognised.", "import_encoding", 400,
                          [FieldError("file", "save the file as CSV UTF-8")])
    return best[1], best[2]


def _records(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)


def sniff(text: str) -> str:
    """The delimiter that splits the first records into the most, and most consistent, columns."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best, best_score = ",", (False, 0.0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in itertools.islice(_records(sample, delimiter), SNIFF_RECORDS) if any(r)]
        except csv.Error:
            continue
        if not widths:
            continue
        score = (widths[0] > 1, sum(1 for w in widths if w == widths[0]) / len(widths), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def unique_headers(raw: list[str]) -> list[str]:
    """Trimmed header names; blanks become "column N" and repeats get " (2)", " (3)", …"""
    seen: dict[str, int] = {}
    headers: list[str] = []
    for n, cell in enumerate(raw, start=1):
        name = cell.strip().lstrip("\ufeff") or f"column {n}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        seen.setdefault(name, 1)
        headers.append(name)
    return headers


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Data records after the header with their row number as a spreadsheet shows it (the header is row 1)."""
    for number, record in enumerate(_records(text, delimiter), start=1):
        if number > 1:
            yield number, record


def read(data: bytes) -> CsvText:
    """Check the limits, decode, sniff and count an uploaded file."""
    if len(data) > MAX_BYTES:
        raise DomainError("The file is too large: at most 5 MB per import.", "import_too_large", 413,
                          [FieldError("file", "at most 5 MB; split the file")])
    text, encoding = decode(data)
    delimiter = sniff(text)
    rows = -1
    header: list[str] = []
    try:
        for record in _records(text, delimiter):
            if rows < 0:
                header = record
            rows += 1
            if rows > MAX_ROWS:
                raise DomainError("The file has too many rows: at most 20,000 per import.", "import_too_many_rows",
                                  400, [FieldError("file", "at most 20,000 rows; split the file")])
    except csv.Error as exc:
        raise DomainError("The file is not a readable CSV file.", "import_malformed", 400,
                          [FieldError("file", "not a CSV file (comma, semicolon or tab separated)")]) from exc
    if not any(cell.strip() for cell in header):
        raise DomainError("The file is empty: the first row must name the columns.", "import_empty", 400,
                          [FieldError("file", "needs a header row naming the columns")])
    return CsvText(text, encoding, delimiter, unique_headers(header), max(rows, 0))
