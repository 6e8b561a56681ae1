"""The published API description and its self-contained HTML reference."""

from __future__ import annotations

import re
from html.parser import HTMLParser

EXPECTED = {
    "/api/v1/signup": {"post"},
    "/api/v1/auth/token": {"post"},
    "/api/v1/auth/logout": {"post"},
    "/api/v1/auth/password-reset": {"post"},
    "/api/v1/auth/password-reset/confirm": {"post"},
    "/api/v1/invitations/accept": {"post"},
    "/api/v1/me": {"get"},
    "/api/v1/t/{tenant_slug}": {"get"},
    "/api/v1/t/{tenant_slug}/members": {"get"},
    "/api/v1/t/{tenant_slug}/members/{user_id}": {"patch", "delete"},
    "/api/v1/t/{tenant_slug}/invitations": {"get", "post"},
    "/api/v1/t/{tenant_slug}/invitations/{invitation_id}": {"delete"},
    "/api/v1/t/{tenant_slug}/api-keys": {"get", "post"},
    "/api/v1/t/{tenant_slug}/api-keys/{key_id}": {"delete"},
}


async def test_openapi_document_is_3_1_and_lists_the_api(client) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "Tandem API"
    for path, methods in EXPECTED.items():
        assert path in doc["paths"], (path, sorted(doc["paths"]))
        assert methods <= set(doc["paths"][path]), (path, doc["paths"][path].keys())
    signup = doc["paths"]["/api/v1/signup"]["post"]
    assert "201" in signup["responses"]
    assert signup["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SignupIn")
    schemas = doc["components"]["schemas"]
    assert {"company_name", "email", "password"} <= set(schemas["SignupIn"]["properties"])
    assert set(schemas["SignupIn"]["required"]) == {"company_name", "email", "password"}
    # Response models never describe a password or a hash.
    for name in ("SignupOut", "TokenOut", "MeOut", "MemberOut", "ApiKeyOut", "InvitationOut"):
        props = set(schemas[name]["properties"])
        assert not {p for p in props if "password" in p or "hash" in p}, (name, props)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "data", "srcset"} and value:
                self.refs.append((tag, name, value))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


async def test_docs_are_html_without_external_scripts_or_styles(client) -> None:
    response = await client.get("/api/docs")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "/api/v1/signup" in page
    assert "/api/v1/t/{tenant_slug}/api-keys" in page
    parser = _Refs()
    parser.feed(page)
    for tag, attr, value in parser.refs:
        if tag in {"script", "link", "img", "iframe", "object", "embed"}:
            assert not re.match(r"^\s*(https?:)?//", value, re.I), (tag, attr, value)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    for css in parser.styles:
        assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:)?//", css, re.I), css
    # The only link points at the JSON document on this server.
    assert [(t, v) for t, a, v in parser.refs if t == "a"] == [("a", "/api/openapi.json")]
