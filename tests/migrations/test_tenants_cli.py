"""`tandem tenants create|list|suspend|resume|delete [--purge]|export|import`, through backend.cli.main,
checked in the database."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sqlalchemy import text

from tenants.alembic_trees import TENANT
from tenants.transfer import write_export
from tests.migrations.conftest import FreshDatabase, MakeDatabase, RunCli

OWNER_PASSWORD = "Correct-Horse-Battery-9"


async def _one(fresh: FreshDatabase, sql: str, **params: object) -> object:
    async with fresh.db.engine().connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one_or_none()


async def _tenant(fresh: FreshDatabase, slug: str) -> dict[str, object] | None:
    async with fresh.db.engine().connect() as conn:
        row = (await conn.execute(text(
            "SELECT id, schema_name, status, suspended_at, schema_revision, name FROM shared.tenants WHERE slug = :s"
        ), {"s": slug})).mappings().first()
    return dict(row) if row is not None else None


async def _schema_exists(fresh: FreshDatabase, schema: str) -> bool:
    return bool(await _one(fresh, "SELECT count(*) FROM pg_namespace WHERE nspname = :s", s=schema))


async def _tenant_schemas(fresh: FreshDatabase) -> set[str]:
    async with fresh.db.engine().connect() as conn:
        rows = await conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'"))
        return set(rows.scalars())


async def test_create_list_suspend_resume_delete_purge(fresh_database: MakeDatabase, tandem: RunCli, capsys) -> None:
    fresh = await fresh_database()

    code = await tandem(fresh, "tenants", "create", "acme", "--name", "Acme Ltd",
                        "--owner-email", "Owner@Example.com", "--owner-password", OWNER_PASSWORD)
    assert code == 0
    acme = await _tenant(fresh, "acme")
    assert acme is not None
    assert f"created tenant acme ({acme['id']}) in schema {acme['schema_name']}" in capsys.readouterr().out
    assert (acme["status"], acme["schema_revision"], acme["name"]) == ("active", TENANT.head, "Acme Ltd")
    schema = str(acme["schema_name"])
    assert await _one(fresh, f'SELECT name FROM "{schema}".company_settings') == "Acme Ltd"
    assert await _one(fresh, "SELECT m.role FROM shared.memberships m JOIN shared.users u ON u.id = m.user_id "
                             "WHERE m.tenant_id = :t AND u.email = 'owner@example.com'", t=acme["id"]) == "owner"

    # a taken slug, and a new owner without a password, fail cleanly and leave nothing behind
    schemas_before = await _tenant_schemas(fresh)
    assert await tandem(fresh, "tenants", "create", "acme") == 1
    assert "That company address is taken." in capsys.readouterr().err
    assert await tandem(fresh, "tenants", "create", "nopass", "--owner-email", "new@example.com") == 1
    assert "error: A new owner needs a password. (owner_password: give --owner-password" in capsys.readouterr().err
    assert await _tenant(fresh, "nopass") is None
    assert await _tenant_schemas(fresh) == schemas_before

    assert await tandem(fresh, "tenants", "create", "other-co") == 0
    capsys.readouterr()
    assert await tandem(fresh, "tenants", "list") == 0
    listing = capsys.readouterr().out
    acme_line = next(line for line in listing.splitlines() if line.startswith("acme "))
    assert acme_line.split()[:4] == ["acme", "active", TENANT.head, "default"]
    assert acme_line.endswith("Acme Ltd")
    assert any(line.startswith("other-co ") for line in listing.splitlines())
    assert "2 tenant(s)" in listing

    assert await tandem(fresh, "tenants", "suspend", "acme") == 0
    assert "acme: suspended" in capsys.readouterr().out
    acme = await _tenant(fresh, "acme")
    assert acme is not None
    assert acme["status"] == "suspended"
    assert acme["suspended_at"] is not None
    assert await tandem(fresh, "tenants", "list", "--status", "suspended") == 0
    listing = capsys.readouterr().out
    assert "1 tenant(s)" in listing
    assert "other-co" not in listing

    assert await tandem(fresh, "tenants", "resume", "acme") == 0
    assert "acme: active" in capsys.readouterr().out
    acme = await _tenant(fresh, "acme")
    assert acme is not None
    assert (acme["status"], acme["suspended_at"]) == ("active", None)

    assert await tandem(fresh, "tenants", "delete", "acme") == 0  # soft delete = suspend
    assert "suspended (soft delete)" in capsys.readouterr().out
    assert (await _tenant(fresh, "acme") or {}).get("status") == "suspended"
    assert await _schema_exists(fresh, schema)

    assert await tandem(fresh, "tenants", "resume", "acme") == 0
    capsys.readouterr()
    assert await tandem(fresh, "tenants", "delete", "acme", "--purge") == 1  # active: refused
    assert "Suspend the tenant before purging it." in capsys.readouterr().err
    assert await _schema_exists(fresh, schema)
    assert (await _tenant(fresh, "acme") or {}).get("status") == "active"

    assert await tandem(fresh, "tenants", "suspend", "acme") == 0
    assert await tandem(fresh, "tenants", "delete", "acme", "--purge") == 0
    assert f"acme: purged (schema {schema} dropped)" in capsys.readouterr().out
    assert not await _schema_exists(fresh, schema)
    assert await _tenant(fresh, "acme") is None
    assert await _one(fresh, "SELECT count(*) FROM shared.memberships WHERE tenant_id = :t", t=acme["id"]) == 0
    assert await _one(fresh, "SELECT count(*) FROM shared.audit_events WHERE tenant_id = :t "
                             "AND action = 'tenant.purged'", t=acme["id"]) == 1
    assert await _one(fresh, "SELECT count(*) FROM shared.users WHERE email = 'owner@example.com'") == 1
    other = await _tenant(fresh, "other-co")
    assert other is not None
    assert other["status"] == "active"
    assert await _schema_exists(fresh, str(other["schema_name"]))

    assert await tandem(fresh, "tenants", "suspend", "acme") == 1
    assert "No tenant 'acme'." in capsys.readouterr().err


async def test_export_then_import_as_a_new_tenant(
    fresh_database: MakeDatabase, tandem: RunCli, capsys, tmp_path: Path
) -> None:
    fresh = await fresh_database()
    assert await tandem(fresh, "tenants", "create", "source-co", "--name", "Source Co") == 0
    source = await _tenant(fresh, "source-co")
    assert source is not None
    old = str(source["schema_name"])
    notes = [
        f"moved from {old} last year",
        f"{old}.company_settings is where the name lives",
        f"COPY {old}.notes (id, body) FROM stdin;",  # looks like a COPY header, but it is data
        f'search_path = "{old}", ext',
    ]
    async with fresh.db.engine().begin() as conn:
        await conn.execute(text(f'UPDATE "{old}".company_settings SET name = :n, base_currency = :c'),
                           {"n": "Source Co (renamed)", "c": "EUR"})
        await conn.execute(text(f'CREATE TABLE "{old}".notes (id int GENERATED BY DEFAULT AS IDENTITY '
                                "PRIMARY KEY, body text NOT NULL)"))
        await conn.execute(text(f'CREATE INDEX notes_body ON "{old}".notes (body)'))
        for body in notes:
            await conn.execute(text(f'INSERT INTO "{old}".notes (body) VALUES (:b)'), {"b": body})

    out_dir = tmp_path / "exports"
    target = out_dir / "source-co.sql.gz"
    assert await tandem(fresh, "tenants", "export", "source-co", "--output", str(target)) == 0
    assert f"exported source-co to {target}" in capsys.readouterr().out
    assert list(out_dir.iterdir()) == [target]
    assert target.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    with gzip.open(target, "rt") as src:
        header = json.loads(src.readline().removeprefix("-- tandem-export: "))
        dump = src.read()
    assert (header["slug"], header["schema"], header["revision"]) == ("source-co", old, TENANT.head)
    assert "Source Co (renamed)" in dump

    schemas_before = await _tenant_schemas(fresh)
    assert await tandem(fresh, "tenants", "import", str(target), "--slug", "source-co") == 1  # slug taken
    assert "That company address is taken." in capsys.readouterr().err
    assert await _tenant_schemas(fresh) == schemas_before

    assert await tandem(fresh, "tenants", "import", str(target), "--slug", "copy-co", "--name", "Copy Co") == 0
    copy = await _tenant(fresh, "copy-co")
    assert copy is not None
    new = str(copy["schema_name"])
    assert f"imported as copy-co ({copy['id']}) in schema {new}" in capsys.readouterr().out
    assert new != old
    assert copy["id"] != source["id"]
    assert (copy["status"], copy["name"], copy["schema_revision"]) == ("active", "Copy Co", TENANT.head)
    assert await _tenant_schemas(fresh) == schemas_before | {new}

    async with fresh.db.engine().begin() as conn:
        version = (await conn.execute(text(f'SELECT version_num FROM "{new}".alembic_version'))).scalar_one()
        settings = (await conn.execute(text(f'SELECT name, base_currency FROM "{new}".company_settings'))).one()
        copied = (await conn.execute(text(f'SELECT id, body FROM "{new}".notes ORDER BY id'))).all()
        # the identity sequence came along and lives in the new schema
        added = (await conn.execute(text(f'INSERT INTO "{new}".notes (body) VALUES (\'new\') RETURNING id'))).scalar()
        sequence = (await conn.execute(text(f"SELECT pg_get_serial_sequence('\"{new}\".notes', 'id')"))).scalar()
        index = (await conn.execute(text("SELECT schemaname FROM pg_indexes WHERE indexname = 'notes_body' "
                                         "AND schemaname = :s"), {"s": new})).scalar()
        untouched = (await conn.execute(text(f'SELECT body FROM "{old}".notes ORDER BY id'))).scalars().all()
    assert version == TENANT.head
    assert tuple(settings) == ("Source Co (renamed)", "EUR")
    assert copied == [(i, body) for i, body in enumerate(notes, start=1)]  # data text is never rewritten
    assert added == len(notes) + 1
    assert sequence == f"{new}.notes_id_seq"
    assert index == new
    assert untouched == notes
    # the triggers that keep the derived tables (deal_funnel, *_last_interaction) call the copy's own functions
    async with fresh.db.engine().connect() as conn:
        triggers = (await conn.execute(text(
            "SELECT c.relnamespace::regnamespace::text, t.tgname, p.pronamespace::regnamespace::text "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND c.relnamespace::regnamespace::text IN (:old, :new)"),
            {"old": old, "new": new})).all()
    by_schema = {schema: sorted((name, function_schema) for s, name, function_schema in triggers if s == schema)
                 for schema in (old, new)}
    assert by_schema[new] == [(name, new) for name, _ in by_schema[old]]
    assert {name for name, _ in by_schema[new]} >= {"deal_stage_history_funnel", "interactions_last_insert"}


async def test_import_rejects_corrupt_files_and_leaves_nothing_behind(
    fresh_database: MakeDatabase, tandem: RunCli, capsys, tmp_path: Path
) -> None:
    fresh = await fresh_database()
    assert await tandem(fresh, "tenants", "create", "good-co") == 0
    good = tmp_path / "good.sql.gz"
    assert await tandem(fresh, "tenants", "export", "good-co", "-o", str(good)) == 0
    capsys.readouterr()
    payload = gzip.decompress(good.read_bytes())
    header_line, body = payload.split(b"\n", 1)

    not_gzip = tmp_path / "not-gzip.gz"
    not_gzip.write_bytes(b"this is not an export at all\n")
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    no_header = tmp_path / "no-header.gz"
    no_header.write_bytes(gzip.compress(body))
    bad_json = tmp_path / "bad-json.gz"
    bad_json.write_bytes(gzip.compress(b"-- tandem-export: {not json\n" + body))
    unsafe = tmp_path / "unsafe-schema.gz"
    evil = json.loads(header_line.removeprefix(b"-- tandem-export: ")) | {"schema": 'x"; DROP SCHEMA shared; --'}
    unsafe.write_bytes(gzip.compress(b"-- tandem-export: " + json.dumps(evil).encode() + b"\n" + body))
    secret = (tmp_path / "data" / "secret_key").read_text().strip()  # the CLI's installation key
    header = json.loads(header_line.removeprefix(b"-- tandem-export: "))
    broken_sql = tmp_path / "broken-sql.gz"  # correctly signed, but SQL that fails half-way through
    write_export(broken_sql, header, body + b"\nTHIS IS NOT SQL;\n", secret)
    tampered = tmp_path / "tampered.gz"  # a valid header and signature over other content
    tampered.write_bytes(gzip.compress(header_line + b"\n" + body + b"\nUPDATE shared.tenants SET name = 'x';\n"))
    foreign = tmp_path / "foreign.gz"  # signed by another installation
    write_export(foreign, header, body, "another-installation-secret")
    unsigned = tmp_path / "unsigned.gz"
    unsigned_header = {k: v for k, v in header.items() if k != "signature"}
    unsigned.write_bytes(gzip.compress(b"-- tandem-export: " + json.dumps(unsigned_header).encode() + b"\n" + body))
    shell = tmp_path / "shell.gz"  # even correctly signed, psql meta-commands are refused
    owned = tmp_path / "owned"
    write_export(shell, header, f"\\! id > {owned}\n".encode() + body, secret)

    schemas_before = await _tenant_schemas(fresh)
    tenants_before = await _one(fresh, "SELECT count(*) FROM shared.tenants")
    for path in (not_gzip, truncated, no_header, bad_json, unsafe):
        assert await tandem(fresh, "tenants", "import", str(path), "--slug", "restored") == 1, path.name
        err = capsys.readouterr().err
        assert err.startswith("error: Not a Tandem export file. (file: "), (path.name, err)
        assert "Traceback" not in err

    for path in (tampered, foreign):
        assert await tandem(fresh, "tenants", "import", str(path), "--slug", "restored") == 1, path.name
        assert "altered, or made by an installation with another secret key" in capsys.readouterr().err
    assert await tandem(fresh, "tenants", "import", str(unsigned), "--slug", "restored") == 1
    assert "unsigned" in capsys.readouterr().err
    assert await tandem(fresh, "tenants", "import", str(shell), "--slug", "restored") == 1
    assert "meta-commands" in capsys.readouterr().err
    assert not owned.exists()

    assert await tandem(fresh, "tenants", "import", str(broken_sql), "--slug", "restored") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: restore failed (nothing was imported):"), err
    assert "THIS" in err  # psql's own message says where it broke
    assert await _tenant_schemas(fresh) == schemas_before  # the single-transaction restore rolled back
    assert await _one(fresh, "SELECT count(*) FROM shared.tenants") == tenants_before
    assert await _tenant(fresh, "restored") is None
