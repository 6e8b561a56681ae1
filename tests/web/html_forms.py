"""Read a rendered form the way a browser would submit it: its inputs, ticked boxes, selected options and text
areas, in document order (so tests post exactly the names the template writes, and change only what a user would).
"""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and found.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = found.get("name")
        if tag == "input" and name and found.get("type") not in ("submit", "button"):
            if found.get("type") not in ("checkbox", "radio") or "checked" in found:
                self.fields.append((name, found.get("value", "on" if found.get("type") == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select is not None:
            value = found.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in found and not self._selected:
                self.fields.append((self._select, value))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            if not self._selected and self._first_option is not None:
                self.fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_fields(page: str, form_id: str) -> list[tuple[str, str]]:
    """The fields the form with this id would post (without its submit buttons)."""
    reader = _FormReader(form_id)
    reader.feed(page)
    assert reader.fields, f"no form #{form_id} with fields"
    return reader.fields


def replace(fields: list[tuple[str, str]], name: str, *values: str) -> list[tuple[str, str]]:
    """The fields with every value of ``name`` replaced by ``values`` (none: the field is left out)."""
    kept = [(k, v) for k, v in fields if k != name]
    return kept + [(name, v) for v in values]


def value(fields: list[tuple[str, str]], name: str) -> str:
    return next(v for k, v in fields if k == name)


def as_data(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The fields as httpx posts them (repeated names keep their order)."""
    data: dict[str, list[str]] = {}
    for name, text in fields:
        data.setdefault(name, []).append(text)
    return data
