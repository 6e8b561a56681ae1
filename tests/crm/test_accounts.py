"""Accounts API: CRUD, validation, keyset pages, optimistic locking, audit trail, role rules, tenancy."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.helpers import add_member, assert_problem, bearer, scalar


def url(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/accounts{suffix}"


async def make(client, company, auth=None, **fields):
    body = {"name": "Acme Trading", **fields}
    response = await client.post(url(company), headers=auth or company.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_read_update_archive_with_etags_and_audit(client, company) -> None:
    created = await client.post(
        url(company),
        headers=company.auth,
        json={
            "name": "  Hanbit Trading  ",
            "kind": "organization",
            "status": "prospect",
            "tags": ["VIP", "seoul", "vip"],
            "source_channel": "exhibition",
            "website": "https://hanbit.example",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["etag"] == 'W/"1"'
    assert (body["name"], body["tags"], body["owner_user_id"]) == (
        "Hanbit Trading",
        ["seoul", "vip"],
        str(company.user_id),
    )
    one = await client.get(url(company, f"/{body['id']}"), headers=company.auth)
    assert (one.status_code, one.headers["etag"], one.json()["status"]) == (200, 'W/"1"', "prospect")

    changed = await client.patch(
        url(company, f"/{body['id']}"),
        headers={**company.auth, "If-Match": 'W/"1"'},
        json={"status": "customer", "notes": "Met at COEX.\nFollow up in May."},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["status"]) == ('W/"2"', "customer")

    stale = await client.patch(
        url(company, f"/{body['id']}"), headers={**company.auth, "If-Match": 'W/"1"'}, json={"status": "churned"}
    )
    assert_problem(stale, 409, "version_conflict")
    same = await client.patch(url(company, f"/{body['id']}"), headers=company.auth, json={"status": "customer"})
    assert same.json()["version"] == 2  # no change, no new version

    archived = await client.delete(url(company, f"/{body['id']}"), headers=company.auth)
    assert archived.status_code == 200
    assert archived.json()["archived_at"]
    listed = await client.get(url(company), headers=company.auth)
    assert body["id"] not in [a["id"] for a in listed.json()["items"]]
    with_archived = await client.get(url(company), headers=company.auth, params={"archived": "true"})
    assert body["id"] in [a["id"] for a in with_archived.json()["items"]]

    history = await client.get(
        f"/api/v1/t/{company.slug}/audit", headers=company.auth, params={"record": f"account:{body['id']}"}
    )
    assert history.status_code == 200, history.text
    entries = history.json()["items"]
    assert [e["action"] for e in entries] == ["archive", "update", "create"]
    assert entries[1]["changes"]["status"] == ["prospect", "customer"]
    assert entries[1]["actor_user_id"] == str(company.user_id)
    assert entries[2]["changes"]["name"] == [None, "Hanbit Trading"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"name": "x", "kind": "alien"}, {"kind"}),
        ({"name": "x", "status": "won"}, {"status"}),
        ({"name": "x", "tags": ["a" * 41]}, {"tags"}),
        ({"name": "x", "owner_user_id": "00000000-0000-0000-0000-000000000001"}, {"owner_user_id"}),
        ({"name": "x", "parent_id": "00000000-0000-0000-0000-000000000001"}, {"parent_id"}),
        ({"name": "bad\u0007name"}, {"name"}),
        ({"name": "x", "unknown": 1}, {"unknown"}),
    ],
)
async def test_invalid_input_is_422_with_fields_and_writes_nothing(client, company, body, fields) -> None:
    before = await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".accounts')
    response = await client.post(url(company), headers=company.auth, json=body)
    problem = assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} == fields
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".accounts') == before
    assert await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".audit_log') == before  # one per account


async def test_groups_and_parent_rules(client, company) -> None:
    group = await make(client, company, name="Hanbit Group", kind="group")
    child = await make(client, company, name="Hanbit Logistics", parent_id=group["id"])
    assert child["parent_id"] == group["id"]
    not_group = await make(client, company, name="Plain Co")
    refused = await client.post(url(company), headers=company.auth, json={"name": "x", "parent_id": not_group["id"]})
    assert {e["field"] for e in assert_problem(refused, 422)["errors"]} == {"parent_id"}
    nested = await client.patch(url(company, f"/{group['id']}"), headers=company.auth, json={"parent_id": group["id"]})
    assert_problem(nested, 422)


async def test_keyset_pages_filters_and_sorts(client, make_company) -> None:
    company = await make_company()
    names = [f"Firm {i:02d}" for i in range(7)]
    for i, name in enumerate(names):
        await make(client, company, name=name, status="customer" if i % 2 else "lead", tags=[f"t{i % 3}"])
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await client.get(url(company), headers=company.auth, params=params)
        assert page.status_code == 200, page.text
        seen += [a["name"] for a in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    desc = await client.get(url(company), headers=company.auth, params={"sort": "-name", "limit": 2})
    assert [a["name"] for a in desc.json()["items"]] == ["Firm 06", "Firm 05"]
    customers = await client.get(url(company), headers=company.auth, params={"status": "customer"})
    assert [a["name"] for a in customers.json()["items"]] == ["Firm 01", "Firm 03", "Firm 05"]
    tagged = await client.get(url(company), headers=company.auth, params={"tag": "T1"})
    assert [a["name"] for a in tagged.json()["items"]] == ["Firm 01", "Firm 04"]
    found = await client.get(url(company), headers=company.auth, params={"q": "irm 0_"})
    assert found.json()["items"] == []  # LIKE wildcards in q are literal
    bad = await client.get(url(company), headers=company.auth, params={"cursor": "garbage!"})
    assert_problem(bad, 422)
    assert_problem(await client.get(url(company), headers=company.auth, params={"sort": "size"}), 422)


async def test_role_rules_reps_see_own_and_shared_viewers_read_only(client, company) -> None:
    rep, other_rep, viewer, manager = [
        await add_member(company.tenant.id, r) for r in ("rep", "rep", "viewer", "manager")
    ]
    mine = await make(client, company, auth=rep.auth, name="Rep Own Co")
    theirs = await make(client, company, auth=other_rep.auth, name="Other Rep Co")
    shared = await make(client, company, name="Shared Co", is_shared=True)
    assert mine["owner_user_id"] == str(rep.user_id)

    listed = await client.get(url(company), headers=rep.auth)
    names = {a["name"] for a in listed.json()["items"]}
    assert {"Rep Own Co", "Shared Co"} <= names
    assert "Other Rep Co" not in names
    assert_problem(await client.get(url(company, f"/{theirs['id']}"), headers=rep.auth), 404, "account_not_found")
    edit_shared = await client.patch(url(company, f"/{shared['id']}"), headers=rep.auth, json={"status": "prospect"})
    assert edit_shared.status_code == 200
    steal = await client.patch(
        url(company, f"/{mine['id']}"), headers=rep.auth, json={"owner_user_id": str(other_rep.user_id)}
    )
    assert {e["field"] for e in assert_problem(steal, 422)["errors"]} == {"owner_user_id"}

    for reader in (viewer,):
        everything = await client.get(url(company), headers=reader.auth)
        assert {"Rep Own Co", "Other Rep Co", "Shared Co"} <= {a["name"] for a in everything.json()["items"]}
        assert_problem(await client.post(url(company), headers=reader.auth, json={"name": "x"}), 403, "crm_read_only")
        assert_problem(
            await client.patch(url(company, f"/{shared['id']}"), headers=reader.auth, json={"status": "lead"}),
            403,
            "crm_read_only",
        )
    reassigned = await client.patch(
        url(company, f"/{theirs['id']}"), headers=manager.auth, json={"owner_user_id": str(rep.user_id)}
    )
    assert reassigned.status_code == 200
    assert (await client.get(url(company, f"/{theirs['id']}"), headers=rep.auth)).status_code == 200


async def test_api_keys_follow_their_role(client, company) -> None:
    own = await make(client, company, name="Owner Private Co")
    key = await client.post(
        f"/api/v1/t/{company.slug}/api-keys", headers=company.auth, json={"name": "rep bot", "role": "rep"}
    )
    bot = bearer(key.json()["secret"])
    assert_problem(await client.get(url(company, f"/{own['id']}"), headers=bot), 404)
    created = await make(client, company, auth=bot, name="Bot Lead")
    assert created["owner_user_id"] is None  # a key owns nothing; unowned records are visible to reps


async def test_other_tenants_accounts_do_not_exist(client, alpha, beta) -> None:
    mine = await make(client, alpha, name="Alpha Only Account")
    assert_problem(await client.get(url(beta, f"/{mine['id']}"), headers=beta.auth), 404, "account_not_found")
    beta_list = await client.get(url(beta), headers=beta.auth, params={"q": "Alpha Only"})
    assert beta_list.json()["items"] == []
    crossed = await client.get(url(alpha, f"/{mine['id']}"), headers=beta.auth)
    assert_problem(crossed, 404, "tenant_not_found")


async def test_concurrent_edits_with_the_same_etag_let_exactly_one_win(client, company) -> None:
    account = await make(client, company, name="Contended Co")
    headers = {**company.auth, "If-Match": 'W/"1"'}
    results = await asyncio.gather(
        *(
            client.patch(url(company, f"/{account['id']}"), headers=headers, json={"notes": f"edit {i}"})
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]


async def test_switched_off_crm_answers_404(client, company) -> None:
    from tests.api.helpers import execute

    await execute(f"UPDATE \"{company.tenant.schema}\".company_settings SET modules = '{{sales}}'")
    response = await client.get(url(company), headers=company.auth)
    assert_problem(response, 404, "module_disabled")


async def test_audit_route_serves_legal_entity_history_and_rejects_unknown_records(client, company) -> None:
    account = await make(client, company, name="Audited Holding")
    entity = await client.post(f"/api/v1/t/{company.slug}/legal-entities", headers=company.auth,
                               json={"account_id": account["id"], "registered_name": "Audited Holding LLC"})
    assert entity.status_code == 201, entity.text
    history = await client.get(f"/api/v1/t/{company.slug}/audit", headers=company.auth,
                               params={"record": f"legal_entity:{entity.json()['id']}"})
    assert [e["action"] for e in history.json()["items"]] == ["create"]
    for bad in ("spaceship:1", f"account:{account['id']}x", "account"):
        problem = assert_problem(await client.get(f"/api/v1/t/{company.slug}/audit", headers=company.auth,
                                                  params={"record": bad}), 422)
        assert [e["field"] for e in problem["errors"]] == ["record"]


async def test_audit_route_serves_contact_history(client, company) -> None:
    contact = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=company.auth,
                                json={"full_name": "Kim Minji", "email": "minji@hanbit.example"})
    assert contact.status_code == 201, contact.text
    changed = await client.patch(f"/api/v1/t/{company.slug}/contacts/{contact.json()['id']}", headers=company.auth,
                                 json={"email_consent": True, "email_consent_source": "trade show"})
    assert changed.status_code == 200, changed.text
    history = await client.get(f"/api/v1/t/{company.slug}/audit", headers=company.auth,
                               params={"record": f"contact:{contact.json()['id']}"})
    entries = history.json()["items"]
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["changes"]["email_consent"] == [False, True]
