"""The CRM benchmark run: servers, migrate, one tenant, bulk seed, API server, then each measured phase.

Every phase times real HTTP requests (httpx → uvicorn in its own process → Litestar → PostgreSQL), one at a time,
after a short warm-up. A phase whose route does not exist yet is reported as such, not skipped silently.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from backend.db.database import Database, set_database
from backend.domains.crm.pipelines import ensure_default
from backend.domains.identity import accounts
from backend.seeding_bulk import Plan, seed_bulk
from tenants import onboarding, provisioning
from tenants.registry import TenantRef
from tenants.scope import shared_scope, tenant_scope
from tests.apiserver import ApiServer
from tests.perf.crm.workload import Workload, draw
from tests.perf.machine import describe, load_average
from tests.perf.model import Stats
from tests.perf.runner import Servers, asyncpg_dsn

PASSWORD = "Perf-Horse-Battery-Staple-7"
# segment counts measured beside the goal (no goal of their own): the filters campaigns use most
AGE = "last_interaction_days"
SEGMENT_FILTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "contacts, last interaction > 90 days ago": ("contact", {"field": AGE, "op": "gt", "value": 90}),
    "contacts, an interaction in the last 30 days": ("contact", {"field": AGE, "op": "lt", "value": 30}),
    "contacts, no interaction ever": ("contact", {"field": AGE, "op": "none"}),
    "accounts, last interaction > 90 days ago": ("account", {"field": AGE, "op": "gt", "value": 90}),
    "accounts, no interaction ever": ("account", {"field": AGE, "op": "none"}),
    "accounts, customers with an open deal": ("account", {"all": [
        {"field": "status", "op": "eq", "value": "customer"}, {"field": "deal_status", "op": "eq", "value": "open"}]}),
}

SLUG, EMAIL = "perf-crm", "owner@crm.perf.example.com"
Say = Callable[[str], None]


@dataclass(frozen=True)
class Phase:
    name: str
    goal_ms: float
    stats: Stats | None  # None: the route is not there yet
    detail: str = ""


@dataclass
class CrmResult:
    scale: float
    samples: int
    command: str
    machine: dict[str, str] = field(default_factory=dict)
    started_utc: str = ""
    seed_seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    by_kind: dict[str, Stats] = field(default_factory=dict)
    segments: dict[str, Stats] = field(default_factory=dict)
    seconds: float = 0.0


async def timed(call: Callable[[], Awaitable[httpx.Response]]) -> float:
    started = time.perf_counter()
    response = await call()
    elapsed = 1000 * (time.perf_counter() - started)
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} "
                           f"{response.text[:300]}")
    return elapsed


async def run(scale: float, samples: int, command: str, say: Say, servers: Servers | None = None,
              database_url: str | None = None) -> CrmResult:
    """Start servers (or use ``servers``) and measure; with ``database_url``, run against that existing database
    with an embedded Redis, reusing the tenant an earlier run seeded there (re-measure without re-seeding)."""
    with tempfile.TemporaryDirectory(prefix="tandem-perf-crm-") as tmp:
        if servers is not None:
            return await _run(scale, samples, command, say, servers, Path(tmp))
        if database_url is not None:
            from backend.runtime.embedded import EmbeddedRedis

            redis = EmbeddedRedis(Path(tmp) / "redis")
            try:
                return await _run(scale, samples, command, say,
                                  Servers(database_url, redis.start(), False, reuse=True), Path(tmp))
            finally:
                redis.stop()
        from tests.harness import start_servers

        say("starting PostgreSQL and Redis (tests.harness.start_servers) ...")
        started = await start_servers(Path(tmp) / "servers")
        try:
            return await _run(scale, samples, command, say,
                              Servers(started.database_url, started.redis_url, started._pg is not None), Path(tmp))
        finally:
            await started.close()


async def _run(scale: float, samples: int, command: str, say: Say, servers: Servers, workdir: Path) -> CrmResult:
    from tenants.migrate import migrate_all

    t0 = time.perf_counter()
    dsn = asyncpg_dsn(servers.database_url)
    result = CrmResult(scale, samples, command, machine=await describe(dsn, embedded=servers.embedded),
                       started_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    db = Database({"default": servers.database_url}, pool_size=4, max_overflow=2)
    set_database(db)
    try:
        say("migrating ...")
        report = await migrate_all(db, concurrency=2)
        if not report.ok:
            raise RuntimeError(f"migration failed: {report.failed}")
        tenant, user_id, token, reused = await _tenant(servers.reuse)
        async with tenant_scope(tenant) as uow:
            pipeline = await ensure_default(uow)
        plan = Plan.at_scale(scale, 7, (user_id,))
        if reused:
            say(f"reusing the seeded tenant '{SLUG}' (--database-url): no seeding, figures of the data already there")
            result.counts = await _counts(dsn, tenant.schema)
        else:
            say(f"seeding {plan.accounts:,} accounts, {plan.contacts:,} contacts, {plan.deals:,} deals, "
                f"{plan.interactions:,} interactions (tandem seed --size large --scale {scale}) ...")
            seeded = await seed_bulk(lambda: tenant_scope(tenant), plan, pipeline.id, lambda m: say("  " + m))
            result.counts, result.seed_seconds = seeded.counts, seeded.seconds
        conn = await asyncpg.connect(dsn)
        try:
            workload = await draw(conn, tenant.schema, plan, samples)
        finally:
            await conn.close()
    finally:
        await db.dispose()
    api = ApiServer(servers.database_url, servers.redis_url, workdir, name="api-crm")
    say(f"starting the API server on {api.base_url} ...")
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=60.0,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await _phases(client, f"/api/v1/t/{tenant.slug}", workload, pipeline.id, result, say,
                          lambda: api.log_path.read_text(errors="replace")[-4000:])
    except RuntimeError:
        say("API server log (tail):\n" + api.log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        await api.stop()
    result.machine["load_end"] = load_average()
    result.seconds = time.perf_counter() - t0
    return result


async def _tenant(reuse: bool) -> tuple[TenantRef, uuid.UUID, str, bool]:
    """The benchmark's tenant, its owner and a fresh token; with ``reuse``, the one an earlier run seeded here."""
    async with shared_scope() as uow:
        if reuse and await provisioning.slug_taken(uow, SLUG):
            ref = TenantRef.of(await provisioning.load(uow, SLUG))
            user = await accounts.find_by_email(uow, EMAIL)
            if user is None:
                raise RuntimeError(f"tenant '{SLUG}' exists but {EMAIL} does not: use a fresh database")
            issued = await accounts.issue_access_token(uow, user, 86_400)
            return ref, user.id, issued.token, True
        made = await onboarding.signup(uow, company_name="Perf CRM", email=EMAIL, password=PASSWORD, slug=SLUG,
                                       token_ttl_seconds=86_400)
        return made.tenant, made.user.id, made.token.token, False


