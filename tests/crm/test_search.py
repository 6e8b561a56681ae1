"""Search: typo-tolerant and ranked across accounts, legal entities and contacts; visibility and tenancy hold."""

from __future__ import annotations

import pytest

from tests.api.helpers import add_member, assert_problem


async def seed(client, company, auth=None):
    auth = auth or company.auth

    async def post(path, body):
        response = await client.post(f"/api/v1/t/{company.slug}/{path}", headers=auth, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    hanbit = await post("accounts", {"name": "Hanbit Trading"})
    await post("accounts", {"name": "Hanbit Logistics"})
    await post("accounts", {"name": "Moscow Steel Works"})
    await post("legal-entities", {"account_id": hanbit["id"], "registered_name": "Hanbit Trading Co., Ltd.",
                                  "tax_id": "220-81-62517", "country": "KR"})
    await post("contacts", {"account_id": hanbit["id"], "full_name": "Kim Minji", "email": "minji.kim@hanbit.example",
                            "phone": "+82 10-1234-5678"})
    return hanbit


async def find(client, company, q, auth=None, **params):
    response = await client.get(f"/api/v1/t/{company.slug}/search", headers=auth or company.auth,
                                params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_typos_and_partial_words_find_ranked_results(client, company) -> None:
    await seed(client, company)
    typo = await find(client, company, "hanbt tradng")
    assert typo, "a typo should still find Hanbit Trading"
    assert typo[0]["title"] in {"Hanbit Trading", "Hanbit Trading Co., Ltd."}
    exact = await find(client, company, "Hanbit Trading")
    assert exact[0]["title"] == "Hanbit Trading"
    assert exact[0]["score"] >= exact[-1]["score"]
    assert "Moscow Steel Works" not in {h["title"] for h in exact}
    steel = await find(client, company, "steel")
    assert [h["title"] for h in steel] == ["Moscow Steel Works"]


async def test_tax_ids_emails_and_phones_are_searchable(client, company) -> None:
    hanbit = await seed(client, company)
    by_tax = await find(client, company, "2208162517")
    assert [(h["kind"], h["account_id"]) for h in by_tax][:1] == [("legal_entity", hanbit["id"])]
    by_email = await find(client, company, "minji.kim@")
    assert by_email[0]["kind"] == "contact"
    by_phone = await find(client, company, "1234-5678")
    assert by_phone[0]["title"] == "Kim Minji"
    only_contacts = await find(client, company, "hanbit", kinds="contact")
    assert {h["kind"] for h in only_contacts} == {"contact"}


async def test_reps_only_find_what_they_may_see(client, company) -> None:
    rep, other = await add_member(company.tenant.id, "rep"), await add_member(company.tenant.id, "rep")
    await client.post(f"/api/v1/t/{company.slug}/accounts", headers=other.auth, json={"name": "Secret Prospect Ltd"})
    assert await find(client, company, "secret prospect", auth=rep.auth) == []
    assert [h["title"] for h in await find(client, company, "secret prospect", auth=other.auth)] == [
        "Secret Prospect Ltd"]
    assert await find(client, company, "secret prospect")  # the owner sees everything


async def test_other_tenants_records_are_never_found(client, make_company) -> None:
    one, two = await make_company(), await make_company()
    await seed(client, one)
    assert await find(client, two, "hanbit") == []


@pytest.mark.parametrize("params", [{"q": "x"}, {"q": "a" * 101}, {"q": "ok", "kinds": "deal"},
                                    {"q": "ok", "limit": 0}])
async def test_bad_queries_are_422(client, company, params) -> None:
    response = await client.get(f"/api/v1/t/{company.slug}/search", headers=company.auth, params=params)
    assert_problem(response, response.status_code)
    assert response.status_code in {400, 422}


async def test_archived_records_drop_out(client, company) -> None:
    hanbit = await seed(client, company)
    assert await client.delete(f"/api/v1/t/{company.slug}/accounts/{hanbit['id']}", headers=company.auth)
    titles = {h["title"] for h in await find(client, company, "hanbit", kinds="account")}
    assert titles == {"Hanbit Logistics"}


async def test_typos_in_several_words_and_scripts_use_the_name_dictionary(client, company) -> None:
    async def post(path, body):
        response = await client.post(f"/api/v1/t/{company.slug}/{path}", headers=company.auth, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    account = await post("accounts", {"name": "Северный Металл"})
    await post("contacts", {"account_id": account["id"], "full_name": "James Wilson"})
    await post("contacts", {"account_id": account["id"], "full_name": "Алексей Кузнецов"})
    assert [h["title"] for h in await find(client, company, "Jmaes Wilsn")][:1] == ["James Wilson"]
    assert [h["title"] for h in await find(client, company, "Алесей Кузнецв")][:1] == ["Алексей Кузнецов"]
    assert [h["title"] for h in await find(client, company, "Severny")] == []  # no such word: nothing invented
    renamed = await client.patch(f"/api/v1/t/{company.slug}/accounts/{account['id']}", headers=company.auth,
                                 json={"name": "Балтийский Трейд"})
    assert renamed.status_code == 200, renamed.text
    assert [h["title"] for h in await find(client, company, "Балтийскй")][:1] == ["Балтийский Трейд"]


async def test_addresses_and_codes_are_matched_as_typed_never_corrected(client, company) -> None:
    """'amelia.moore.3' is an address, not two misspelt names: no fuzzy pass turns it into every Amelia."""
    async def post(path, body):
        response = await client.post(f"/api/v1/t/{company.slug}/{path}", headers=company.auth, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    account = await post("accounts", {"name": "Harbour Freight"})
    for name, email in (("Amelia Moore", "amelia.moore@harbour.example"), ("Amelia Smith", "a.smith@harbour.example"),
                        ("Oliver Moore", "contact77@harbour.example")):
        await post("contacts", {"account_id": account["id"], "full_name": name, "email": email})
    assert [h["title"] for h in await find(client, company, "amelia.moore", kinds="contact")] == ["Amelia Moore"]
    assert await find(client, company, "amelia.moore.3", kinds="contact") == []
    assert await find(client, company, "contact78", kinds="contact") == []
    assert [h["title"] for h in await find(client, company, "contact77", kinds="contact")] == ["Oliver Moore"]
    # a real misspelt name still gets its correction
    assert [h["title"] for h in await find(client, company, "Amelai Smith", kinds="contact")][:1] == ["Amelia Smith"]


async def test_short_words_find_names_by_their_beginnings(client, company) -> None:
    """Two-character words (a Korean name's first syllables, a Japanese surname, "Li") cannot use trigrams: names
    whose words begin with them are found through the full-text index instead."""
    async def post(path, body):
        response = await client.post(f"/api/v1/t/{company.slug}/{path}", headers=company.auth, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    account = await post("accounts", {"name": "Hanbit Co"})
    for name in ("김민지", "김수현", "佐藤 健", "Li Wei", "Olivia Lima"):
        await post("contacts", {"account_id": account["id"], "full_name": name})
    assert [h["title"] for h in await find(client, company, "김민", kinds="contact")] == ["김민지"]
    assert [h["title"] for h in await find(client, company, "佐藤", kinds="contact")] == ["佐藤 健"]
    assert {h["title"] for h in await find(client, company, "Li", kinds="contact")} == {"Li Wei", "Olivia Lima"}
    assert [h["title"] for h in await find(client, company, "li wei", kinds="contact")] == ["Li Wei"]
    assert [h["title"] for h in await find(client, company, "Hanbit Co", kinds="account")] == ["Hanbit Co"]
    assert await find(client, company, "민지", kinds="contact") == []  # the middle of a word: not a beginning
