"""Privacy requests about a contact: the export holds rows of EVERY table referencing contacts (checked against the
tenant metadata), JSON-safe values, the CSV ZIP's shape; erasure anonymizes in place, keeps deals, legal entities,
accounts and relations, scrubs the audit values, leaves no trace of the person anywhere in the tenant schema (search
included); double erase 409, roles, tenancy, a refused erase writes nothing, the actions' own audit rows."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from backend.app import create_app
from backend.domains.crm import privacy
from backend.models import tenant_metadata
from tests.api.helpers import add_member, assert_problem, error_fields, fetch, hosted, scalar

NAME, EMAIL, PHONE = "Zoltan Vereczkey", "zoltan.vereczkey@privacy.example", "+82 10-5550-9876"
STORED_PHONE = "+821055509876"
SECRET_BITS = ("Zoltan", "Vereczkey", "zoltan.vereczkey", "1055509876", "Quiet Buyer", "left-handed")


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    async with hosted(create_app(settings, database=database), "192.0.2.87", database) as client:
        yield client


def t(company, suffix: str) -> str:
    return f"/api/v1/t/{company.slug}/{suffix}"


async def post(api, company, suffix: str, auth=None, **body) -> dict[str, Any]:
    response = await api.post(t(company, suffix), headers=auth or company.auth, json=body)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def person(api, company, account_id: str | None = None, **fields) -> dict[str, Any]:
    """The contact whose data is asked for: name, email, phone, job title, a custom value, email consent."""
    await api.post(t(company, "custom-fields"), headers=company.auth,
                   json={"entity": "contact", "key": "hobby", "label": "Hobby", "type": "text"})
    return await post(api, company, "contacts", full_name=NAME, email=EMAIL, phone=PHONE, job_title="Quiet Buyer",
                      account_id=account_id, custom={"hobby": "left-handed chess"}, email_consent=True,
                      email_consent_source="trade show", roles=["payer"], **fields)


async def export(api, company, contact_id: str, fmt: str = "json", auth=None) -> httpx.Response:
    return await api.get(t(company, f"contacts/{contact_id}/privacy-export"), headers=auth or company.auth,
                         params={"format": fmt})


async def erase(api, company, contact_id: str, auth=None, **body) -> httpx.Response:
    return await api.post(t(company, f"contacts/{contact_id}/erase"), headers=auth or company.auth, json=body)


# --- rows referencing a contact, one maker per table ---------------------------------------------------------------

RowMaker = Callable[[httpx.AsyncClient, Any, dict[str, Any]], Awaitable[str]]


async def _merged_duplicate(api, company, contact: dict[str, Any]) -> str:
    duplicate = await post(api, company, "contacts", full_name="Z. Vereczkey")
    await post(api, company, f"contacts/{contact['id']}/merge", duplicate_id=duplicate["id"])
    return str(duplicate["id"])


async def _account_of(api, company, contact: dict[str, Any]) -> str:
    if contact.get("account_id"):
        return str(contact["account_id"])
    return str((await post(api, company, "accounts", name="Activity Holder"))["id"])


async def _interaction(api, company, contact: dict[str, Any]) -> str:
    made = await post(api, company, "interactions", kind="visit", account_id=await _account_of(api, company, contact),
                      contact_id=contact["id"], subject="Visit to Zoltan Vereczkey",
                      body="Met at home; left-handed, prefers calls", latitude="37.566500", longitude="126.978000",
                      address="12 Quiet Street, Seoul")
    return str(made["id"])


async def _task(api, company, contact: dict[str, Any]) -> str:
    made = await post(api, company, "tasks", title="Call Zoltan back", notes="Vereczkey asked for a quote",
                      link_type="contact", link_id=contact["id"])
    return str(made["id"])


# A table that gains a foreign key to contacts.id needs a maker here (the completeness test fails until it has one),
# and, if it holds free text about the person, an entry in privacy.PERSONAL_COLUMNS.
ROW_MAKERS: dict[str, RowMaker] = {
    "contacts": _merged_duplicate,
    "interactions": _interaction,
    "tasks": _task,
}


def test_every_table_referencing_contacts_has_a_row_maker() -> None:
    missing = set(privacy.referencing_tables()) - set(ROW_MAKERS)
    assert not missing, f"add a row maker to ROW_MAKERS (and PERSONAL_COLUMNS if needed) for: {sorted(missing)}"
    assert "contacts" in privacy.referencing_tables()  # merged duplicates: the same person


def test_personal_columns_name_real_columns() -> None:
    for table, columns in privacy.PERSONAL_COLUMNS.items():
        if table in tenant_metadata.tables:
            assert set(columns) <= set(tenant_metadata.tables[table].c.keys()), table
            assert table in privacy.referencing_tables(), f"{table} does not reference contacts"


def test_json_safe_values() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    some = uuid.uuid4()
    assert privacy.json_safe({"a": Decimal("12.50"), "b": when, "c": date(2026, 1, 2), "d": [some, None, True],
                              "e": {"f": Decimal("0.1")}}) == {
        "a": "12.50", "b": "2026-03-04T05:06:07+00:00", "c": "2026-01-02", "d": [str(some), None, True],
        "e": {"f": "0.1"}}


async def test_export_holds_rows_of_every_referencing_table_and_the_history(api, company) -> None:
    firm = await post(api, company, "accounts", name="Privacy Firm")
    contact = await person(api, company, firm["id"])
    await api.patch(t(company, f"contacts/{contact['id']}"), headers=company.auth, json={"job_title": "Buyer"})
    made = {table: await ROW_MAKERS[table](api, company, contact) for table in privacy.referencing_tables()}

    response = await export(api, company, contact["id"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == f'attachment; filename="contact-{contact["id"]}.json"'
    assert response.headers["cache-control"] == "no-store"
    document = json.loads(response.content)
    assert document["format"] == "tandem.contact-export/1"
    assert set(document) == {"format", "exported_at", "contact", "account", "related", "audit"}

    row = document["contact"]
    assert set(row) == set(tenant_metadata.tables["contacts"].c.keys())
    assert (row["id"], row["full_name"], row["email"], row["phone"], row["job_title"]) == (
        contact["id"], NAME, EMAIL, STORED_PHONE, "Buyer")
    assert (row["email_consent"], row["email_consent_source"]) == (True, "trade show")
    assert datetime.fromisoformat(row["email_consent_at"]).tzinfo is not None
    assert row["custom"] == {"hobby": "left-handed chess"}
    assert document["account"] == {"id": firm["id"], "name": "Privacy Firm"}

    assert set(document["related"]) == set(privacy.referencing_tables())
    [visit] = document["related"]["interactions"]
    assert (visit["latitude"], visit["subject"]) == ("37.566500", "Visit to Zoltan Vereczkey")  # Decimal as text
    assert datetime.fromisoformat(visit["occurred_at"]).tzinfo is not None
    for table, row_id in made.items():
        rows = document["related"][table]
        assert row_id in {r["id"] for r in rows}, table
        assert all(set(r) == set(tenant_metadata.tables[table].c.keys()) for r in rows), table

    actions = [e["action"] for e in document["audit"]]
    assert actions[:2] == ["create", "update"]
    assert "merged" in actions
    assert document["audit"][1]["changes"] == {"job_title": ["Quiet Buyer", "Buyer"]}
    assert json.loads(json.dumps(document)) == document  # plain JSON all the way down


async def test_csv_export_is_a_zip_of_csv_files(api, company) -> None:
    contact = await person(api, company)
    await _merged_duplicate(api, company, contact)
    response = await export(api, company, contact["id"], "csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f'attachment; filename="contact-{contact["id"]}-csv.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"contact.csv", "account.csv", "audit.csv"} | {
        f"related/{name}.csv" for name in privacy.referencing_tables()}

    def read(name: str) -> list[dict[str, str]]:
        text = archive.read(name).decode()
        assert text.startswith("\ufeff")
        return list(csv.DictReader(io.StringIO(text[1:])))

    [row] = read("contact.csv")
    assert list(row) == list(tenant_metadata.tables["contacts"].c.keys())
    assert (row["full_name"], row["email"], row["phone"]) == (NAME, EMAIL, "'" + STORED_PHONE)  # no formula
    assert json.loads(row["custom"]) == {"hobby": "left-handed chess"}
    assert (row["roles"], row["email_consent"]) == ("payer", "true")
    assert read("account.csv") == []
    audit_rows = read("audit.csv")
    assert [r["action"] for r in audit_rows][:1] == ["create"]
    assert json.loads(audit_rows[0]["changes"])["full_name"] == [None, NAME]
    [merged] = read("related/contacts.csv")
    assert merged["full_name"] == "Z. Vereczkey"
    assert_problem(await export(api, company, contact["id"], "xml"), 422)


# --- erasure -----------------------------------------------------------------------------------------------------

async def _rows(company, table: str, column: str, value: str) -> list[dict[str, Any]]:
    rows = await fetch(f'SELECT * FROM "{company.tenant.schema}".{table} WHERE {column}::text = :v', v=value)
    return [dict(r._mapping) for r in rows]


async def traces(company) -> dict[str, int]:
    """Rows of every tenant table whose text mentions any bit of the person."""
    found: dict[str, int] = {}
    for table in tenant_metadata.sorted_tables:
        for bit in SECRET_BITS:
            count = await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".{table.name} AS r '
                                 "WHERE r::text ILIKE :p", p=f"%{bit}%")
            if count:
                found[f"{table.name}:{bit}"] = int(count)
    return found


async def test_erase_anonymizes_keeps_records_and_scrubs_the_trail(api, company) -> None:
    firm = await post(api, company, "accounts", name="Keep Me Trading")
    entity = await post(api, company, "legal-entities", account_id=firm["id"], registered_name="Keep Me LLC",
                        tax_id="220-81-62517")
    deal = await post(api, company, "deals", title="Forklifts", account_id=firm["id"], amount="1200.50")
    contact = await person(api, company, firm["id"], sms_consent=True, sms_consent_source="web form")
    await api.patch(t(company, f"contacts/{contact['id']}"), headers=company.auth, json={"job_title": "Lead Buyer"})
    duplicate = await _merged_duplicate(api, company, contact)
    visit, task = await _interaction(api, company, contact), await _task(api, company, contact)
    assert await traces(company)  # the person is there before
    kept = {name: await _rows(company, table, "id", row_id) for name, table, row_id in (
        ("account", "accounts", firm["id"]), ("entity", "legal_entities", entity["id"]),
        ("deal", "deals", deal["id"]))}

    done = await erase(api, company, contact["id"], reason="Data subject request #17", confirm=contact["id"])
    assert done.status_code == 200, done.text
    body = done.json()
    short = uuid.UUID(contact["id"]).hex[:8]
    assert body["full_name"] == f"Erased contact {short}"
    assert (body["email"], body["phone"], body["job_title"], body["custom"]) == (None, None, None, {})
    assert (body["account_id"], body["roles"], body["owner_user_id"]) == (
        firm["id"], ["payer"], contact["owner_user_id"])
    for channel in ("email", "sms"):
        assert (body[f"{channel}_consent"], body[f"{channel}_consent_source"]) == (False, "erasure")
        assert body[f"{channel}_consent_at"] == body["erased_at"]
    assert body["erased_at"]
    assert body["archived_at"]
    assert done.headers["etag"] == f'W/"{body["version"]}"'

    assert await traces(company) == {}  # nowhere in the tenant schema any more, audit log included
    for name, table, row_id in (("account", "accounts", firm["id"]), ("entity", "legal_entities", entity["id"]),
                                ("deal", "deals", deal["id"])):
        assert await _rows(company, table, "id", row_id) == kept[name], name
    [kept_visit] = await _rows(company, "interactions", "id", visit)
    assert (str(kept_visit["contact_id"]), str(kept_visit["account_id"]), kept_visit["kind"]) == (
        contact["id"], firm["id"], "visit")
    assert [kept_visit[c] for c in ("subject", "body", "address", "latitude", "longitude")] == [None] * 5
    [kept_task] = await _rows(company, "tasks", "id", task)
    assert (str(kept_task["contact_id"]), kept_task["title"], kept_task["notes"]) == (contact["id"], "[erased]", None)
    [visit_created] = await fetch(f'SELECT changes FROM "{company.tenant.schema}".audit_log WHERE record_id = :r '
                                  "AND action = 'create'", r=visit)
    assert visit_created.changes["subject"] == [None, "[erased]"]
    assert visit_created.changes["kind"] == [None, "visit"]  # only the personal columns are scrubbed
    [dup] = await _rows(company, "contacts", "id", duplicate)
    assert (dup["full_name"], dup["email"], dup["merged_into_id"], dup["erased_at"] is not None) == (
        f"Erased contact {uuid.UUID(duplicate).hex[:8]}", None, uuid.UUID(contact["id"]), True)

    schema = company.tenant.schema
    entries = await fetch(f'SELECT action, changes FROM "{schema}".audit_log WHERE record_type = \'contact\' '
                          "AND record_id = :r ORDER BY id", r=contact["id"])
    assert [e.action for e in entries] == ["create", "update", "merged", "privacy_erase"]
    assert entries[1].changes == {"job_title": ["[erased]", "[erased]"]}  # who/when/which field stay
    assert entries[0].changes["full_name"] == [None, "[erased]"]
    for entry in entries[:-1]:
        assert all(v in (None, "[erased]") for change in entry.changes.values() for v in change), entry.action
    erased_entry = entries[-1].changes
    assert erased_entry["reason"] == [None, "Data subject request #17"]
    assert erased_entry["mode"] == [None, "anonymize"]
    assert erased_entry["merged_contacts_erased"] == [0, 1]
    assert (erased_entry["blanked:interactions"], erased_entry["blanked:tasks"]) == ([0, 1], [0, 1])

    for q in (NAME, "Vereczkey", "zoltan.vereczkey@", "5550-9876"):
        found = await api.get(t(company, "search"), headers=company.auth, params={"q": q})
        assert found.status_code == 200, found.text
        assert found.json()["items"] == [], q
        listed = await api.get(t(company, "contacts"), headers=company.auth, params={"q": q, "archived": "true"})
        assert listed.json()["items"] == [], q

    again = await erase(api, company, contact["id"], reason="again", confirm=contact["id"])
    assert_problem(again, 409, "contact_erased")
    patched = await api.patch(t(company, f"contacts/{contact['id']}"), headers=company.auth,
                              json={"email": "back@privacy.example"})
    assert_problem(patched, 409, "contact_erased")
    still = await export(api, company, contact["id"])
    assert still.status_code == 200
    assert datetime.fromisoformat(still.json()["contact"]["erased_at"]) == datetime.fromisoformat(body["erased_at"])


async def footprint(company) -> tuple[Any, ...]:
    schema = company.tenant.schema
    return (await scalar(f'SELECT count(*) FROM "{schema}".audit_log'),
            await scalar(f'SELECT md5(string_agg(changes::text, \'|\' ORDER BY id)) FROM "{schema}".audit_log'),
            await scalar(f'SELECT md5(string_agg(c::text, \'|\' ORDER BY id)) FROM "{schema}".contacts AS c'))


async def test_a_refused_erase_writes_nothing(api, company) -> None:
    contact = await person(api, company)
    before = await footprint(company)
    missing = await erase(api, company, contact["id"])
    assert error_fields(assert_problem(missing, 422)) == {"reason", "confirm"}
    wrong = await erase(api, company, contact["id"], reason="request", confirm=str(uuid.uuid4()))
    assert error_fields(assert_problem(wrong, 422)) == {"confirm"}
    blank = await erase(api, company, contact["id"], reason="   ", confirm=contact["id"], mode="delete")
    assert error_fields(assert_problem(blank, 422)) == {"reason", "mode"}
    assert_problem(await erase(api, company, str(uuid.uuid4()), reason="r", confirm="x"), 404, "contact_not_found")
    unknown = await api.post(t(company, f"contacts/{contact['id']}/erase"), headers=company.auth,
                             json={"reason": "r", "confirm": contact["id"], "extra": 1})
    assert error_fields(assert_problem(unknown, 422)) == {"extra"}
    assert await footprint(company) == before


async def test_export_and_erase_write_their_own_audit_rows_without_personal_data(api, company) -> None:
    contact = await person(api, company)
    assert (await export(api, company, contact["id"])).status_code == 200
    assert (await export(api, company, contact["id"], "csv")).status_code == 200
    assert (await erase(api, company, contact["id"], reason="Subject request", confirm=contact["id"])
            ).status_code == 200
    rows = await fetch(f'SELECT action, actor_user_id, changes FROM "{company.tenant.schema}".audit_log '
                       "WHERE record_id = :r AND action LIKE 'privacy%' ORDER BY id", r=contact["id"])
    assert [(r.action, r.actor_user_id) for r in rows] == [
        ("privacy_export", company.user_id), ("privacy_export", company.user_id), ("privacy_erase", company.user_id)]
    assert [r.changes for r in rows[:2]] == [{"format": [None, "json"]}, {"format": [None, "csv"]}]
    for row in rows:
        assert not any(bit.lower() in json.dumps(row.changes).lower() for bit in SECRET_BITS)
    history = await api.get(t(company, "audit"), headers=company.auth, params={"record": f"contact:{contact['id']}"})
    assert [e["action"] for e in history.json()["items"]][:3] == ["privacy_erase", "privacy_export",
                                                                   "privacy_export"]


async def test_roles(api, company) -> None:
    members = {role: await add_member(company.tenant.id, role)
               for role in ("admin", "manager", "rep", "accountant", "support", "viewer")}
    mine = await person(api, company, owner_user_id=str(members["rep"].user_id))
    for role in ("rep", "accountant", "support", "viewer"):
        auth = members[role].auth
        assert_problem(await export(api, company, mine["id"], auth=auth), 403, "privacy_forbidden")
        refused = await erase(api, company, mine["id"], auth=auth, reason="r", confirm=mine["id"])
        assert_problem(refused, 403, "privacy_forbidden")
    assert (await export(api, company, mine["id"], auth=members["manager"].auth)).status_code == 200
    refused = await erase(api, company, mine["id"], auth=members["manager"].auth, reason="r", confirm=mine["id"])
    assert_problem(refused, 403, "privacy_forbidden")
    assert (await export(api, company, mine["id"], auth=members["admin"].auth)).status_code == 200
    done = await erase(api, company, mine["id"], auth=members["admin"].auth, reason="r", confirm=mine["id"])
    assert done.status_code == 200, done.text


async def test_other_tenants_get_404(api, alpha, beta) -> None:
    contact = await person(api, alpha)
    assert_problem(await export(api, alpha, contact["id"], auth=beta.auth), 404, "tenant_not_found")
    crossed = await erase(api, alpha, contact["id"], auth=beta.auth, reason="r", confirm=contact["id"])
    assert_problem(crossed, 404, "tenant_not_found")
    assert_problem(await export(api, beta, contact["id"]), 404, "contact_not_found")
    inside = await erase(api, beta, contact["id"], reason="r", confirm=contact["id"])
    assert_problem(inside, 404, "contact_not_found")
    still = await api.get(t(alpha, f"contacts/{contact['id']}"), headers=alpha.auth)
    assert (still.json()["full_name"], still.json()["erased_at"]) == (NAME, None)


async def test_the_search_dictionary_forgets_only_words_no_other_name_holds(api, company) -> None:
    contact = await post(api, company, "contacts", full_name="Ottokar Brunhilde")
    await post(api, company, "accounts", name="Brunhilde Bakery")
    done = await erase(api, company, contact["id"], reason="request", confirm=contact["id"])
    assert done.status_code == 200, done.text
    words = {r.word for r in await fetch(f'SELECT word FROM "{company.tenant.schema}".search_words')}
    assert "brunhilde" in words  # the bakery still carries it
    assert "ottokar" not in words
    assert {"erased", "contact"} <= words  # the placeholder's words (its id part has digits: kept out)
    fuzzy = await api.get(t(company, "search"), headers=company.auth, params={"q": "Otokar"})
    assert fuzzy.json()["items"] == []
