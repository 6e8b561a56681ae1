"""CSV import API: upload (encodings, delimiters, limits, suggested mapping), dry run reporting every bad row and
writing nothing, all-or-nothing commit through the real services (a row failing at commit time rolls back all),
idempotent commit, accounts referenced by name, roles and tenancy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.api.crm_imports import ImportController
from backend.app import create_app
from tests.api.helpers import add_member, assert_problem, error_fields, execute, fetch, hosted, scalar

PATH = "/api/v1/t/{tenant_slug:str}/imports"


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    if not any(route.path.startswith(PATH) for route in app.routes):  # app.py may register it already
        app.register(ImportController)
    async with hosted(app, "192.0.2.91", database) as client:
        yield client


def url(company, suffix: str = "") -> str:
    return f"/api/v1/t/{company.slug}/imports{suffix}"


async def upload(api, company, content: str | bytes, entity: str = "accounts", auth=None,
                 filename: str = "clients.csv") -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return await api.post(url(company), headers=auth or company.auth, data={"entity": entity},
                          files={"file": (filename, data, "text/csv")})


async def uploaded(api, company, content: str | bytes, entity: str = "accounts", auth=None) -> dict[str, Any]:
    response = await upload(api, company, content, entity, auth)
    assert response.status_code == 201, response.text
    return response.json()


async def dry_run(api, company, import_id: str, mapping=None, auth=None) -> httpx.Response:
    body = {} if mapping is None else {"mapping": mapping}
    return await api.post(url(company, f"/{import_id}/dry-run"), headers=auth or company.auth, json=body)


async def commit(api, company, import_id: str, mapping=None, auth=None) -> httpx.Response:
    body = {} if mapping is None else {"mapping": mapping}
    return await api.post(url(company, f"/{import_id}/commit"), headers=auth or company.auth, json=body)


async def counts(company) -> tuple[int, int, int, int]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}')  # type: ignore[return-value]
                  for table in ("accounts", "contacts", "deals", "audit_log")])


async def account(api, company, name: str, **fields) -> dict[str, Any]:
    response = await api.post(f"/api/v1/t/{company.slug}/accounts", headers=company.auth, json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


BAD_ACCOUNTS = (
    "Company,Status,Tags,Shared,Website\n"
    "Hanbit Trading,customer,vip;seoul,yes,https://hanbit.example\n"
    "Won Co,won,,,\n"
    ",lead,,,\n"
    "Maybe Shared,lead,,maybe,\n"
    "\n"
    "Ctrl Co\u0007,prospect,,no,\n"
    "Seoul Foods,PROSPECT,food,,\n"
)


async def test_upload_answers_headers_suggestion_and_preview(api, company) -> None:
    text = "\ufeff회사명;상태;태그;웹사이트;비고;Unknown\n한빛무역;customer;vip;https://hanbit.kr;;x\n서울상사;lead;;;메모;\n"
    body = await uploaded(api, company, text.encode())
    assert (body["entity"], body["status"], body["encoding"], body["delimiter"], body["row_count"]) == (
        "accounts", "uploaded", "utf-8-sig", ";", 2)
    assert body["headers"] == ["회사명", "상태", "태그", "웹사이트", "비고", "Unknown"]
    assert body["suggested_mapping"] == {"회사명": "name", "상태": "status", "태그": "tags", "웹사이트": "website",
                                         "비고": "notes", "Unknown": None}
    assert body["mapping"] == {k: v for k, v in body["suggested_mapping"].items() if v}
    assert body["preview"] == [["한빛무역", "customer", "vip", "https://hanbit.kr", "", "x"],
                               ["서울상사", "lead", "", "", "메모", ""]]
    assert {f["name"] for f in body["fields"] if f["required"]} == {"name"}
    again = await api.get(url(company, f"/{body['id']}"), headers=company.auth)
    assert (again.status_code, again.json()["headers"], again.json()["report"]) == (200, body["headers"], None)


@pytest.mark.parametrize(("text", "encoding", "entity", "detected", "expected"), [
    ("회사명,이메일,전화번호\n한빛무역,info@hanbit.kr,\n", "cp949", "accounts", "euc-kr", {"회사명": "name"}),
    ("会社名\tウェブサイト\n株式会社山田商事\thttps://yamada.jp\n東京貿易株式会社\t\n", "shift_jis", "accounts",
     "shift_jis", {"会社名": "name", "ウェブサイト": "website"}),
    ("ФИО;Должность;Почта;Телефон;Компания\nИванов Иван;Директор;ivan@mail.ru;+74951234567;Ромашка\n", "cp1251",  # noqa: RUF001
     "contacts", "windows-1251", {"ФИО": "full_name", "Должность": "job_title", "Почта": "email",
                                  "Телефон": "phone", "Компания": "account"}),
    ("Deal\tCompany\tAmount\tClose date\n案件A\t山田\t1000\t2026-12-31\n", "utf-16", "deals", "utf-16",
     {"Deal": "title", "Company": "account", "Amount": "amount", "Close date": "expected_close_date"}),
])
async def test_encodings_and_delimiters_are_detected(api, company, text, encoding, entity, detected,
                                                     expected) -> None:
    response = await api.post(url(company), headers={**company.auth, "Content-Type": "text/csv"},
                              params={"entity": entity}, content=text.encode(encoding))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["encoding"] == detected
    assert body["headers"] == text.splitlines()[0].split(body["delimiter"])
    assert {k: v for k, v in body["suggested_mapping"].items() if v} == expected


async def test_dry_run_reports_every_bad_row_and_writes_nothing(api, company) -> None:
    job = await uploaded(api, company, BAD_ACCOUNTS)
    assert job["mapping"] == {"Company": "name", "Status": "status", "Tags": "tags", "Shared": "is_shared",
                              "Website": "website"}
    before = await counts(company)
    response = await dry_run(api, company, job["id"])
    assert response.status_code == 200, response.text
    report = response.json()
    problems = {(e["row"], e["column"], e["field"]) for e in report["errors"]}
    assert problems == {(3, "Status", "status"), (4, "Company", "name"), (5, "Shared", "is_shared"),
                        (7, "Company", "name")}
    assert next(e for e in report["errors"] if e["row"] == 3)["value"] == "won"
    assert all(e["reason"] for e in report["errors"])
    assert (report["mode"], report["rows"], report["valid"], report["invalid"], report["created"]) == (
        "dry_run", 6, 2, 4, 0)
    assert await counts(company) == before
    stored = (await api.get(url(company, f"/{job['id']}"), headers=company.auth)).json()
    assert (stored["status"], stored["report"]["invalid"]) == ("checked", 4)

    rejected = await commit(api, company, job["id"])
    problem = assert_problem(rejected, 422, "import_rejected")
    assert error_fields(problem) == {"row 3: Status", "row 4: Company", "row 5: Shared", "row 7: Company"}
    assert await counts(company) == before


async def test_commit_writes_every_row_once_through_the_services(api, company) -> None:
    fixed = BAD_ACCOUNTS.replace("Won Co,won", "Won Co,customer").replace(",lead,,,", "Named Co,lead,,,").replace(
        "maybe", "no").replace("Ctrl Co\u0007", "Ctrl Co")
    job = await uploaded(api, company, fixed)
    assert (await dry_run(api, company, job["id"])).json()["errors"] == []
    before = await counts(company)
    done = await commit(api, company, job["id"])
    assert done.status_code == 200, done.text
    report = done.json()
    assert (report["mode"], report["rows"], report["created"], len(report["created_ids"])) == ("commit", 6, 6, 6)
    after = await counts(company)
    assert (after[0] - before[0], after[3] - before[3]) == (6, 7)  # six accounts, their audit rows and the import's
    rows = await fetch(f'SELECT name, status, tags, is_shared, owner_user_id FROM "{company.tenant.schema}".accounts'
                       " WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY name", ids=report["created_ids"])
    assert [(r.name, r.status) for r in rows][:3] == [("Ctrl Co", "prospect"), ("Hanbit Trading", "customer"),
                                                      ("Maybe Shared", "lead")]
    hanbit = next(r for r in rows if r.name == "Hanbit Trading")
    assert (hanbit.tags, hanbit.is_shared, hanbit.owner_user_id) == (["seoul", "vip"], True, company.user_id)
    creations = await scalar(f'SELECT count(*) FROM "{company.tenant.schema}".audit_log WHERE action = \'create\''
                             " AND record_type = 'account' AND record_id = ANY(:ids)", ids=report["created_ids"])
    assert creations == 6

    assert_problem(await commit(api, company, job["id"]), 409, "import_committed")
    assert_problem(await dry_run(api, company, job["id"]), 409, "import_committed")
    assert await counts(company) == after


async def test_upload_honours_idempotency_key_and_commit_needs_no_body(api, company) -> None:
    headers = {**company.auth, "Idempotency-Key": "upload-1", "Content-Type": "text/csv"}
    first, second = [await api.post(url(company), headers=headers, params={"entity": "accounts"},
                                    content=b"Name\nIdem Co\n") for _ in range(2)]
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    done = await api.post(url(company, f"/{first.json()['id']}/commit"), headers=company.auth)
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 1


async def test_two_commits_racing_import_once(api, company) -> None:
    job = await uploaded(api, company, "Name\nRace One\nRace Two\n")
    before = await counts(company)
    results = await asyncio.gather(commit(api, company, job["id"]), commit(api, company, job["id"]))
    assert sorted(r.status_code for r in results) == [200, 409]
    assert (await counts(company))[0] == before[0] + 2


async def test_a_row_failing_at_commit_time_rolls_back_every_row(api, company) -> None:
    await account(api, company, "Kept Co")
    doomed = await account(api, company, "Doomed Co")
    job = await uploaded(api, company, "Name,Company,Email\nAnna,Kept Co,anna@kept.example\n"
                                       "Boris,Doomed Co,boris@doomed.example\nChen,Kept Co,\n", "contacts")
    assert (await dry_run(api, company, job["id"])).json()["invalid"] == 0
    archived = await api.delete(f"/api/v1/t/{company.slug}/accounts/{doomed['id']}", headers=company.auth)
    assert archived.status_code == 200
    before = await counts(company)
    problem = assert_problem(await commit(api, company, job["id"]), 422, "import_rejected")
    assert problem["errors"] == [{"field": "row 3: Company", "reason": "no account has this name"}]
    assert await counts(company) == before  # Anna and Chen (fine rows) were rolled back too
    assert (await api.get(url(company, f"/{job['id']}"), headers=company.auth)).json()["status"] == "checked"


async def test_contacts_and_deals_reference_accounts_by_name(api, company) -> None:
    firm = await account(api, company, "Hanbit Trading")
    await account(api, company, "Twin Co")
    await account(api, company, "Twin Co")
    rep = await add_member(company.tenant.id, "rep")
    text = ("이름,이메일,전화번호,국가,회사,이메일 수신동의,역할\n"
            "김민지,minji@hanbit.kr,010-1234-5678,KR,Hanbit Trading,예,decision maker\n"
            "이서준,minji@hanbit.kr,,,Twin Co,,\n"
            "박지훈,jihoon@nowhere.kr,,,Nowhere Inc,,\n"
            "최유나,yuna@hanbit.kr,,,,아니오,payer; user\n")
    job = await uploaded(api, company, text, "contacts")
    assert job["mapping"] == {"이름": "full_name", "이메일": "email", "전화번호": "phone", "국가": "phone_region",
                              "회사": "account", "이메일 수신동의": "email_consent", "역할": "roles"}
    report = (await dry_run(api, company, job["id"])).json()
    assert [(e["row"], e["column"], e["reason"]) for e in report["errors"]] == [
        (3, "회사", "several accounts have this name; make the names unique first"),
        (4, "회사", "no account has this name")]
    fixed = text.replace("Twin Co", "").replace("Nowhere Inc", "Hanbit Trading")
    job = await uploaded(api, company, fixed, "contacts")
    report = (await commit(api, company, job["id"])).json()
    assert report["created"] == 4
    assert [(w["row"], w["column"], w["field"]) for w in report["warnings"]] == [(3, "이메일", "email")]
    people = {r.full_name: r for r in await fetch(
        f'SELECT full_name, account_id, phone, email_consent, email_consent_source, roles'
        f' FROM "{company.tenant.schema}".contacts')}
    minji = people["김민지"]
    assert (str(minji.account_id), minji.phone, minji.email_consent, minji.email_consent_source, minji.roles) == (
        firm["id"], "+821012345678", True, "CSV import", ["decision_maker"])
    assert people["최유나"].roles == ["payer", "user"]
    assert people["이서준"].account_id is None

    deals_csv = ("Deal;Company;Amount;Currency;Close date;Stage;Owner\n"
                 f"Forklifts;Hanbit Trading;1 200,50;krw;31.12.2026;Proposal;{rep.email}\n"
                 "Cranes;Hanbit Trading;12abc;USD;2026-13-01;Won;nobody@example.com\n")
    job = await uploaded(api, company, deals_csv, "deals")
    report = (await dry_run(api, company, job["id"])).json()
    assert {(e["row"], e["column"]) for e in report["errors"]} == {(3, "Close date"), (3, "Stage"), (3, "Owner"),
                                                                     (3, "Amount")}
    job = await uploaded(api, company, deals_csv.splitlines()[0] + "\n" + deals_csv.splitlines()[1] + "\n", "deals")
    report = (await commit(api, company, job["id"])).json()
    assert report["created"] == 1, report
    [deal] = await fetch(f'SELECT d.amount, d.currency, d.expected_close_date, s.name AS stage, d.owner_user_id'
                         f' FROM "{company.tenant.schema}".deals d JOIN "{company.tenant.schema}".pipeline_stages s'
                         " ON s.id = d.stage_id")
    assert (str(deal.amount), deal.currency, deal.expected_close_date.isoformat(), deal.stage, deal.owner_user_id) \
        == ("1200.50", "KRW", "2026-12-31", "Proposal", rep.user_id)


async def test_mapping_problems_are_422_with_fields(api, company) -> None:
    job = await uploaded(api, company, "Company,Status,Notes\nA,lead,x\n")
    bad = await dry_run(api, company, job["id"], {"Company": "name", "Status": "status", "Notes": "status",
                                                  "Missing": "notes"})
    assert error_fields(assert_problem(bad, 422, "import_mapping")) == {"mapping.Notes", "mapping.Missing"}
    unmapped = await dry_run(api, company, job["id"], {"Company": None, "Status": "colour"})
    assert error_fields(assert_problem(unmapped, 422, "import_mapping")) == {"mapping.Status", "mapping.name"}
    chosen = await dry_run(api, company, job["id"], {"Notes": "name"})
    assert chosen.status_code == 200, chosen.text
    stored = (await api.get(url(company, f"/{job['id']}"), headers=company.auth)).json()
    assert stored["mapping"] == {"Notes": "name"}


async def test_limits_and_unreadable_files(api, company) -> None:
    before = await counts(company)
    big = b"Name\n" + b"x" * (5 * 1024 * 1024)
    assert_problem(await upload(api, company, big), 413, "import_too_large")
    huge = await api.post(url(company), headers={**company.auth, "Content-Type": "text/csv"},
                          params={"entity": "accounts"}, content=b"Name\n" + b"x" * (7 * 1024 * 1024))
    assert_problem(huge, 413)
    many = "Name\n" + "".join(f"Firm {n}\n" for n in range(20_001))
    assert_problem(await upload(api, company, many), 400, "import_too_many_rows")
    assert (await upload(api, company, "Name\n" + "".join(f"Firm {n}\n" for n in range(20_000)))).status_code == 201
    assert_problem(await upload(api, company, ""), 400, "import_empty")
    assert_problem(await upload(api, company, bytes(range(128, 256)) * 4), 400, "import_encoding")
    assert error_fields(assert_problem(await upload(api, company, "Name\nx\n", "planets"), 422)) == {"entity"}
    assert_problem(await api.post(url(company), headers=company.auth, json={"entity": "accounts"}), 415)
    assert (await counts(company))[:3] == before[:3]


async def test_roles_expiry_and_tenancy(api, alpha, beta, company) -> None:
    rep, other_rep, viewer, manager = [await add_member(company.tenant.id, r)
                                       for r in ("rep", "rep", "viewer", "manager")]
    assert_problem(await upload(api, company, "Name\nx\n", auth=viewer.auth), 403, "crm_read_only")
    job = await uploaded(api, company, "Name\nRep Import Co\n", auth=rep.auth)
    assert_problem(await api.get(url(company, f"/{job['id']}"), headers=other_rep.auth), 404, "import_not_found")
    assert_problem(await commit(api, company, job["id"], auth=other_rep.auth), 404, "import_not_found")
    assert (await api.get(url(company, f"/{job['id']}"), headers=manager.auth)).status_code == 200
    done = await commit(api, company, job["id"], auth=rep.auth)
    assert done.status_code == 200, done.text
    [owner] = await fetch(f'SELECT owner_user_id FROM "{company.tenant.schema}".accounts WHERE name = :n',
                          n="Rep Import Co")
    assert owner.owner_user_id == rep.user_id

    stale = await uploaded(api, company, "Name\nLate Co\n")
    await execute(f'UPDATE "{company.tenant.schema}".imports SET expires_at = now() - interval \'1 minute\''
                  " WHERE id = :i", i=stale["id"])
    assert_problem(await commit(api, company, stale["id"]), 410, "import_expired")

    mine = await uploaded(api, alpha, "Name\nAlpha Import Co\n")
    assert_problem(await api.get(url(alpha, f"/{mine['id']}"), headers=beta.auth), 404, "tenant_not_found")
    assert_problem(await api.get(url(beta, f"/{mine['id']}"), headers=beta.auth), 404, "import_not_found")
    assert_problem(await commit(api, beta, mine["id"]), 404, "import_not_found")
    assert await scalar(f'SELECT count(*) FROM "{beta.tenant.schema}".imports WHERE id = :i', i=mine["id"]) == 0
