"""Tenant slugs and schema names: generated, validated, always quoted."""

from __future__ import annotations

import re
import uuid

from backend.kit.errors import FieldError, Invalid

SCHEMA_RE = re.compile(r"^t_[a-z0-9_]{1,40}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {"api", "app", "admin", "www", "static", "assets", "t", "shared", "public", "ext", "docs", "mail",
     "support", "help", "status", "signup", "login", "logout", "auth", "billing", "tandem", "root", "system"}
)


class UnsafeSchemaName(ValueError):
    pass


def schema_for(tenant_id: uuid.UUID) -> str:
    return validate_schema_name(f"t_{tenant_id.hex}")


def validate_schema_name(name: str) -> str:
    if not isinstance(name, str) or not SCHEMA_RE.fullmatch(name):
        raise UnsafeSchemaName(f"refusing unsafe tenant schema name {name!r}")
    return name


def quoted(schema: str) -> str:
    """The schema as a quoted identifier (validated first, so quoting is belt and braces)."""
    return '"' + validate_schema_name(schema) + '"'


def search_path_for(schema: str) -> str:
    from backend.db.base import EXTENSIONS_SCHEMA

    return f"{quoted(schema)}, {EXTENSIONS_SCHEMA}"


def is_valid_slug(slug: str) -> bool:
    return bool(SLUG_RE.fullmatch(slug)) and "--" not in slug and slug not in RESERVED_SLUGS


def validate_slug(slug: str, field: str = "slug") -> str:
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug) or "--" in slug:
        raise Invalid(
            "Invalid company address.",
            [FieldError(field, "3-40 characters: lowercase letters, digits and single hyphens, "
                               "starting and ending with a letter or digit")],
        )
    if slug in RESERVED_SLUGS:
        raise Invalid("Invalid company address.", [FieldError(field, f"'{slug}' is reserved")])
    return slug


def suggest_slug(company_name: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", company_name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    text = re.sub(r"-{2,}", "-", text)[:40].strip("-")
    if len(text) < 3 or text in RESERVED_SLUGS:
        text = f"co-{uuid.uuid4().hex[:8]}"
    return text
