"""The summaries the database keeps by trigger always equal what they summarise, whoever writes and however.

* ``contact_last_interaction`` / ``account_last_interaction`` (crm/activity_recency.py): the latest ``occurred_at`` of
  each subject's unarchived interactions; no row without one;
* ``deal_funnel`` (crm/analytics/funnel_models.py): each deal's creation, stages reached and last move.

After every kind of write (API create, edit of the time, archive, restore, relink, merge, a multi-row SQL insert, a
delete) the tables are compared with the same figures computed from scratch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.domains.crm.analytics.funnel_models import COLUMNS, fold
from tests.api.helpers import execute, fetch
from tests.crm.activity_helpers import base, hosted_api, make_account, make_contact, make_deal, make_interaction


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    async for client in hosted_api(settings, database, "192.0.2.91"):
        yield client


def _when(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


async def _kept(company: Any, subject: str) -> dict[str, datetime]:
    rows = await fetch(f'SELECT {subject}_id, last_at FROM "{company.tenant.schema}".{subject}_last_interaction')
    return {str(r[0]): r[1] for r in rows}


async def _computed(company: Any, subject: str) -> dict[str, datetime]:
    rows = await fetch(f'SELECT {subject}_id, max(occurred_at) FROM "{company.tenant.schema}".interactions '
                       f"WHERE {subject}_id IS NOT NULL AND archived_at IS NULL GROUP BY {subject}_id")
    return {str(r[0]): r[1] for r in rows}


async def consistent(company: Any) -> dict[str, dict[str, datetime]]:
    """Both last-interaction tables, after checking them against the interactions themselves."""
    found = {}
    for subject in ("contact", "account"):
        kept = await _kept(company, subject)
        assert kept == await _computed(company, subject), subject
        found[subject] = kept
    return found


async def _patch(api: httpx.AsyncClient, company: Any, interaction: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await api.patch(base(company, f"interactions/{interaction['id']}"), headers=company.auth, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_last_interaction_follows_every_kind_of_write(api, company) -> None:
    firm, other = await make_account(api, company, name="Alder Mills"), await make_account(api, company, name="Birch")
    ann = await make_contact(api, company, firm, full_name="Ann Alder")
    ben = await make_contact(api, company, firm, full_name="Ben Alder")
    assert await consistent(company) == {"contact": {}, "account": {}}

    old = await make_interaction(api, company, firm, contact_id=ann["id"], occurred_at=_when(40))
    new = await make_interaction(api, company, firm, contact_id=ann["id"], occurred_at=_when(3))
    await make_interaction(api, company, other, occurred_at=_when(100))
    kept = await consistent(company)
    assert set(kept["contact"]) == {ann["id"]}
    assert set(kept["account"]) == {firm["id"], other["id"]}

    new = await _patch(api, company, new, occurred_at=_when(60))  # moved back: the 40-day one is now the latest
    assert (await consistent(company))["contact"][ann["id"]] == datetime.fromisoformat(old["occurred_at"])
    new = await _patch(api, company, new, contact_id=ben["id"])  # relinked: both contacts recomputed
    assert set((await consistent(company))["contact"]) == {ann["id"], ben["id"]}

    archived = await api.delete(base(company, f"interactions/{old['id']}"), headers=company.auth)
    assert archived.status_code == 200, archived.text
    assert set((await consistent(company))["contact"]) == {ben["id"]}  # Ann has no live interaction left

    merged = await api.post(base(company, f"contacts/{ann['id']}/merge"), headers=company.auth,
                            json={"duplicate_id": ben["id"]})
    assert merged.status_code == 200, merged.text
    assert set((await consistent(company))["contact"]) == {ann["id"]}  # Ben's interaction moved to Ann


async def test_multi_row_inserts_and_deletes_in_sql_are_folded_too(api, company) -> None:
    firm = await make_account(api, company, name="Cedar Works")
    cat = await make_contact(api, company, firm, full_name="Cat Cedar")
    schema = company.tenant.schema
    await execute(f'INSERT INTO "{schema}".interactions (id, account_id, contact_id, kind, occurred_at) '
                  "SELECT gen_random_uuid(), CAST(:a AS uuid), CAST(:c AS uuid), 'call', "
                  "now() - make_interval(days => d) FROM generate_series(1, 5) AS d", a=firm["id"], c=cat["id"])
    kept = await consistent(company)
    assert kept["contact"][cat["id"]] == kept["account"][firm["id"]]
    await execute(f'DELETE FROM "{schema}".interactions WHERE occurred_at > now() - interval \'3 days\'')
    assert (await consistent(company))["contact"][cat["id"]] < datetime.now(UTC) - timedelta(days=2)
    await execute(f'DELETE FROM "{schema}".interactions')
    assert await consistent(company) == {"contact": {}, "account": {}}


async def test_deal_funnel_summary_equals_the_history(api, company) -> None:
    firm = await make_account(api, company, name="Dogwood")
    pipeline = (await api.get(base(company, "pipelines"), headers=company.auth)).json()["items"][0]
    stages = {s["kind"]: s["id"] for s in pipeline["stages"] if s["kind"] != "open"}
    opens = [s["id"] for s in pipeline["stages"] if s["kind"] == "open"]
    one, two = await make_deal(api, company, firm), await make_deal(api, company, firm, title="Second")
    for deal, stage in ((one, opens[1]), (one, opens[2]), (two, opens[1])):
        moved = await api.post(base(company, f"deals/{deal['id']}/stage"), headers=company.auth,
                               json={"stage_id": stage})
        assert moved.status_code == 200, moved.text
    won = await api.post(base(company, f"deals/{one['id']}/win"), headers=company.auth, json={})
    assert won.status_code == 200, won.text
    schema = company.tenant.schema
    kept = await fetch(f'SELECT {COLUMNS} FROM "{schema}".deal_funnel ORDER BY deal_id')
    computed = await fetch(fold(f'"{schema}".deal_stage_history') + " ORDER BY 1")
    assert [tuple(r) for r in kept] == [tuple(r) for r in computed]
    by_deal = {str(r[0]): r for r in kept}
    assert str(by_deal[one["id"]][5]) == stages["won"]
    assert {str(s) for s in by_deal[one["id"]][3]} == {*opens[:3], stages["won"]}
    assert (str(by_deal[two["id"]][2]), str(by_deal[two["id"]][5])) == (opens[0], opens[1])


async def test_planned_interactions_count_only_once_they_happened(api, company) -> None:
    """A record whose latest interaction is still ahead (the API allows up to a day) is judged by the ones that
    already happened."""
    firms = {name: await make_account(api, company, name=name, tags=[name.lower()]) for name in ("Fir", "Gum", "Hazel")}
    people = {name: await make_contact(api, company, firms[name], full_name=f"{name} Person") for name in firms}
    for name, days_ago in (("Fir", 100), ("Fir", -0.5), ("Gum", -0.5), ("Hazel", 10), ("Hazel", -0.5)):
        await make_interaction(api, company, firms[name], contact_id=people[name]["id"], occurred_at=_when(days_ago))

    async def matching(entity: str, op: str, value: int | None = None) -> set[str]:
        condition: dict[str, Any] = {"field": "last_interaction_days", "op": op}
        if value is not None:
            condition["value"] = value
        found = set()
        for name in firms:
            tag = {"field": "tags" if entity == "account" else "account.tags", "op": "has_any", "value": [name.lower()]}
            response = await api.post(base(company, "segments/count"), headers=company.auth,
                                      json={"entity": entity, "filter": {"all": [tag, condition]}})
            assert response.status_code == 200, response.text
            if response.json()["count"]:
                found.add(name)
        return found

    for entity in ("account", "contact"):
        assert await matching(entity, "gt", 90) == {"Fir"}, entity
        assert await matching(entity, "gt", 5) == {"Fir", "Hazel"}, entity
        assert await matching(entity, "lt", 30) == {"Hazel"}, entity
        assert await matching(entity, "none") == {"Gum"}, entity
    assert (await consistent(company))["contact"][people["Gum"]["id"]] > datetime.now(UTC)  # kept: the planned one
