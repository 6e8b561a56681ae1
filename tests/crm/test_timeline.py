"""Account timeline: interactions, deal stage changes (created, moved, won, lost, reopened) and tasks (created, done)
in one feed, newest first; keyset pages over (occurred_at, kind, id) without duplicates or gaps, ties included;
visibility per role; archived records left out; a source registered from outside; tenancy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Select, func, literal, select

from backend.domains.audit.models import AuditEntry
from backend.domains.crm import timeline
from tests.api.helpers import add_member, assert_problem, error_fields, execute
from tests.crm.activity_helpers import (
    base,
    hosted_api,
    make_account,
    make_deal,
    make_interaction,
    make_task,
)


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    async for client in hosted_api(settings, database, "192.0.2.83"):
        yield client


def url(company, account: dict[str, Any]) -> str:
    return base(company, f"accounts/{account['id']}/timeline")


async def read_all(api, company, account, auth=None, limit: int = 200, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = await api.get(url(company, account), headers=auth or company.auth,
                             params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def events(items: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(i["kind"], i["event"], i["title"]) for i in items]


async def stage_ids(api, company) -> dict[str, str]:
    pipelines = await api.get(base(company, "pipelines"), headers=company.auth)
    return {s["name"]: s["id"] for s in pipelines.json()["items"][0]["stages"]}


async def test_one_feed_of_interactions_deal_changes_and_tasks(api, company) -> None:
    account = await make_account(api, company)
    other = await make_account(api, company, name="Other Co")
    await make_interaction(api, company, account, kind="meeting", subject="Kick-off", body="Met the buyer",
                           occurred_at="2026-01-10T10:00:00Z")
    visit = await make_interaction(api, company, account, kind="visit", subject="Plant tour", body=None,
                                   latitude="35.6895", longitude="139.6917", occurred_at="2026-01-20T10:00:00Z")
    await make_interaction(api, company, other, subject="Elsewhere", occurred_at="2026-01-15T10:00:00Z")
    deal = await make_deal(api, company, account, title="Forklifts")
    stages = await stage_ids(api, company)
    await api.post(base(company, f"deals/{deal['id']}/stage"), headers=company.auth,
                   json={"stage_id": stages["Proposal"]})
    await api.post(base(company, f"deals/{deal['id']}/win"), headers=company.auth)
    lost = await make_deal(api, company, account, title="Spare parts", amount="1234567.89", currency="KRW")
    await api.post(base(company, f"deals/{lost['id']}/lose"), headers=company.auth, json={"reason": "Price"})
    await api.post(base(company, f"deals/{lost['id']}/stage"), headers=company.auth,
                   json={"stage_id": stages["Negotiation"]})
    call = await make_interaction(api, company, account, kind="call", direction="outbound", duration_seconds=95,
                                  deal_id=deal["id"], subject="Follow-up", body="x" * 400)
    task = await make_task(api, company, title="Send contract", link_type="deal", link_id=deal["id"])
    await api.post(base(company, f"tasks/{task['id']}/done"), headers=company.auth)

    items = await read_all(api, company, account)
    assert events(items) == [
        ("task_done", "task_done", "Send contract"),
        ("task_created", "task_created", "Send contract"),
        ("interaction", "call", "Follow-up"),
        ("deal_stage", "deal_reopened", "Spare parts"),
        ("deal_stage", "deal_lost", "Spare parts"),
        ("deal_stage", "deal_created", "Spare parts"),
        ("deal_stage", "deal_won", "Forklifts"),
        ("deal_stage", "deal_moved", "Forklifts"),
        ("deal_stage", "deal_created", "Forklifts"),
        ("interaction", "visit", "Plant tour"),
        ("interaction", "meeting", "Kick-off"),
    ]
    keys = [(i["occurred_at"], i["kind"]) for i in items]
    assert keys == sorted(keys, reverse=True)
    by_event = {(i["event"], i["title"]): i for i in items}
    won = by_event[("deal_won", "Forklifts")]
    assert (won["summary"], won["record_type"], won["record_id"]) == ("Proposal → Won", "deal", deal["id"])
    assert (won["actor"]["user_id"], won["actor"]["name"]) == (str(company.user_id), company.email)
    assert by_event[("deal_created", "Forklifts")]["summary"] == "Qualification"
    assert by_event[("deal_lost", "Spare parts")]["detail"]["amount"] == "1234567.89"  # money stays exact
    followup = by_event[("call", "Follow-up")]
    assert len(followup["summary"]) == 280
    assert followup["detail"] == {"deal_id": deal["id"], "direction": "outbound", "duration_seconds": 95,
                                  "source": "api"}
    assert followup["links"] == [{"type": "interaction", "id": call["id"]}, {"type": "deal", "id": deal["id"]}]
    tour = by_event[("visit", "Plant tour")]
    assert (tour["detail"]["latitude"], tour["summary"], tour["record_id"]) == ("35.689500", None, visit["id"])
    done = by_event[("task_done", "Send contract")]
    assert done["links"] == [{"type": "task", "id": task["id"]}, {"type": "deal", "id": deal["id"]}]
    assert done["detail"]["done_at"]

    only_tasks = await read_all(api, company, account, kind=["task_created", "task_done"])
    assert {i["kind"] for i in only_tasks} == {"task_created", "task_done"}
    assert_problem(await api.get(url(company, account), headers=company.auth, params={"kind": "invoice"}), 422)
    for bad in ("nonsense", "WyJ4Il0"):
        response = await api.get(url(company, account), headers=company.auth, params={"cursor": bad})
        assert error_fields(assert_problem(response, 422)) == {"cursor"}


async def test_pages_have_no_duplicates_or_gaps_even_with_ties(api, company) -> None:
    account = await make_account(api, company)
    tie = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    for n in range(9):
        await make_interaction(api, company, account, subject=f"note {n}", occurred_at=tie.isoformat())
    for n in range(4):
        await make_interaction(api, company, account, subject=f"older {n}", occurred_at=f"2026-01-0{n + 1}T08:00:00Z")
    for n in range(3):
        deal = await make_deal(api, company, account, title=f"deal {n}")
        await api.post(base(company, f"deals/{deal['id']}/win"), headers=company.auth)
    for n in range(4):
        task = await make_task(api, company, title=f"task {n}", link_type="account", link_id=account["id"])
        await api.post(base(company, f"tasks/{task['id']}/done"), headers=company.auth)
    schema = company.tenant.schema
    # Put every kind of event on the same instant as the tied notes: only the kind and the id order them then.
    await execute(f'UPDATE "{schema}".tasks SET created_at = :t, done_at = :t', t=tie)
    await execute(f'UPDATE "{schema}".deal_stage_history SET moved_at = :t', t=tie)

    everything = await read_all(api, company, account)
    assert len(everything) == 9 + 4 + 3 * 2 + 4 * 2
    for size in (1, 3, 4, 7):
        paged = await read_all(api, company, account, limit=size)
        assert [(i["kind"], i["record_id"]) for i in paged] == [(i["kind"], i["record_id"]) for i in everything]
    tied = [i for i in everything if i["occurred_at"] == "2026-02-01T12:00:00Z"]
    assert [i["kind"] for i in tied] == ["task_done"] * 4 + ["task_created"] * 4 + ["interaction"] * 9 + [
        "deal_stage"] * 6
    for kind in ("task_done", "interaction"):
        ids = [i["record_id"] for i in tied if i["kind"] == kind]
        assert ids == sorted(ids, reverse=True)
    moves = [i for i in tied if i["kind"] == "deal_stage"]
    assert len({i["record_id"] for i in moves}) == 3


async def test_archived_records_leave_the_feed(api, company) -> None:
    account = await make_account(api, company)
    gone = await make_interaction(api, company, account, subject="gone")
    await make_interaction(api, company, account, subject="stays")
    deal = await make_deal(api, company, account, title="archived deal")
    task = await make_task(api, company, title="archived task", link_type="account", link_id=account["id"])
    for path in (f"interactions/{gone['id']}", f"deals/{deal['id']}", f"tasks/{task['id']}"):
        assert (await api.delete(base(company, path), headers=company.auth)).status_code == 200
    assert events(await read_all(api, company, account)) == [("interaction", "note", "stays")]


async def test_visibility_per_role_and_tenancy(api, alpha, beta, company) -> None:
    rep, other_rep, viewer = [await add_member(company.tenant.id, r) for r in ("rep", "rep", "viewer")]
    mine = await make_account(api, company, auth=rep.auth, name="Rep Co")
    private = await make_account(api, company, name="Owner Co")
    await make_interaction(api, company, mine, auth=rep.auth, subject="rep note")
    await make_deal(api, company, mine, auth=rep.auth, title="rep deal")
    # a manager put another rep's deal on the rep's (not shared) account: deals follow their own owner
    await make_deal(api, company, mine, title="other rep deal", owner_user_id=str(other_rep.user_id))
    rep_view = await read_all(api, company, mine, auth=rep.auth)
    assert {i["title"] for i in rep_view} == {"rep note", "rep deal"}
    assert {i["title"] for i in await read_all(api, company, mine, auth=viewer.auth)} == {
        "rep note", "rep deal", "other rep deal"}
    assert_problem(await api.get(url(company, private), headers=rep.auth), 404, "account_not_found")
    assert (await api.get(url(company, private), headers=viewer.auth)).status_code == 200
    await execute(f'UPDATE "{company.tenant.schema}".accounts SET is_shared = true WHERE id = :i', i=mine["id"])
    assert "other rep deal" in {i["title"] for i in await read_all(api, company, mine, auth=rep.auth)}

    secret = await make_account(api, alpha, name="Alpha Timeline Co")
    await make_interaction(api, alpha, secret, subject="alpha secret")
    assert_problem(await api.get(url(beta, secret), headers=beta.auth), 404, "account_not_found")
    assert_problem(await api.get(url(alpha, secret), headers=beta.auth), 404, "tenant_not_found")
    assert_problem(await api.get(url(alpha, {"id": str(uuid.uuid4())}), headers=alpha.auth), 404, "account_not_found")


@pytest.fixture
def audit_source() -> Iterator[None]:
    """A source registered from outside the CRM module, as a later domain would: the account's own audit rows."""

    def arm(ctx: timeline.FeedContext) -> Select[Any]:
        a = AuditEntry
        return (select(a.occurred_at.label("occurred_at"), literal("account_change").label("kind"),
                       func.lpad(timeline.text_of(a.id), 20, "0").label("sort_id"), a.action.label("event"),
                       literal(None).label("title"), literal(None).label("summary"),
                       a.actor_user_id.label("actor_user_id"), a.actor_api_key_id.label("actor_api_key_id"),
                       literal("account").label("record_type"), a.record_id.label("record_id"),
                       a.changes.label("detail"))
                .where(a.record_type == "account", a.record_id == timeline.text_of(timeline.ACCOUNT_ID),
                       ctx.after_clause("account_change", a.occurred_at, a.id))
                .order_by(a.occurred_at.desc(), a.id.desc()).limit(timeline.LIMIT))

    timeline.source("account_change", parse_id=int)(arm)
    try:
        yield
    finally:
        timeline.unregister("account_change")


async def test_later_domains_add_sources(api, company, audit_source) -> None:
    account = await make_account(api, company, name="Audited Co")
    await api.patch(base(company, f"accounts/{account['id']}"), headers=company.auth, json={"status": "customer"})
    await make_interaction(api, company, account, subject="first call")
    items = await read_all(api, company, account, limit=1)
    assert [(i["kind"], i["event"]) for i in items] == [
        ("interaction", "note"), ("account_change", "update"), ("account_change", "create")]
    assert items[1]["detail"] == {"status": ["lead", "customer"]}
    assert "account_change" in timeline.source_kinds()
