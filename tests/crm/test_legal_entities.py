"""Legal entities API: CRUD, validation, IBAN, duplicate warnings, optimistic locking, reassignment, audit,
role rules that follow the account, API keys, tenancy, and failed requests that write nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.api.crm_legal_entities import LegalEntityController
from backend.app import create_app
from backend.domains.crm.legal_entities import countries, iban_ok
from tests.api.helpers import add_member, assert_problem, bearer, fetch, hosted, scalar

ROUTE = "/api/v1/t/{tenant_slug:str}/legal-entities"
VALID_IBAN = "DE89370400440532013000"


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus the legal-entity controller (registered here until app.py registers it)."""
    app = create_app(settings, database=database)
    if not any(route.path.startswith(ROUTE) for route in app.routes):
        app.register(LegalEntityController)
    async with hosted(app, "192.0.2.60", database) as c:
        yield c


def url(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/legal-entities{suffix}"


async def account(api, company, auth=None, **fields) -> str:
    response = await api.post(f"/api/v1/t/{company.slug}/accounts", headers=auth or company.auth,
                              json={"name": "Acme Trading", **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def entity(api, company, account_id: str, auth=None, **fields) -> dict:
    response = await api.post(url(company), headers=auth or company.auth,
                              json={"account_id": account_id, "registered_name": "Acme GmbH", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def audit_of(company, entity_id: str) -> list:
    table = f'"{company.tenant.schema}".audit_log'
    return await fetch(f"SELECT action, changes, actor_user_id, actor_api_key_id FROM {table}"
                       " WHERE record_type = 'legal_entity' AND record_id = :r ORDER BY id", r=entity_id)


async def counts(company) -> tuple[int, int]:
    schema = company.tenant.schema
    return (await scalar(f'SELECT count(*) FROM "{schema}".legal_entities'),
            await scalar(f'SELECT count(*) FROM "{schema}".audit_log'))


async def test_create_read_list_update_archive_with_etags_and_audit(api, company) -> None:
    acct = await account(api, company)
    created = await api.post(url(company), headers=company.auth, json={
        "account_id": acct, "registered_name": "  Hanbit Trading GmbH ", "tax_id": " de 123 456-789 ",
        "country": "de", "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "line2": ""},
        "bank": {"iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx", "bank_name": "Commerzbank"},
    })
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["etag"] == 'W/"1"'
    assert body["warnings"] == []
    assert (body["account_id"], body["registered_name"], body["tax_id"], body["country"]) == (
        acct, "Hanbit Trading GmbH", "DE123456-789", "DE")
    assert body["address"] == {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115"}
    assert body["bank"] == {"iban": VALID_IBAN, "bic": "COBADEFFXXX", "bank_name": "Commerzbank"}

    one = await api.get(url(company, f"/{body['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()["bank"]["iban"]) == (200, 'W/"1"', VALID_IBAN)
    assert "warnings" not in one.json()

    changed = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"address": {"line1": "Unter den Linden 5", "city": "Berlin"}, "bank": None})
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["bank"], changed.json()["tax_id"]) == ('W/"2"', {}, "DE123456-789")
    assert changed.json()["address"] == {"line1": "Unter den Linden 5", "city": "Berlin"}
    same = await api.patch(url(company, f"/{body['id']}"), headers=company.auth,
                           json={"address": {"city": "Berlin", "line1": "Unter den Linden 5"}})
    assert (same.status_code, same.json()["version"]) == (200, 2)  # nothing changed: no version, no audit

    archived = await api.delete(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": '"2"'})
    assert (archived.status_code, archived.headers["etag"]) == (200, 'W/"3"')
    assert archived.json()["archived_at"]
    again = await api.delete(url(company, f"/{body['id']}"), headers=company.auth)
    assert (again.status_code, again.json()["version"]) == (200, 3)  # archiving twice changes nothing
    listed = await api.get(url(company), headers=company.auth)
    assert body["id"] not in [e["id"] for e in listed.json()["items"]]
    with_archived = await api.get(url(company), headers=company.auth, params={"archived": "true"})
    assert [e["id"] for e in with_archived.json()["items"]] == [body["id"]]

    rows = await audit_of(company, body["id"])
    assert [r.action for r in rows] == ["create", "update", "archive"]
    assert rows[0].changes["registered_name"] == [None, "Hanbit Trading GmbH"]
    assert rows[0].changes["account_id"] == [None, acct]
    assert rows[1].changes == {
        "address": [{"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115"},
                    {"line1": "Unter den Linden 5", "city": "Berlin"}],
        "bank": [{"iban": VALID_IBAN, "bic": "COBADEFFXXX", "bank_name": "Commerzbank"}, {}],
    }
    assert all(r.actor_user_id == company.user_id for r in rows)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"account_id": None, "registered_name": None}, {"account_id", "registered_name"}),
        ({"registered_name": "   "}, {"registered_name"}),
        ({"registered_name": "x" * 251}, {"registered_name"}),
        ({"registered_name": "bad\u0007name"}, {"registered_name"}),
        ({"tax_id": "12/34"}, {"tax_id"}),
        ({"tax_id": "1" * 65}, {"tax_id"}),
        ({"country": "XX"}, {"country"}),
        ({"country": "DEU"}, {"country"}),
        ({"country": "EU"}, {"country"}),
        ({"address": "Hauptstr. 1, Berlin"}, {"address"}),
        ({"address": {"street": "Hauptstr. 1"}}, {"address.street"}),
        ({"address": {"city": "x" * 201}}, {"address.city"}),
        ({"address": {"line1": 5}}, {"address.line1"}),
        ({"bank": ["DE89"]}, {"bank"}),
        ({"bank": {"iban": "DE89370400440532013001"}}, {"bank.iban"}),
        ({"bank": {"iban": "DE89 3704"}}, {"bank.iban"}),
        ({"bank": {"bic": "DEUTDE"}}, {"bank.bic"}),
        ({"bank": {"bic": "DEUTDEFF5"}}, {"bank.bic"}),
        ({"bank": {"account_number": "1" * 65, "swift": "DEUTDEFF"}}, {"bank.account_number", "bank.swift"}),
        ({"account_id": "00000000-0000-0000-0000-000000000001"}, {"account_id"}),
        ({"account_id": "not-an-id"}, {"account_id"}),
        ({"colour": "blue"}, {"colour"}),
        ({"registered_name": "", "country": "XX", "bank": {"iban": "GB00WEST12345698765432"}},
         {"registered_name", "country", "bank.iban"}),
    ],
)
async def test_invalid_input_is_422_with_fields_and_writes_nothing(api, company, body, fields) -> None:
    acct = await account(api, company)
    before = await counts(company)
    response = await api.post(url(company), headers=company.auth,
                              json={"account_id": acct, "registered_name": "Acme GmbH", **body})
    problem = assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} == fields
    assert await counts(company) == before


async def test_invalid_patch_is_422_and_changes_nothing(api, company) -> None:
    made = await entity(api, company, await account(api, company), tax_id="DE1", country="DE")
    before = await counts(company)
    bad = await api.patch(url(company, f"/{made['id']}"), headers=company.auth,
                          json={"registered_name": None, "bank": {"iban": "DE00370400440532013000"}})
    assert {e["field"] for e in assert_problem(bad, 422)["errors"]} == {"registered_name", "bank.iban"}
    assert await counts(company) == before
    one = (await api.get(url(company, f"/{made['id']}"), headers=company.auth)).json()
    assert (one["registered_name"], one["bank"], one["version"]) == ("Acme GmbH", {}, 1)


async def test_iban_checksum_and_country_codes() -> None:
    for good in (VALID_IBAN, "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300"):
        assert iban_ok(good), good
    for bad in ("DE89370400440532013001", "GB82WEST12345698765433", "GB82", "1234WEST12345698765432",
                "DE89-3704-0044-0532-0130-00"):
        assert not iban_ok(bad), bad
    assert {"DE", "FR", "KR", "JP", "US", "GB"} <= countries()
    assert not {"EU", "ZZ", "UN", "001", "XX"} & countries()


async def test_valid_ibans_are_accepted_and_normalised(api, company) -> None:
    acct = await account(api, company)
    made = await entity(api, company, acct, bank={"iban": "gb82 west 1234 5698 7654 32", "bic": "NWBKGB2L",
                                                  "account_holder": "Acme Ltd", "account_number": "98765432"})
    assert made["bank"] == {"iban": "GB82WEST12345698765432", "bic": "NWBKGB2L", "account_holder": "Acme Ltd",
                            "account_number": "98765432"}
    changed = await api.patch(url(company, f"/{made['id']}"), headers=company.auth,
                              json={"bank": {"iban": "FR14 2004 1010 0505 0001 3M02 606"}})
    assert changed.json()["bank"] == {"iban": "FR1420041010050500013M02606"}


async def test_duplicate_tax_id_creates_with_warnings(api, company) -> None:
    acct = await account(api, company)
    first = await entity(api, company, acct, registered_name="Acme GmbH", tax_id="DE123456789", country="DE")
    dup = await entity(api, company, acct, registered_name="Acme Germany", tax_id="de-123.456 789", country="de")
    assert dup["warnings"] == [{"field": "tax_id", "reason": "another legal entity has this tax id",
                                "existing_id": first["id"]}]
    assert dup["tax_id"] == "DE-123.456789"
    third = await entity(api, company, acct, registered_name="Acme 3", tax_id="DE123456789", country="DE")
    assert {w["existing_id"] for w in third["warnings"]} == {first["id"], dup["id"]}

    elsewhere = await entity(api, company, acct, registered_name="Acme SARL", tax_id="DE123456789", country="FR")
    assert elsewhere["warnings"] == []
    no_country = await entity(api, company, acct, registered_name="Acme ?", tax_id="DE123456789")
    assert no_country["warnings"] == []
    other_id = await entity(api, company, acct, registered_name="Other", tax_id="DE987654321", country="DE")
    assert other_id["warnings"] == []
    for made in (first, dup, third):
        assert (await api.delete(url(company, f"/{made['id']}"), headers=company.auth)).status_code == 200
    after_archive = await entity(api, company, acct, registered_name="Acme new", tax_id="DE123456789", country="DE")
    assert after_archive["warnings"] == []
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".legal_entities'
                        " WHERE upper(tax_id) LIKE 'DE%'") == 7  # warnings never block creation


