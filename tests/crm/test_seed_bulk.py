"""`tandem seed --size large` at a tiny scale: the bulk generator keeps the services' rules and is deterministic."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import text

from backend.domains.crm.analytics.funnel_models import COLUMNS, FROM_HISTORY
from backend.domains.crm.pipelines import ensure_default
from backend.seeding_bulk import Plan, row_id, seed_bulk
from tenants.scope import tenant_scope

SCALE = 0.0005  # 100 accounts, 500 contacts, 100 deals


async def bulk(company, seed: int = 3) -> dict[str, int]:
    async with tenant_scope(company.tenant) as uow:
        pipeline = await ensure_default(uow)
    plan = Plan.at_scale(SCALE, seed, (company.user_id,))
    report = await seed_bulk(lambda: tenant_scope(company.tenant), plan, pipeline.id, lambda _: None)
    return report.counts


async def rows(company, sql: str) -> list:
    async with tenant_scope(company.tenant) as uow:
        return list((await uow.session.execute(text(sql))).all())


async def test_volumes_follow_the_scale_and_rows_keep_the_rules(client, company) -> None:
    counts = await bulk(company)
    assert counts["accounts"] == 100
    assert counts["contacts"] == 500
    assert counts["deals"] == 100
    assert counts["legal_entities"] == 90  # none for the person accounts (every tenth)
    assert counts["deal_stage_history"] >= counts["deals"]
    assert counts["interactions"] == 1000
    assert counts["search_words"] > 0
    [(accounts, contacts, orphans)] = await rows(company, (
        "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM contacts),"
        " (SELECT count(*) FROM contacts c WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = c.account_id))"))
    assert (accounts, contacts, orphans) == (100, 500, 0)
    for (phone,) in await rows(company, "SELECT phone FROM contacts ORDER BY id LIMIT 40"):
        parsed = phonenumbers.parse(phone)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == phone
    # interactions sit on existing accounts, their contacts on the same account; calls and visits are complete
    [(bad_links, bad_calls, bad_visits, kinds)] = await rows(company, (
        "SELECT count(*) FILTER (WHERE c.id IS NOT NULL AND c.account_id <> i.account_id OR a.id IS NULL),"
        " count(*) FILTER (WHERE i.kind = 'call' AND (i.direction IS NULL OR i.duration_seconds IS NULL)),"
        " count(*) FILTER (WHERE i.kind = 'visit' AND i.latitude IS NULL), count(DISTINCT i.kind)"
        " FROM interactions i LEFT JOIN accounts a ON a.id = i.account_id LEFT JOIN contacts c ON c.id = i.contact_id"))
    assert (bad_links, bad_calls, bad_visits, kinds) == (0, 0, 0, 6)
    # the timeline shows them
    [(account_id,)] = await rows(company, "SELECT account_id FROM interactions ORDER BY occurred_at DESC LIMIT 1")
    feed = await client.get(f"/api/v1/t/{company.slug}/accounts/{account_id}/timeline", headers=company.auth)
    assert feed.status_code == 200, feed.text
    assert any(item["kind"] == "interaction" for item in feed.json()["items"]), feed.json()
    # tax ids are unique, as the duplicate warning expects of real data
    [(dupes,)] = await rows(company, "SELECT count(*) - count(DISTINCT tax_id) FROM legal_entities")
    assert dupes == 0


async def test_every_deal_has_a_consistent_stage_history(client, company) -> None:
    await bulk(company)
    deals = await rows(company, (
        "SELECT d.id, s.kind, d.won_at, d.lost_at, d.lost_reason, d.stage_id,"
        " (SELECT to_stage_id FROM deal_stage_history h WHERE h.deal_id = d.id ORDER BY moved_at DESC, id DESC"
        "  LIMIT 1) AS last_stage,"
        " (SELECT count(*) FROM deal_stage_history h WHERE h.deal_id = d.id AND h.from_stage_id IS NULL) AS starts"
        " FROM deals d JOIN pipeline_stages s ON s.id = d.stage_id"))
    kinds = {d.kind for d in deals}
    assert kinds == {"open", "won", "lost"}
    for d in deals:
        assert d.last_stage == d.stage_id, d
        assert d.starts == 1, d
        assert (d.won_at is not None) == (d.kind == "won"), d
        assert (d.lost_at is not None) == (d.kind == "lost"), d
        assert bool(d.lost_reason) == (d.kind == "lost"), d


async def test_same_seed_same_data_and_the_api_sees_it(client, make_company) -> None:
    one, two = await make_company(), await make_company()
    await bulk(one, seed=9)
    await bulk(two, seed=9)
    names = [[r.name for r in await rows(c, "SELECT name FROM accounts ORDER BY id")] for c in (one, two)]
    assert names[0] == names[1]
    assert any("\uac00" <= ch <= "\ud7a3" for name in names[0] for ch in name)  # Korean
    assert any("\u0400" <= ch <= "\u04ff" for name in names[0] for ch in name)  # Cyrillic
    [(contact_name,)] = await rows(one, f"SELECT full_name FROM contacts WHERE id = '{row_id(9, 'contact', 7)}'")
    found = await client.get(f"/api/v1/t/{one.slug}/search", headers=one.auth, params={"q": contact_name})
    assert found.status_code == 200, found.text
    assert contact_name in {h["title"] for h in found.json()["items"]}
    listed = await client.get(f"/api/v1/t/{one.slug}/accounts", headers=one.auth, params={"limit": 200})
    assert len(listed.json()["items"]) == 100


async def test_the_summaries_the_database_keeps_match_the_seeded_rows(client, company) -> None:
    """The bulk inserts went through the statement triggers: the derived tables equal a recomputation."""
    await bulk(company)
    for kept, computed in (
        ("SELECT contact_id, last_at FROM contact_last_interaction",
         "SELECT contact_id, max(occurred_at) FROM interactions WHERE contact_id IS NOT NULL AND archived_at IS NULL"
         " GROUP BY contact_id"),
        ("SELECT account_id, last_at FROM account_last_interaction",
         "SELECT account_id, max(occurred_at) FROM interactions WHERE archived_at IS NULL GROUP BY account_id"),
        (f"SELECT {COLUMNS} FROM deal_funnel", FROM_HISTORY),
    ):
        [(only_kept, only_computed, total)] = await rows(company, (
            f"SELECT (SELECT count(*) FROM ({kept} EXCEPT {computed}) AS a),"
            f" (SELECT count(*) FROM ({computed} EXCEPT {kept}) AS b), (SELECT count(*) FROM ({kept}) AS c)"))
        assert (only_kept, only_computed) == (0, 0), kept
        assert total > 0, kept
