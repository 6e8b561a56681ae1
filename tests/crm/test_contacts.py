"""Contacts API: E.164 phones, emails, roles, consent, duplicate warnings, ETags, visibility by owner or account,
read-only roles, API keys, tenancy and the audit trail. Runs on its own app with ContactController registered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.api.crm_contacts import ContactController
from backend.app import create_app
from tests.api.helpers import add_member, assert_problem, bearer, error_fields, execute, fetch, hosted, scalar

PATH = "/api/v1/t/{tenant_slug:str}/contacts"


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    if not any(route.path.startswith(PATH) for route in app.routes):  # app.py may register it already
        app.register(ContactController)
    async with hosted(app, "192.0.2.61", database) as client:
        yield client


def url(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/contacts{suffix}"


async def make(api, company, auth=None, **fields):
    response = await api.post(url(company), headers=auth or company.auth, json={"full_name": "Kim Minji", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def make_account(api, company, auth=None, **fields):
    response = await api.post(f"/api/v1/t/{company.slug}/accounts", headers=auth or company.auth,
                              json={"name": "Hanbit Trading", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def audit_rows(company, contact_id: str) -> list:
    return await fetch("SELECT action, changes, actor_user_id, actor_api_key_id"
                       f' FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_type = 'contact' AND record_id = :r ORDER BY id", r=contact_id)


async def counts(company) -> tuple[int, int]:
    schema = company.tenant.schema
    return (await scalar(f'SELECT count(*) FROM "{schema}".contacts'),
            await scalar(f'SELECT count(*) FROM "{schema}".audit_log'))


def names(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {c["full_name"] for c in response.json()["items"]}


async def test_create_read_update_archive_with_etags_and_audit(api, company) -> None:
    account = await make_account(api, company)
    created = await api.post(url(company), headers=company.auth, json={
        "full_name": "  Kim Minji  ", "job_title": "Purchasing lead", "account_id": account["id"],
        "email": "  Minji.Kim@Hanbit.EXAMPLE ", "phone": "+82 10-1234-5678",
        "roles": ["payer", "decision_maker", "payer"]})
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == 'W/"1"'
    body = created.json()
    assert (body["full_name"], body["email"], body["phone"], body["roles"]) == (
        "Kim Minji", "minji.kim@hanbit.example", "+821012345678", ["decision_maker", "payer"])
    assert (body["account_id"], body["owner_user_id"], body["warnings"]) == (account["id"], str(company.user_id), [])
    assert (body["email_consent"], body["email_consent_at"], body["sms_consent"]) == (False, None, False)

    one = await api.get(url(company, f"/{body['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()["phone"]) == (200, 'W/"1"', "+821012345678")
    assert "warnings" not in one.json()

    changed = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                              json={"job_title": "CFO", "roles": ["payer"]})
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["job_title"], changed.json()["roles"]) == (
        'W/"2"', "CFO", ["payer"])
    stale = await api.patch(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'},
                            json={"job_title": "CEO"})
    assert_problem(stale, 409, "version_conflict")
    assert_problem(await api.delete(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'}),
                   409, "version_conflict")
    same = await api.patch(url(company, f"/{body['id']}"), headers=company.auth, json={"job_title": "CFO"})
    assert same.json()["version"] == 2  # nothing changed, no new version

    archived = await api.delete(url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"2"'})
    assert (archived.status_code, archived.headers["etag"]) == (200, 'W/"3"')
    assert archived.json()["archived_at"]
    assert body["id"] not in [c["id"] for c in (await api.get(url(company), headers=company.auth)).json()["items"]]
    everything = await api.get(url(company), headers=company.auth, params={"archived": "true"})
    assert body["id"] in [c["id"] for c in everything.json()["items"]]

    rows = await audit_rows(company, body["id"])
    assert [r.action for r in rows] == ["create", "update", "archive"]
    assert rows[0].changes["phone"] == [None, "+821012345678"]
    assert rows[0].changes["email"] == [None, "minji.kim@hanbit.example"]
    assert rows[1].changes == {"job_title": ["Purchasing lead", "CFO"], "roles": [["decision_maker", "payer"],
                                                                                   ["payer"]]}
    assert rows[1].actor_user_id == company.user_id


@pytest.mark.parametrize(
    ("phone", "region", "stored"),
    [
        ("+82 10-1234-5678", None, "+821012345678"),
        ("+1 (650) 253-0000", None, "+16502530000"),
        ("010-1234-5678", "KR", "+821012345678"),
        ("010 1234 5678", "kr", "+821012345678"),
        ("030 1234567", "DE", "+49301234567"),
        ("+44 20 7946 0958", "KR", "+442079460958"),  # an international number ignores the hint
    ],
)
async def test_phones_are_stored_in_e164(api, company, phone, region, stored) -> None:
    fields = {"phone": phone, **({"phone_region": region} if region else {})}
    created = await make(api, company, **fields)
    assert created["phone"] == stored
    read = await api.get(url(company, f"/{created['id']}"), headers=company.auth)
    assert read.json()["phone"] == stored


async def test_phone_can_be_changed_with_a_national_number(api, company) -> None:
    contact = await make(api, company, phone="+82 10-1234-5678")
    changed = await api.patch(url(company, f"/{contact['id']}"), headers=company.auth,
                              json={"phone": "02-312-3456", "phone_region": "KR"})
    assert (changed.status_code, changed.json()["phone"]) == (200, "+8223123456")
    cleared = await api.patch(url(company, f"/{contact['id']}"), headers=company.auth, json={"phone": None})
    assert cleared.json()["phone"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"full_name"}),
        ({"full_name": "   "}, {"full_name"}),
        ({"full_name": "x" * 201}, {"full_name"}),
        ({"full_name": "Kim\u0007"}, {"full_name"}),
        ({"full_name": "Kim", "job_title": "x" * 121}, {"job_title"}),
        ({"full_name": "Kim", "email": "not-an-email"}, {"email"}),
        ({"full_name": "Kim", "email": "kim@"}, {"email"}),
        ({"full_name": "Kim", "phone": "010-1234-5678"}, {"phone"}),  # national without a region
        ({"full_name": "Kim", "phone": "+82 10"}, {"phone"}),
        ({"full_name": "Kim", "phone": "call me maybe"}, {"phone"}),
        ({"full_name": "Kim", "phone": "+1 650 253 0000 ext. 12"}, {"phone"}),
        ({"full_name": "Kim", "phone": "010-1234-5678", "phone_region": "XX"}, {"phone_region"}),
        ({"full_name": "Kim", "phone_region": "KR"}, {"phone_region"}),
        ({"full_name": "Kim", "roles": ["ceo"]}, {"roles"}),
        ({"full_name": "Kim", "roles": ["payer", "boss"]}, {"roles"}),
        ({"full_name": "Kim", "email": "kim@example.com", "email_consent": True}, {"email_consent_source"}),
        ({"full_name": "Kim", "email_consent": True, "email_consent_source": "web form"}, {"email_consent"}),
        ({"full_name": "Kim", "sms_consent": True, "sms_consent_source": "trade show"}, {"sms_consent"}),
        ({"full_name": "Kim", "phone": "+82 10-1234-5678", "sms_consent": True, "sms_consent_source": "x" * 65},
         {"sms_consent_source"}),
        ({"full_name": "Kim", "email_consent_source": "web form"}, {"email_consent_source"}),
        ({"full_name": "Kim", "owner_user_id": "00000000-0000-0000-0000-000000000001"}, {"owner_user_id"}),
        ({"full_name": "Kim", "account_id": "00000000-0000-0000-0000-000000000001"}, {"account_id"}),
        ({"full_name": "", "email": "x", "phone": "abc", "roles": ["ceo"]}, {"full_name", "email", "phone", "roles"}),
        ({"full_name": "Kim", "nickname": "M"}, {"nickname"}),
    ],
)
async def test_invalid_input_is_422_with_fields_and_writes_nothing(api, company, body, fields) -> None:
    before = await counts(company)
    problem = assert_problem(await api.post(url(company), headers=company.auth, json=body), 422)
    assert error_fields(problem) == fields
    assert await counts(company) == before  # no contact row, no audit row


async def test_a_refused_change_writes_nothing(api, company) -> None:
    contact = await make(api, company, email="kim@example.com", phone="+82 10-1234-5678")
    before = await counts(company)
    refused = await api.patch(url(company, f"/{contact['id']}"), headers=company.auth,
                              json={"full_name": "Renamed", "email": "broken", "sms_consent": True})
    assert error_fields(assert_problem(refused, 422)) == {"email", "sms_consent_source"}
    read = (await api.get(url(company, f"/{contact['id']}"), headers=company.auth)).json()
    assert (read["full_name"], read["email"], read["sms_consent"], read["version"]) == (
        "Kim Minji", "kim@example.com", False, 1)
    assert await counts(company) == before


async def test_consent_needs_a_source_and_an_address_and_is_stamped_and_cleared(api, company) -> None:
    contact = await make(api, company, email="Lee@Example.com", email_consent=True, email_consent_source="web form")
    assert (contact["email_consent"], contact["email_consent_source"]) == (True, "web form")
    stamped = contact["email_consent_at"]
    assert stamped is not None
    cid = url(company, f"/{contact['id']}")

    assert error_fields(assert_problem(await api.patch(cid, headers=company.auth, json={
        "sms_consent": True, "sms_consent_source": "trade show"}), 422)) == {"sms_consent"}  # no phone yet
    with_sms = await api.patch(cid, headers=company.auth, json={
        "phone": "+82 10-9876-5432", "sms_consent": True, "sms_consent_source": "trade show"})
    assert with_sms.status_code == 200, with_sms.text
    sms = with_sms.json()
    assert (sms["sms_consent"], sms["sms_consent_source"], sms["version"]) == (True, "trade show", 2)
    assert sms["sms_consent_at"] is not None
    assert sms["email_consent_at"] == stamped  # the other channel is untouched

    again = await api.patch(cid, headers=company.auth, json={"email_consent": True, "email_consent_source": "web form"})
    assert (again.json()["version"], again.json()["email_consent_at"]) == (2, stamped)  # nothing new to record
    assert error_fields(assert_problem(await api.patch(cid, headers=company.auth, json={"phone": None}), 422)) == {
        "phone"}  # sms consent still stands
    assert error_fields(assert_problem(await api.patch(cid, headers=company.auth, json={"email": ""}), 422)) == {
        "email"}

    withdrawn = await api.patch(cid, headers=company.auth, json={"email_consent": False})
    w = withdrawn.json()
    assert (w["email_consent"], w["email_consent_at"], w["email_consent_source"]) == (False, None, None)
    assert (w["sms_consent"], w["sms_consent_source"]) == (True, "trade show")
    consenting = await api.get(url(company), headers=company.auth, params={"sms_consent": "true"})
    assert [c["id"] for c in consenting.json()["items"]] == [contact["id"]]
    assert (await api.get(url(company), headers=company.auth, params={"email_consent": "true"})).json()["items"] == []

    rows = await audit_rows(company, contact["id"])
    assert [r.action for r in rows] == ["create", "update", "update"]
    assert rows[0].changes["email_consent"] == [None, True]
    assert rows[0].changes["email_consent_source"] == [None, "web form"]
    assert rows[0].changes["email_consent_at"][1] is not None
    assert rows[1].changes["sms_consent"] == [False, True]
    assert rows[1].changes["sms_consent_source"] == [None, "trade show"]
    assert rows[1].changes["sms_consent_at"][0] is None
    assert rows[1].changes["phone"] == [None, "+821098765432"]
    assert rows[2].changes["email_consent"] == [True, False]
    assert rows[2].changes["email_consent_source"] == ["web form", None]
    assert rows[2].changes["email_consent_at"][1] is None
    assert set(rows[2].changes) == {"email_consent", "email_consent_at", "email_consent_source"}


async def test_duplicates_are_created_with_warnings(api, company) -> None:
    first = await make(api, company, full_name="Park Jisoo", email="jisoo@example.com", phone="+82 10-5555-0001")
    by_email = await make(api, company, full_name="J. Park", email="JISOO@example.com")
    assert [(w["field"], w["existing_id"]) for w in by_email["warnings"]] == [("email", first["id"])]
    assert by_email["warnings"][0]["reason"]
    by_phone = await make(api, company, full_name="Jisoo P.", phone="010-5555-0001", phone_region="KR")
    assert [(w["field"], w["existing_id"]) for w in by_phone["warnings"]] == [("phone", first["id"])]
    both = await make(api, company, full_name="Jisoo Park", email="jisoo@example.com", phone="+821055550001")
    assert sorted((w["field"], w["existing_id"]) for w in both["warnings"]) == sorted(
        [("email", first["id"]), ("email", by_email["id"]), ("phone", first["id"]), ("phone", by_phone["id"])])

    for contact in (first, by_email, by_phone, both):
        assert (await api.delete(url(company, f"/{contact['id']}"), headers=company.auth)).status_code == 200
    fresh = await make(api, company, full_name="Park Jisoo", email="jisoo@example.com", phone="+821055550001")
    assert fresh["warnings"] == []  # archived contacts are not duplicates

    rep = await add_member(company.tenant.id, "rep")
    hidden = await make(api, company, auth=rep.auth, full_name="Jisoo", email="jisoo@example.com")
    assert [(w["field"], w["existing_id"]) for w in hidden["warnings"]] == [("email", None)]  # not visible to rep


async def test_lists_filter_sort_and_page(api, make_company) -> None:
    company = await make_company()
    account = await make_account(api, company)
    for i in range(7):
        await make(api, company, full_name=f"Person {i:02d}", email=f"p{i}@firm{i % 2}.example",
                   roles=["payer"] if i % 3 == 0 else ["user"], **({"account_id": account["id"]} if i < 3 else {}))
    seen, cursor = [], None
    for _ in range(10):
        page = await api.get(url(company), headers=company.auth, params={"limit": 3, **({"cursor": cursor} if cursor
                                                                                        else {})})
        assert page.status_code == 200, page.text
        seen += [c["full_name"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Person {i:02d}" for i in range(7)]
    desc = await api.get(url(company), headers=company.auth, params={"sort": "-name", "limit": 2})
    assert [c["full_name"] for c in desc.json()["items"]] == ["Person 06", "Person 05"]
    created = await api.get(url(company), headers=company.auth, params={"sort": "-created", "limit": 3})
    newest = [c["full_name"] for c in created.json()["items"]]
    rest = await api.get(url(company), headers=company.auth,
                         params={"sort": "-created", "limit": 3, "cursor": created.json()["next_cursor"]})
    assert len(set(newest) | {c["full_name"] for c in rest.json()["items"]}) == 6
    assert names(await api.get(url(company), headers=company.auth, params={"account_id": account["id"]})) == {
        "Person 00", "Person 01", "Person 02"}
    assert names(await api.get(url(company), headers=company.auth, params={"q": "FIRM1"})) == {
        "Person 01", "Person 03", "Person 05"}
    assert names(await api.get(url(company), headers=company.auth, params={"q": "son 04"})) == {"Person 04"}
    assert names(await api.get(url(company), headers=company.auth, params={"q": "Person 0_"})) == set()
    assert names(await api.get(url(company), headers=company.auth, params={"role": "payer"})) == {
        "Person 00", "Person 03", "Person 06"}
    for bad in ({"role": "boss"}, {"sort": "size"}, {"cursor": "garbage!"}):
        assert_problem(await api.get(url(company), headers=company.auth, params=bad), 422)


async def test_reps_see_own_contacts_and_those_of_shared_or_own_accounts(api, company) -> None:
    rep, other_rep, manager = [await add_member(company.tenant.id, r) for r in ("rep", "rep", "manager")]
    rep_account = await make_account(api, company, auth=rep.auth, name="Rep Account")
    other_account = await make_account(api, company, auth=other_rep.auth, name="Other Account")
    shared_account = await make_account(api, company, name="Shared Account", is_shared=True)
    at_shared = await make(api, company, full_name="At Shared", account_id=shared_account["id"])
    at_rep_account = await make(api, company, full_name="At Rep Account", account_id=rep_account["id"])
    private = await make(api, company, full_name="Owner Private")
    at_other = await make(api, company, full_name="At Other Account", account_id=other_account["id"])
    mine = await make(api, company, auth=rep.auth, full_name="Rep Own")
    theirs = await make(api, company, auth=other_rep.auth, full_name="Other Rep Own")
    unowned = await make(api, company, full_name="Nobody's", owner_user_id=None)
    assert (mine["owner_user_id"], unowned["owner_user_id"]) == (str(rep.user_id), None)

    assert names(await api.get(url(company), headers=rep.auth)) == {
        "At Shared", "At Rep Account", "Rep Own", "Nobody's"}
    for hidden in (private, at_other, theirs):
        assert_problem(await api.get(url(company, f"/{hidden['id']}"), headers=rep.auth), 404, "contact_not_found")
        assert_problem(await api.patch(url(company, f"/{hidden['id']}"), headers=rep.auth, json={"job_title": "x"}),
                       404, "contact_not_found")
        assert_problem(await api.delete(url(company, f"/{hidden['id']}"), headers=rep.auth), 404, "contact_not_found")
    for visible in (at_shared, at_rep_account, mine, unowned):
        edited = await api.patch(url(company, f"/{visible['id']}"), headers=rep.auth, json={"job_title": "Buyer"})
        assert edited.status_code == 200, edited.text

    steal = await api.patch(url(company, f"/{mine['id']}"), headers=rep.auth,
                            json={"owner_user_id": str(other_rep.user_id)})
    assert error_fields(assert_problem(steal, 422)) == {"owner_user_id"}
    foreign_account = await api.post(url(company), headers=rep.auth,
                                     json={"full_name": "x", "account_id": other_account["id"]})
    assert error_fields(assert_problem(foreign_account, 422)) == {"account_id"}
    moved = await api.patch(url(company, f"/{mine['id']}"), headers=rep.auth, json={"account_id": rep_account["id"]})
    assert moved.json()["account_id"] == rep_account["id"]
    listed = await api.get(url(company), headers=rep.auth, params={"account_id": other_account["id"]})
    assert listed.json()["items"] == []  # the filter never widens what a rep sees

    assert (await api.patch(url(company, f"/{theirs['id']}"), headers=manager.auth,
                            json={"owner_user_id": str(rep.user_id)})).status_code == 200
    assert (await api.get(url(company, f"/{theirs['id']}"), headers=rep.auth)).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "accountant", "support"])
async def test_read_only_roles_see_everything_and_change_nothing(api, company, role) -> None:
    reader, rep = await add_member(company.tenant.id, role), await add_member(company.tenant.id, "rep")
    contact = await make(api, company, auth=rep.auth, full_name="Rep Private")
    before = await counts(company)
    assert "Rep Private" in names(await api.get(url(company), headers=reader.auth))
    assert (await api.get(url(company, f"/{contact['id']}"), headers=reader.auth)).status_code == 200
    assert_problem(await api.post(url(company), headers=reader.auth, json={"full_name": "x"}), 403, "crm_read_only")
    assert_problem(await api.patch(url(company, f"/{contact['id']}"), headers=reader.auth, json={"job_title": "x"}),
                   403, "crm_read_only")
    assert_problem(await api.delete(url(company, f"/{contact['id']}"), headers=reader.auth), 403, "crm_read_only")
    assert await counts(company) == before


async def test_api_keys_act_with_their_role_and_own_nothing(api, client, company) -> None:
    shared_account = await make_account(api, company, name="Shared Account", is_shared=True)
    private = await make(api, company, full_name="Owner Private")
    at_shared = await make(api, company, full_name="At Shared", account_id=shared_account["id"])

    async def key(role: str) -> dict[str, str]:
        made = await client.post(f"/api/v1/t/{company.slug}/api-keys", headers=company.auth,
                                 json={"name": f"{role} bot", "role": role})
        assert made.status_code == 201, made.text
        return bearer(made.json()["secret"])

    rep_bot, viewer_bot = await key("rep"), await key("viewer")
    assert_problem(await api.get(url(company, f"/{private['id']}"), headers=rep_bot), 404, "contact_not_found")
    assert (await api.get(url(company, f"/{at_shared['id']}"), headers=rep_bot)).status_code == 200
    created = await make(api, company, auth=rep_bot, full_name="Bot Lead")
    assert created["owner_user_id"] is None
    assert names(await api.get(url(company), headers=rep_bot)) == {"At Shared", "Bot Lead"}
    rows = await audit_rows(company, created["id"])
    assert (rows[0].actor_user_id, rows[0].actor_api_key_id is not None) == (None, True)
    assert {"Owner Private", "At Shared", "Bot Lead"} <= names(await api.get(url(company), headers=viewer_bot))
    assert_problem(await api.post(url(company), headers=viewer_bot, json={"full_name": "x"}), 403, "crm_read_only")


async def test_other_tenants_contacts_and_accounts_do_not_exist(api, alpha, beta) -> None:
    mine = await make(api, alpha, full_name="Alpha Only Contact")
    assert_problem(await api.get(url(beta, f"/{mine['id']}"), headers=beta.auth), 404, "contact_not_found")
    assert_problem(await api.patch(url(beta, f"/{mine['id']}"), headers=beta.auth, json={"job_title": "x"}),
                   404, "contact_not_found")
    assert (await api.get(url(beta), headers=beta.auth, params={"q": "Alpha Only"})).json()["items"] == []
    assert_problem(await api.get(url(alpha, f"/{mine['id']}"), headers=beta.auth), 404, "tenant_not_found")
    alpha_account = await make_account(api, alpha, name="Alpha Account")
    linked = await api.post(url(beta), headers=beta.auth, json={"full_name": "x", "account_id": alpha_account["id"]})
    assert error_fields(assert_problem(linked, 422)) == {"account_id"}


async def test_idempotent_create_and_one_winner_per_etag(api, company) -> None:
    headers = {**company.auth, "Idempotency-Key": "contact-import-1"}
    first = await api.post(url(company), headers=headers, json={"full_name": "Once Only"})
    again = await api.post(url(company), headers=headers, json={"full_name": "Once Only"})
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert first.json()["id"] == again.json()["id"]
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".contacts') == 1

    results = await asyncio.gather(*(api.patch(url(company, f"/{first.json()['id']}"),
                                               headers={**company.auth, "If-Match": 'W/"1"'},
                                               json={"job_title": f"edit {i}"}) for i in range(4)))
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]


async def test_switched_off_crm_answers_404(api, company) -> None:
    await execute(f"UPDATE \"{company.tenant.schema}\".company_settings SET modules = '{{sales}}'")
    assert_problem(await api.get(url(company), headers=company.auth), 404, "module_disabled")