async def test_if_match_mismatch_is_409_and_malformed_is_422(api, company) -> None:
    made = await entity(api, company, await account(api, company))
    before = await counts(company)
    stale = await api.patch(url(company, f"/{made['id']}"), headers={**company.auth, "If-Match": 'W/"7"'},
                            json={"registered_name": "Changed"})
    assert_problem(stale, 409, "version_conflict")
    stale_archive = await api.delete(url(company, f"/{made['id']}"), headers={**company.auth, "If-Match": '"2"'})
    assert_problem(stale_archive, 409, "version_conflict")
    for header in ("7", "W/abc", '"x"'):
        malformed = await api.patch(url(company, f"/{made['id']}"), headers={**company.auth, "If-Match": header},
                                    json={"registered_name": "Changed"})
        assert {e["field"] for e in assert_problem(malformed, 422)["errors"]} == {"If-Match"}
    assert await counts(company) == before
    one = await api.get(url(company, f"/{made['id']}"), headers=company.auth)
    assert (one.json()["registered_name"], one.headers["etag"]) == ("Acme GmbH", 'W/"1"')
    fine = await api.patch(url(company, f"/{made['id']}"), headers={**company.auth, "If-Match": "*"},
                           json={"registered_name": "Changed"})
    assert (fine.status_code, fine.headers["etag"]) == (200, 'W/"2"')