async def _counts(dsn: str, schema: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {table: int(await conn.fetchval(f'SELECT count(*) FROM "{schema}".{table}'))
                for table in ("accounts", "legal_entities", "contacts", "deals", "deal_stage_history",
                              "interactions", "search_words")}
    finally:
        await conn.close()


async def _routes(client: httpx.AsyncClient) -> set[str]:
    spec = (await client.get("/api/openapi.json")).json()
    return set(spec.get("paths", {}))


async def _phases(client: httpx.AsyncClient, base: str, work: Workload, pipeline_id: Any, result: CrmResult,
                  say: Say, log_tail: Callable[[], str] | None = None) -> None:
    paths = await _routes(client)

    def has(suffix: str) -> bool:
        return any(p.startswith("/api/v1/t/{tenant_slug}") and p.endswith(suffix) for p in paths)

    warm = work.searches[: max(5, len(work.searches) // 10)]
    for _, term in warm:
        await client.get(f"{base}/search", params={"q": term})
    say(f"search: {len(work.searches)} queries ...")
    per_kind: dict[str, list[float]] = {}
    for kind, term in work.searches:
        ms = await timed(lambda t=term: client.get(f"{base}/search", params={"q": t}))  # type: ignore[misc]
        per_kind.setdefault(kind, []).append(ms)
    everything = [ms for values in per_kind.values() for ms in values]
    result.phases.append(Phase("search (`GET /search?q=`)", 50.0, Stats.of(everything),
                               "names with and without typos, account words, e-mail prefixes, phone digits, tax ids"))
    result.by_kind = {kind: Stats.of(values) for kind, values in sorted(per_kind.items())}

    if has("/accounts/{account_id}/timeline"):
        say(f"account card with timeline: {len(work.accounts)} accounts ...")
        card: list[float] = []
        for account_id in work.accounts:
            one = await timed(lambda a=account_id: client.get(f"{base}/accounts/{a}"))  # type: ignore[misc]
            feed = await timed(lambda a=account_id: client.get(f"{base}/accounts/{a}/timeline"))  # type: ignore[misc]
            card.append(one + feed)
        result.phases.append(Phase("account card with timeline (`GET /accounts/{id}` + `/timeline`)", 30.0,
                                   Stats.of(card), "sum of both requests, first timeline page"))
    else:
        result.phases.append(Phase("account card with timeline", 30.0, None))

    if has("/segments/preview") or has("/segments/count"):
        route = "/segments/count" if has("/segments/count") else "/segments/preview"
        say("segment count ...")
        body = {"entity": "contact", "filter": {"all": [{"field": "email_consent", "op": "eq", "value": True}]}}
        counts = [await timed(lambda: client.post(f"{base}{route}", json=body)) for _ in range(20)]
        result.phases.append(Phase(f"segment count on all contacts (`POST {route}`)", 300.0, Stats.of(counts)))
        for name, (entity, condition) in SEGMENT_FILTERS.items():
            one = {"entity": entity, "filter": {"all": [condition]}}
            result.segments[name] = Stats.of([await timed(lambda b=one: client.post(  # type: ignore[misc]
                f"{base}{route}", json=b)) for _ in range(10)])
    else:
        result.phases.append(Phase("segment count on 1M contacts", 300.0, None))

    if has("/reports/funnel"):
        say("funnel over a year ...")
        today = date.today()
        params = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat(),
                  "pipeline_id": str(pipeline_id)}
        try:
            funnel = [await timed(lambda: client.get(f"{base}/reports/funnel", params=params)) for _ in range(20)]
        except RuntimeError as exc:  # keep the other phases' figures; the log tail says what failed
            say(f"funnel failed: {exc}\n" + (log_tail() if log_tail else ""))
            result.phases.append(Phase("funnel over a year (`GET /reports/funnel`)", 300.0, None,
                                       f"FAILED: {str(exc)[:200]}"))
        else:
            result.phases.append(Phase("funnel over a year (`GET /reports/funnel`)", 300.0, Stats.of(funnel)))
    else:
        result.phases.append(Phase("funnel over a year", 300.0, None))
