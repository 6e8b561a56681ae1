"""Merging duplicate accounts and contacts: every related record moves (checked for every foreign key of the tenant
metadata), chosen fields, tags and roles united, the duplicate archived with merged_into_id, audit on both records,
If-Match, role rules, self-merge, double merge, tenancy and two merges racing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Identity,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError

from backend.api.crm_merge import MergeController
from backend.app import create_app
from backend.domains.crm import merge
from backend.models import tenant_metadata
from tenants.scope import tenant_scope
from tests.api.helpers import add_member, assert_problem, error_fields, fetch, hosted, scalar

PATH = "/api/v1/t/{tenant_slug:str}/accounts/{account_id:uuid}/merge"


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    if not any(route.path == PATH for route in app.routes):  # app.py may register it already
        app.register(MergeController)
    async with hosted(app, "192.0.2.81", database) as client:
        yield client


def t(company, suffix: str) -> str:
    return f"/api/v1/t/{company.slug}/{suffix}"


async def post(api, company, suffix: str, auth=None, **body) -> dict[str, Any]:
    response = await api.post(t(company, suffix), headers=auth or company.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def account(api, company, name: str, auth=None, **fields) -> dict[str, Any]:
    return await post(api, company, "accounts", auth=auth, name=name, **fields)


async def merge_accounts(api, company, survivor: str, duplicate: str, auth=None, headers=None, **body):
    return await api.post(t(company, f"accounts/{survivor}/merge"),
                          headers={**(auth or company.auth), **(headers or {})},
                          json={"duplicate_id": duplicate, **body})


async def actions(api, company, kind: str, record_id: str) -> list[str]:
    response = await api.get(t(company, "audit"), headers=company.auth, params={"record": f"{kind}:{record_id}"})
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["items"]]


async def footprint(company) -> tuple[int, ...]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}')
                  for table in ("accounts", "contacts", "legal_entities", "deals", "audit_log")]
                 + [await scalar(f'SELECT sum(version) FROM "{schema}".accounts')])


async def test_merge_keeps_every_related_record_and_the_chosen_fields(api, company) -> None:
    survivor = await account(api, company, "Hanbit Trading", kind="group", tags=["vip", "seoul"], notes="Main file")
    duplicate = await account(api, company, "Hanbit Trading Co., Ltd.", kind="group", status="customer",
                              tags=["seoul", "import"], website="https://hanbit.example")
    child = await account(api, company, "Hanbit Logistics", parent_id=duplicate["id"])
    earlier = await account(api, company, "HANBIT TRADING")
    assert (await merge_accounts(api, company, duplicate["id"], earlier["id"])).status_code == 200
    entities = [await post(api, company, "legal-entities", account_id=a["id"], registered_name=f"Hanbit {n} LLC")
                for n, a in (("A", survivor), ("B", duplicate), ("C", duplicate))]
    person = await post(api, company, "contacts", full_name="Kim Minji", account_id=duplicate["id"])
    deal = await post(api, company, "deals", title="Forklifts", account_id=duplicate["id"], amount="1200.50")

    merged = await merge_accounts(api, company, survivor["id"], duplicate["id"],
                                  keep={"name": "duplicate", "status": "duplicate", "notes": "survivor"})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["id"], body["name"], body["status"], body["notes"], body["website"]) == (
        survivor["id"], "Hanbit Trading Co., Ltd.", "customer", "Main file", "https://hanbit.example")
    assert body["tags"] == ["import", "seoul", "vip"]
    assert (body["merged_into_id"], body["archived_at"], body["version"]) == (None, None, 2)
    assert merged.headers["etag"] == 'W/"2"'

    gone = await api.get(t(company, f"accounts/{duplicate['id']}"), headers=company.auth)
    assert gone.status_code == 200
    assert (gone.json()["merged_into_id"], bool(gone.json()["archived_at"])) == (survivor["id"], True)
    listed = await api.get(t(company, "accounts"), headers=company.auth)
    assert duplicate["id"] not in {a["id"] for a in listed.json()["items"]}

    moved = await api.get(t(company, "legal-entities"), headers=company.auth, params={"account": survivor["id"]})
    assert {e["id"] for e in moved.json()["items"]} == {e["id"] for e in entities}
    people = await api.get(t(company, "contacts"), headers=company.auth, params={"account_id": survivor["id"]})
    assert [c["id"] for c in people.json()["items"]] == [person["id"]]
    moved_deal = (await api.get(t(company, f"deals/{deal['id']}"), headers=company.auth)).json()
    assert (moved_deal["account_id"], moved_deal["amount"], moved_deal["version"]) == (survivor["id"], "1200.50", 2)
    assert (await api.get(t(company, f"deals/{deal['id']}/history"), headers=company.auth)).status_code == 200
    assert (await api.get(t(company, f"accounts/{child['id']}"), headers=company.auth)).json()["parent_id"] == \
        survivor["id"]
    assert (await api.get(t(company, f"accounts/{earlier['id']}"), headers=company.auth)).json()["merged_into_id"] \
        == survivor["id"]  # an earlier merge into the duplicate now leads to the survivor

    assert await actions(api, company, "account", survivor["id"]) == ["merged", "create"]
    assert await actions(api, company, "account", duplicate["id"]) == ["merged_into", "merged", "create"]
    assert (await actions(api, company, "contact", person["id"]))[0] == "update"
    assert (await actions(api, company, "deal", deal["id"]))[0] == "update"
    [entry] = await fetch(f'SELECT changes FROM "{company.tenant.schema}".audit_log WHERE record_type = \'account\''
                          " AND record_id = :r AND action = 'merged'", r=survivor["id"])
    assert entry.changes["merged_from"] == [None, duplicate["id"]]
    assert entry.changes["name"] == ["Hanbit Trading", "Hanbit Trading Co., Ltd."]
    assert entry.changes["moved:legal_entities.account_id"] == [0, 2]


async def test_a_group_never_becomes_its_own_parent(api, company) -> None:
    group = await account(api, company, "Parent Group", kind="group")
    member = await account(api, company, "Member Co", parent_id=group["id"])
    merged = await merge_accounts(api, company, member["id"], group["id"])
    assert merged.status_code == 200, merged.text
    assert merged.json()["parent_id"] is None

    outer = await account(api, company, "Outer Group", kind="group")
    inner = await account(api, company, "Inner Co", parent_id=outer["id"])
    other_group = await account(api, company, "Other Group", kind="group")
    refused = await merge_accounts(api, company, other_group["id"], inner["id"], keep={"parent_id": "duplicate"})
    assert error_fields(assert_problem(refused, 422)) == {"keep.parent_id"}


async def test_bad_requests_write_nothing(api, company) -> None:
    one = await account(api, company, "One Co")
    two = await account(api, company, "Two Co")
    before = await footprint(company)
    assert_problem(await merge_accounts(api, company, one["id"], one["id"]), 400, "merge_self")
    bad_keep = await merge_accounts(api, company, one["id"], two["id"], keep={"name": "both", "colour": "survivor"})
    assert error_fields(assert_problem(bad_keep, 422)) == {"keep.name", "keep.colour"}
    missing = await merge_accounts(api, company, one["id"], str(uuid.uuid4()))
    assert_problem(missing, 404, "account_not_found")
    stale = await merge_accounts(api, company, one["id"], two["id"], headers={"If-Match": 'W/"7"'})
    assert_problem(stale, 409, "version_conflict")
    assert_problem(await api.post(t(company, f"accounts/{one['id']}/merge"), headers=company.auth, json={}), 422)
    assert await footprint(company) == before

    done = await merge_accounts(api, company, one["id"], two["id"], headers={"If-Match": 'W/"1"'})
    assert done.status_code == 200, done.text
    after = await footprint(company)
    assert_problem(await merge_accounts(api, company, one["id"], two["id"]), 409, "already_merged")
    assert_problem(await merge_accounts(api, company, two["id"], one["id"]), 409, "already_merged")
    three = await account(api, company, "Three Co")
    assert_problem(await merge_accounts(api, company, two["id"], three["id"]), 409, "already_merged")
    assert await footprint(company) == (after[0] + 1, *after[1:4], after[4] + 1, after[5] + 1)  # "Three Co" only


async def test_only_managers_or_a_rep_owning_both_may_merge(api, company) -> None:
    rep, other_rep, viewer, manager = [await add_member(company.tenant.id, r)
                                       for r in ("rep", "rep", "viewer", "manager")]
    mine_a = await account(api, company, "Rep A", auth=rep.auth)
    mine_b = await account(api, company, "Rep B", auth=rep.auth)
    mine_c = await account(api, company, "Rep C", auth=rep.auth)
    shared = await account(api, company, "Shared Co", is_shared=True)
    theirs = await account(api, company, "Their Co", auth=other_rep.auth)

    assert_problem(await merge_accounts(api, company, mine_a["id"], shared["id"], auth=rep.auth), 403,
                   "merge_forbidden")
    assert_problem(await merge_accounts(api, company, mine_a["id"], theirs["id"], auth=rep.auth), 404,
                   "account_not_found")
    assert_problem(await merge_accounts(api, company, mine_a["id"], mine_b["id"], auth=viewer.auth), 403,
                   "merge_forbidden")
    assert (await merge_accounts(api, company, mine_a["id"], mine_b["id"], auth=rep.auth)).status_code == 200
    assert (await merge_accounts(api, company, theirs["id"], mine_c["id"], auth=manager.auth)).status_code == 200


async def test_other_tenants_cannot_merge_or_see(api, alpha, beta) -> None:
    first = await account(api, alpha, "Alpha Twin")
    second = await account(api, alpha, "Alpha Twin Ltd")
    crossed = await api.post(t(alpha, f"accounts/{first['id']}/merge"), headers=beta.auth,
                             json={"duplicate_id": second["id"]})
    assert_problem(crossed, 404, "tenant_not_found")
    inside_beta = await merge_accounts(api, beta, first["id"], second["id"])
    assert_problem(inside_beta, 404, "account_not_found")
    own = await account(api, beta, "Beta Own")
    mixed = await merge_accounts(api, beta, own["id"], second["id"])
    assert_problem(mixed, 404, "account_not_found")
    still = await api.get(t(alpha, f"accounts/{second['id']}"), headers=alpha.auth)
    assert (still.json()["merged_into_id"], still.json()["archived_at"]) == (None, None)


async def test_two_merges_racing_one_wins_nothing_is_lost(api, company) -> None:
    a = await account(api, company, "Race A")
    b = await account(api, company, "Race B")
    people = [await post(api, company, "contacts", full_name=f"Person {n}", account_id=x["id"])
              for n, x in enumerate((a, b, b))]
    same = await asyncio.gather(*(merge_accounts(api, company, a["id"], b["id"]) for _ in range(3)))
    assert sorted(r.status_code for r in same) == [200, 409, 409]

    c = await account(api, company, "Race C")
    d = await account(api, company, "Race D")
    people += [await post(api, company, "contacts", full_name=f"Person {n}", account_id=x["id"])
               for n, x in enumerate((c, d), start=3)]
    crossed = await asyncio.gather(merge_accounts(api, company, c["id"], d["id"]),
                                   merge_accounts(api, company, d["id"], c["id"]))
    assert sorted(r.status_code for r in crossed) == [200, 409]
    winner = next(r.json()["id"] for r in crossed if r.status_code == 200)

    schema = company.tenant.schema
    rows = await fetch(f'SELECT id::text, account_id::text FROM "{schema}".contacts')
    assert {r.id: r.account_id for r in rows} == {p["id"]: (a["id"] if n < 3 else winner)
                                                   for n, p in enumerate(people)}
    merged = await fetch(f'SELECT merged_into_id::text FROM "{schema}".accounts WHERE merged_into_id IS NOT NULL')
    assert sorted(r.merged_into_id for r in merged) == sorted([a["id"], winner])


# --- contacts ----------------------------------------------------------------------------------------------------

async def test_merge_contacts_keeps_relations_roles_and_chosen_fields(api, company) -> None:
    firm = await account(api, company, "Contact Firm")
    survivor = await post(api, company, "contacts", full_name="Ivan Petrov", roles=["payer"], phone="+79161234567",
                          account_id=firm["id"])
    duplicate = await post(api, company, "contacts", full_name="Иван Петров", roles=["decision_maker"],
                           email="ivan@example.ru", email_consent=True, email_consent_source="trade show")
    earlier = await post(api, company, "contacts", full_name="I. Petrov")
    url = t(company, f"contacts/{duplicate['id']}/merge")
    assert (await api.post(url, headers=company.auth, json={"duplicate_id": earlier["id"]})).status_code == 200

    merged = await api.post(t(company, f"contacts/{survivor['id']}/merge"), headers=company.auth,
                            json={"duplicate_id": duplicate["id"], "keep": {"full_name": "duplicate"}})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["full_name"], body["email"], body["phone"], body["account_id"]) == (
        "Иван Петров", "ivan@example.ru", "+79161234567", firm["id"])
    assert body["roles"] == ["decision_maker", "payer"]
    assert body["email_consent"] is False  # consent is never taken over unless chosen
    gone = (await api.get(t(company, f"contacts/{duplicate['id']}"), headers=company.auth)).json()
    assert (gone["merged_into_id"], bool(gone["archived_at"])) == (survivor["id"], True)
    assert (await api.get(t(company, f"contacts/{earlier['id']}"), headers=company.auth)).json()["merged_into_id"] \
        == survivor["id"]
    assert await actions(api, company, "contact", survivor["id"]) == ["merged", "create"]
    assert (await actions(api, company, "contact", duplicate["id"]))[0] == "merged_into"

    third = await post(api, company, "contacts", full_name="Olga", email="olga@example.ru", email_consent=True,
                       email_consent_source="web form")
    fourth = await post(api, company, "contacts", full_name="Olga S.")
    refused = await api.post(t(company, f"contacts/{fourth['id']}/merge"), headers=company.auth,
                             json={"duplicate_id": third["id"], "keep": {"email_consent": "duplicate",
                                                                         "email": "survivor"}})
    assert error_fields(assert_problem(refused, 422)) == {"keep.email"}
    kept = await api.post(t(company, f"contacts/{fourth['id']}/merge"), headers=company.auth,
                          json={"duplicate_id": third["id"], "keep": {"email_consent": "duplicate"}})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["email_consent"], kept.json()["email_consent_source"]) == (True, "web form")
    assert_problem(await api.post(t(company, f"contacts/{fourth['id']}/merge"), headers=company.auth,
                                  json={"duplicate_id": fourth["id"]}), 400, "merge_self")


# --- every foreign key, from the metadata ------------------------------------------------------------------------

def _pointing_at(table_name: str) -> list[tuple[Table, str]]:
    """(table, column) of every foreign key in the tenant metadata that references <table_name>.id."""
    target = tenant_metadata.tables[table_name]
    return sorted(((fk.parent.table, fk.parent.name) for table in tenant_metadata.sorted_tables
                   for fk in table.foreign_keys if fk.column is target.c.id),
                  key=lambda pair: (pair[0].name, pair[1]))


FILLERS: list[tuple[Any, Any]] = [(Uuid, uuid.uuid4), (Boolean, lambda: False), (Integer, lambda: 0),
                                   (Numeric, lambda: Decimal(0)), (DateTime, lambda: datetime.now(UTC)),
                                   (Date, date.today), (JSONB, dict), (ARRAY, list), ((String, Text), lambda: "x")]


def _filler(column: Any) -> Any:
    for constraint in column.table.constraints:  # a column limited to a list (CHECK kind IN ('a', …)) takes 'a'
        allowed = re.match(rf"^\s*{column.name} IN \('([^']*)'", str(getattr(constraint, "sqltext", "")))
        if allowed:
            return allowed.group(1)
    for types, make in FILLERS:
        if isinstance(column.type, types):
            return make()
    raise AssertionError(f"no filler for {column} ({column.type})")


async def _row_pointing_at(uow, table: Table, column: str, target_id: uuid.UUID) -> Any:
    """Insert a minimal row of ``table`` whose ``column`` points at ``target_id`` (other references: any row)."""
    values: dict[str, Any] = {column: target_id}
    for col in table.columns:
        if col.name in values or col.nullable or col.server_default is not None or isinstance(col.identity, Identity):
            continue
        referred = next(iter(col.foreign_keys), None)
        if referred is not None:
            found = (await uow.session.execute(select(referred.column).limit(1))).scalar()
            assert found is not None, f"{table.name}.{col.name} needs a {referred.column.table.name} row first"
            values[col.name] = found
        else:
            values[col.name] = _filler(col)
    keys = list(table.primary_key.columns)
    return (await uow.session.execute(insert(table).values(values).returning(*keys))).one()


@pytest.mark.parametrize("target", ["accounts", "contacts"])
async def test_every_foreign_key_in_the_metadata_is_repointed(api, company, target: str) -> None:
    refs = _pointing_at(target)
    assert {(t_.name, c) for t_, c in refs} == {(r.table.name, r.column.name) for r in merge.references(target)}
    async with tenant_scope(company.tenant) as uow:  # the live schema has no reference the metadata lacks
        live = set((await uow.session.execute(text(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.contype = 'f' AND c.confrelid = to_regclass(:t)"), {"t": target})).all())
    assert live == {(t_.name, c) for t_, c in refs}

    # Rows every other table may need (a pipeline for deals, an account for contacts' tables, …).
    anchor = await account(api, company, "Anchor Co")
    await post(api, company, "deals", title="Anchor deal", account_id=anchor["id"])
    await post(api, company, "contacts", full_name="Anchor Person", account_id=anchor["id"])
    if target == "accounts":
        survivor, duplicate = [(await account(api, company, n))["id"] for n in ("Keep Co", "Dup Co")]
    else:
        survivor, duplicate = [(await post(api, company, "contacts", full_name=n))["id"] for n in ("Keep", "Dup")]

    planted: list[tuple[Table, str, Any]] = []
    async with tenant_scope(company.tenant) as uow:
        for table, column in refs:
            try:
                async with uow.session.begin_nested():
                    planted.append((table, column, await _row_pointing_at(uow, table, column, uuid.UUID(duplicate))))
            except DBAPIError as exc:
                pytest.fail(f"could not plant a {table.name} row pointing at the duplicate ({exc.orig}); teach "
                            "_row_pointing_at to fill this table so the merge test covers it")
    assert len(planted) == len(refs) >= (4 if target == "accounts" else 1)

    merged = await api.post(t(company, f"{target}/{survivor}/merge"), headers=company.auth,
                            json={"duplicate_id": duplicate})
    assert merged.status_code == 200, merged.text
    async with tenant_scope(company.tenant) as uow:
        for table, column, key in planted:
            keys = list(table.primary_key.columns)
            query = select(table.c[column]).where(*(k == v for k, v in zip(keys, key, strict=True)))
            assert str((await uow.session.execute(query)).scalar_one()) == survivor, f"{table.name}.{column}"
            left = select(table.c[column]).where(table.c[column] == uuid.UUID(duplicate)).limit(1)
            assert (await uow.session.execute(left)).first() is None, f"{table.name}.{column} still points at it"


async def test_custom_values_and_campaign_fill_the_survivors_gaps(api, company) -> None:
    for key in ("region", "segment_code"):
        made = await api.post(t(company, "custom-fields"), headers=company.auth,
                              json={"entity": "account", "key": key, "label": key.title(), "type": "text"})
        assert made.status_code == 201, made.text
    event = await post(api, company, "marketing-events", name="Busan Expo", channel="exhibition",
                       starts_on="2026-05-01", budget="1000.00", currency="USD")
    survivor = await account(api, company, "Hanbit Trading", custom={"region": "Seoul"})
    duplicate = await account(api, company, "Hanbit Trading Co", marketing_event_id=event["id"],
                              custom={"region": "Busan", "segment_code": "B2"})
    merged = await merge_accounts(api, company, survivor["id"], duplicate["id"])
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["custom"] == {"region": "Seoul", "segment_code": "B2"}
    assert body["marketing_event_id"] == event["id"]
    kept = await merge_accounts(api, company, survivor["id"], (await account(
        api, company, "Hanbit again", marketing_event_id=None))["id"], keep={"marketing_event_id": "duplicate"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["marketing_event_id"] is None  # the chosen side wins, even when empty


async def test_static_list_memberships_follow_the_survivor(api, company) -> None:
    survivor, duplicate, other = [await account(api, company, n) for n in ("Keep Co", "Dup Co", "Other Co")]
    lists = []
    for members in ([duplicate], [survivor, duplicate], [other]):
        made = await api.post(t(company, "segments"), headers=company.auth,
                              json={"name": f"list {len(lists)}", "entity": "account", "kind": "static"})
        assert made.status_code == 201, made.text
        added = await api.post(t(company, f"segments/{made.json()['id']}/members"), headers=company.auth,
                               json={"record_ids": [m["id"] for m in members]})
        assert added.status_code in (200, 201), added.text
        lists.append(made.json()["id"])
    assert (await merge_accounts(api, company, survivor["id"], duplicate["id"])).status_code == 200
    held = []
    for segment_id in lists:
        page = await api.get(t(company, f"segments/{segment_id}/members"), headers=company.auth)
        assert page.status_code == 200, page.text
        held.append(sorted(item["id"] for item in page.json()["items"]))
    assert held == [[survivor["id"]], [survivor["id"]], [other["id"]]]