async def test_reassignment_to_another_account_is_audited(api, company) -> None:
    rep = await add_member(company.tenant.id, "rep")
    source, target = await account(api, company, name="Source Co"), await account(api, company, name="Target Co")
    archived = await account(api, company, name="Gone Co")
    await api.delete(f"/api/v1/t/{company.slug}/accounts/{archived}", headers=company.auth)
    made = await entity(api, company, source)

    moved = await api.patch(url(company, f"/{made['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"account_id": target})
    assert (moved.status_code, moved.json()["account_id"], moved.json()["version"]) == (200, target, 2)
    rows = await audit_of(company, made["id"])
    assert (rows[-1].action, rows[-1].changes) == ("update", {"account_id": [source, target]})
    in_target = await api.get(url(company), headers=company.auth, params={"account": target})
    assert [e["id"] for e in in_target.json()["items"]] == [made["id"]]
    in_source = await api.get(url(company), headers=company.auth, params={"account": source})
    assert in_source.json()["items"] == []

    # A rep may move an entity only between accounts they can see (the owner's private account is not one).
    rep_account = await account(api, company, auth=rep.auth, name="Rep Co")
    rep_entity = await entity(api, company, rep_account, auth=rep.auth)
    before = await counts(company)
    to_archived = await api.patch(url(company, f"/{made['id']}"), headers=company.auth, json={"account_id": archived})
    assert {e["field"] for e in assert_problem(to_archived, 422)["errors"]} == {"account_id"}
    to_nowhere = await api.patch(url(company, f"/{made['id']}"), headers=company.auth, json={"account_id": None})
    assert {e["field"] for e in assert_problem(to_nowhere, 422)["errors"]} == {"account_id"}
    hidden = await api.patch(url(company, f"/{rep_entity['id']}"), headers=rep.auth, json={"account_id": target})
    assert {e["field"] for e in assert_problem(hidden, 422)["errors"]} == {"account_id"}
    assert await counts(company) == before
    assert (await api.get(url(company, f"/{made['id']}"), headers=company.auth)).json()["account_id"] == target


async def test_role_rules_follow_the_account(api, company) -> None:
    rep, other_rep, manager = [await add_member(company.tenant.id, r) for r in ("rep", "rep", "manager")]
    readers = [await add_member(company.tenant.id, r) for r in ("viewer", "accountant", "support")]
    rep_acct = await account(api, company, auth=rep.auth, name="Rep Co")
    other_acct = await account(api, company, auth=other_rep.auth, name="Other Rep Co")
    shared_acct = await account(api, company, name="Shared Co", is_shared=True)
    private_acct = await account(api, company, name="Owner Private Co")

    own = await entity(api, company, rep_acct, auth=rep.auth, registered_name="Rep Own GmbH")
    on_shared = await entity(api, company, shared_acct, auth=rep.auth, registered_name="Shared GmbH")
    theirs = await entity(api, company, other_acct, auth=other_rep.auth, registered_name="Other GmbH",
                          tax_id="KR1234567890", country="KR")
    private = await entity(api, company, private_acct, registered_name="Private GmbH")

    listed = await api.get(url(company), headers=rep.auth)
    assert [e["registered_name"] for e in listed.json()["items"]] == ["Rep Own GmbH", "Shared GmbH"]
    for made in (theirs, private):
        assert_problem(await api.get(url(company, f"/{made['id']}"), headers=rep.auth), 404, "legal_entity_not_found")
        assert_problem(await api.patch(url(company, f"/{made['id']}"), headers=rep.auth,
                                       json={"registered_name": "Mine now"}), 404, "legal_entity_not_found")
        assert_problem(await api.delete(url(company, f"/{made['id']}"), headers=rep.auth), 404)
    refused = await api.post(url(company), headers=rep.auth, json={"account_id": other_acct, "registered_name": "x"})
    assert {e["field"] for e in assert_problem(refused, 422)["errors"]} == {"account_id"}
    for made in (own, on_shared):
        edited = await api.patch(url(company, f"/{made['id']}"), headers=rep.auth, json={"country": "KR"})
        assert (edited.status_code, edited.json()["country"]) == (200, "KR")
    # The duplicate is reported, but a rep does not learn the id of an entity they cannot see.
    dup = await entity(api, company, rep_acct, auth=rep.auth, registered_name="Copy", tax_id="KR1234567890",
                       country="KR")
    assert dup["warnings"] == [{"field": "tax_id", "reason": "another legal entity has this tax id",
                                "existing_id": None}]

    for boss in (manager, company):
        for made in (own, theirs, private):
            edited = await api.patch(url(company, f"/{made['id']}"), headers=boss.auth,
                                     json={"registered_name": f"{made['registered_name']} ({boss.user_id})"[:250]})
            assert edited.status_code == 200, edited.text
        assert len((await api.get(url(company), headers=boss.auth)).json()["items"]) == 5

    before = await counts(company)
    for reader in readers:
        seen = await api.get(url(company), headers=reader.auth)
        assert len(seen.json()["items"]) == 5
        assert (await api.get(url(company, f"/{theirs['id']}"), headers=reader.auth)).status_code == 200
        assert_problem(await api.post(url(company), headers=reader.auth,
                                      json={"account_id": shared_acct, "registered_name": "x"}), 403, "crm_read_only")
        assert_problem(await api.patch(url(company, f"/{own['id']}"), headers=reader.auth,
                                       json={"registered_name": "x"}), 403, "crm_read_only")
        assert_problem(await api.delete(url(company, f"/{own['id']}"), headers=reader.auth), 403, "crm_read_only")
    assert await counts(company) == before


async def test_viewer_api_key_reads_but_cannot_write(api, company) -> None:
    acct = await account(api, company)
    made = await entity(api, company, acct, tax_id="US12-3456789", country="US")
    key = await api.post(f"/api/v1/t/{company.slug}/api-keys", headers=company.auth,
                         json={"name": "reporting", "role": "viewer"})
    assert key.status_code == 201, key.text
    bot = bearer(key.json()["secret"])
    listed = await api.get(url(company), headers=bot, params={"q": "us12-34"})
    assert [e["id"] for e in listed.json()["items"]] == [made["id"]]
    assert (await api.get(url(company, f"/{made['id']}"), headers=bot)).status_code == 200
    before = await counts(company)
    assert_problem(await api.post(url(company), headers=bot, json={"account_id": acct, "registered_name": "x"}),
                   403, "crm_read_only")
    assert_problem(await api.patch(url(company, f"/{made['id']}"), headers=bot, json={"country": "CA"}),
                   403, "crm_read_only")
    assert_problem(await api.delete(url(company, f"/{made['id']}"), headers=bot), 403, "crm_read_only")
    assert await counts(company) == before


async def test_rep_api_key_writes_on_unowned_accounts_and_is_audited_as_the_key(api, company) -> None:
    key = await api.post(f"/api/v1/t/{company.slug}/api-keys", headers=company.auth,
                         json={"name": "importer", "role": "rep"})
    bot = bearer(key.json()["secret"])
    private = await account(api, company, name="Owner Private Co")
    refused = await api.post(url(company), headers=bot, json={"account_id": private, "registered_name": "x"})
    assert {e["field"] for e in assert_problem(refused, 422)["errors"]} == {"account_id"}
    unowned = await account(api, company, auth=bot, name="Imported Co")
    made = await entity(api, company, unowned, auth=bot)
    rows = await audit_of(company, made["id"])
    assert (rows[0].actor_user_id, str(rows[0].actor_api_key_id)) == (None, key.json()["id"])


async def test_other_tenants_entities_do_not_exist(api, make_company) -> None:
    first, second = await make_company(), await make_company()
    acct = await account(api, first)
    made = await entity(api, first, acct, registered_name="First Only GmbH")
    assert_problem(await api.get(url(second, f"/{made['id']}"), headers=second.auth), 404, "legal_entity_not_found")
    assert_problem(await api.patch(url(second, f"/{made['id']}"), headers=second.auth,
                                   json={"registered_name": "Hijacked"}), 404, "legal_entity_not_found")
    assert_problem(await api.delete(url(second, f"/{made['id']}"), headers=second.auth), 404)
    assert (await api.get(url(second), headers=second.auth, params={"q": "First Only"})).json()["items"] == []
    cross = await api.post(url(second), headers=second.auth, json={"account_id": acct, "registered_name": "x"})
    assert {e["field"] for e in assert_problem(cross, 422)["errors"]} == {"account_id"}
    assert_problem(await api.get(url(first, f"/{made['id']}"), headers=second.auth), 404, "tenant_not_found")
    assert (await counts(second))[0] == 0
    one = await api.get(url(first, f"/{made['id']}"), headers=first.auth)
    assert (one.json()["registered_name"], one.json()["version"]) == ("First Only GmbH", 1)


async def test_keyset_pages_search_and_filters(api, company) -> None:
    acct, other = await account(api, company), await account(api, company, name="Other Co")
    names = [f"Firm {i:02d}" for i in range(5)]
    for i, name in enumerate(reversed(names)):
        await entity(api, company, acct, registered_name=name, tax_id=f"VAT-{i}00_{i}".replace("_", ""))
    await entity(api, company, other, registered_name="Zeta AG", tax_id="CHE-123.456.789")
    seen, cursor = [], None
    for _ in range(10):
        page = await api.get(url(company), headers=company.auth,
                             params={"limit": 2, "account": acct, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 2
        seen += [e["registered_name"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    everything = await api.get(url(company), headers=company.auth)
    assert [e["registered_name"] for e in everything.json()["items"]] == [*names, "Zeta AG"]
    by_tax = await api.get(url(company), headers=company.auth, params={"q": "che-123.456"})
    assert [e["registered_name"] for e in by_tax.json()["items"]] == ["Zeta AG"]
    by_name = await api.get(url(company), headers=company.auth, params={"q": "firm 03"})
    assert [e["registered_name"] for e in by_name.json()["items"]] == ["Firm 03"]
    literal = await api.get(url(company), headers=company.auth, params={"q": "Firm 0_"})
    assert literal.json()["items"] == []  # LIKE wildcards in q are literal
    assert_problem(await api.get(url(company), headers=company.auth, params={"cursor": "garbage!"}), 422)
    assert_problem(await api.get(url(company), headers=company.auth, params={"limit": 0}), 422)
    unknown = await api.get(url(company, f"/{uuid.uuid4()}"), headers=company.auth)
    assert_problem(unknown, 404, "legal_entity_not_found")
