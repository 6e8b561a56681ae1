"""Requirement (5): schema-name and slug injection attempts are refused before any SQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tenants.naming import UnsafeSchemaName, quoted, schema_for, search_path_for, validate_schema_name
from tenants.registry import TenantRef, registry
from tenants.scope import enter_tenant_schema, shared_scope, tenant_scope
from tests.tenancy.conftest import StatementLog

BAD_SCHEMAS = [
    't_x"; DROP SCHEMA shared CASCADE; --',
    "t_x; DROP SCHEMA shared",
    '"t_abc"',
    "public",
    "shared",
    "ext",
    "pg_catalog",
    "T_ABC",
    "t_ABC",
    "t_" + "a" * 50,
    "t_" + "a" * 41,
    "../x",
    "t_../x",
    "",
    "t_",
    "t_abc\n",
    "\nt_abc",
    " t_abc",
    "t_a-b",
    "t_a.b",
    "t_ä",
    "t_abc\x00",
    "t_abc, shared",
    "t_abc,public",
    None,
    42,
]


@pytest.mark.parametrize("name", BAD_SCHEMAS, ids=repr)
def test_unsafe_schema_names_are_refused_everywhere(name):
    for fn in (validate_schema_name, quoted, search_path_for):
        with pytest.raises(UnsafeSchemaName):
            fn(name)


def test_generated_schema_names_pass_and_are_quoted():
    tid = uuid.uuid4()
    name = schema_for(tid)
    assert name == f"t_{tid.hex}"
    assert validate_schema_name(name) == name
    assert quoted(name) == f'"{name}"'
    assert search_path_for(name) == f'"{name}", ext'
    longest = "t_" + "a" * 40
    assert validate_schema_name(longest) == longest


@pytest.mark.parametrize("schema", ['t_x"; DROP SCHEMA shared CASCADE; --', "shared", "public", "t_abc, shared"])
async def test_tenant_scope_with_a_malicious_schema_fails_before_any_sql(small_db, alpha, schema):
    db = small_db(1)
    log = StatementLog().attach(db)
    evil = TenantRef(alpha.tenant.id, alpha.slug, alpha.tenant.name, schema, alpha.tenant.cluster, "active")
    body_ran = False
    with pytest.raises(UnsafeSchemaName):
        async with tenant_scope(evil, database=db):
            body_ran = True
    assert not body_ran
    assert log.statements == []
    assert log.checkouts == 0
    # the intended victim is intact
    async with shared_scope(database=db) as uow:
        assert (await uow.session.execute(text("SELECT count(*) FROM shared.tenants"))).scalar_one() >= 1


async def test_enter_tenant_schema_refuses_a_malicious_schema(small_db):
    db = small_db(1)
    async with shared_scope(database=db) as uow:
        log = StatementLog().attach(db)
        with pytest.raises(UnsafeSchemaName):
            await enter_tenant_schema(uow, 'public", shared, "x')
        assert uow.schema is None
        assert log.statements == []
        path = (await uow.session.execute(text("SELECT current_schemas(false)"))).scalar_one()
    assert "public" not in path
    assert "shared" not in path


def tricky_slugs(slug: str) -> list[str]:
    return [
        "x' OR '1'='1",
        f"{slug}' OR '1'='1",
        f"{slug}'--",
        "../x",
        f"../{slug}",
        "..%2f..",
        "..",
        slug.upper(),
        slug + "\n",
        " " + slug,
        slug + "%",
        "%",
        slug[:-1] + "_",
        "a" * 80,
        "",
        "ab",
    ]


async def test_registry_by_slug_with_tricks_returns_none_without_sql(small_db, alpha):
    db = small_db(1)
    log = StatementLog().attach(db)
    for slug in tricky_slugs(alpha.slug):
        assert await registry.by_slug(slug, database=db) is None, slug
    assert log.statements == [], "a malformed slug reached SQL"
    # control: a well-formed slug does reach SQL, and the real one is found
    assert await registry.by_slug(f"no-such-{uuid.uuid4().hex[:8]}", database=db) is None
    assert len(log.statements) == 1
    found = await registry.by_slug(alpha.slug, database=db)
    assert found is not None
    assert found.id == alpha.tenant.id


@pytest.mark.parametrize("bad_id", ["'; DROP SCHEMA shared CASCADE; --", "../x", "", "1 OR 1=1", None, 42])
async def test_registry_by_id_with_tricks_returns_none_without_sql(small_db, bad_id):
    db = small_db(1)
    log = StatementLog().attach(db)
    assert await registry.by_id(bad_id, database=db) is None
    assert log.statements == []


def api_tricks(slug: str) -> list[str]:
    return ["x' OR '1'='1", "..%2f..", "..%2F..%2Fhealthz", slug.upper(), "a" * 80, f"{slug}%27--",
            slug + "%00", f"no-such-{uuid.uuid4().hex[:8]}"]


@pytest.mark.parametrize("suffix", ["", "members"])
async def test_api_answers_404_problem_for_tricky_slugs(client, alpha, suffix):
    for slug in api_tricks(alpha.slug):
        resp = await client.get(f"/api/v1/t/{slug}/{suffix}", headers=alpha.auth)
        assert resp.status_code == 404, (slug, resp.status_code, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json"), slug
        body = resp.json()
        assert body["status"] == 404
        assert body["code"] in {"tenant_not_found", "not_found"}, (slug, body)
        assert str(alpha.tenant.id) not in resp.text, "a trick leaked the tenant"
        assert alpha.tenant.name not in resp.text, "a trick leaked the tenant"
    # control: the same caller with the genuine slug is let in
    ok = await client.get(f"/api/v1/t/{alpha.slug}/{suffix}", headers=alpha.auth)
    assert ok.status_code == 200, ok.text
