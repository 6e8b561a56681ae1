"""Funnel benchmark: a year's funnel on a tenant with 200,000 accounts and a few hundred thousand stage moves.

    .venv/bin/python -m tests.perf.funnel [--accounts 200000] [--deals 150000] [--runs 15] [--explain]

Starts its own PostgreSQL (tests.harness), makes one tenant, generates the data in SQL with ``generate_series``
(nothing is stored in the repository), then times ``analytics.funnel.funnel`` through ``tenant_scope`` (the same
path as the API, minus HTTP) for a manager (every deal) and a rep (own + unowned + shared accounts), and the
forecast and rep KPIs for scale. Goal (issue 4): the funnel over a year < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from backend.db.database import Database, set_database
from backend.domains.crm import pipelines
from backend.domains.crm.analytics import forecast, funnel, reps
from backend.domains.crm.analytics.params import Period, ReportQuery
from backend.domains.crm.visibility import CrmActor
from tests.harness import start_servers

OWNERS = 20
# {qual} … {lost}, {pipeline}: quoted uuid literals of our own (formatted in); :owners etc. are bound parameters
GENERATE = """
CREATE TEMP TABLE owner_ids ON COMMIT DROP AS
SELECT o AS id, row_number() OVER () - 1 AS n FROM unnest(CAST(:owners AS uuid[])) o;

CREATE TEMP TABLE acc ON COMMIT DROP AS
SELECT gen_random_uuid() AS id, g AS n FROM generate_series(1, :accounts) g;

INSERT INTO accounts (id, name, owner_user_id, is_shared, status, tags, created_at, updated_at, version)
SELECT acc.id, 'Account ' || acc.n, o.id, acc.n % 25 = 0, 'customer', '{{}}', now(), now(), 1
FROM acc JOIN owner_ids o ON o.n = acc.n % :n_owners;

CREATE TEMP TABLE gen ON COMMIT DROP AS
SELECT gen_random_uuid() AS id, g, timestamptz '2024-01-01 00:00+00' + (g % 730) * interval '1 day'
       + (g % 86400) * interval '1 second' AS created, g % 6 AS depth, o.id AS owner
FROM generate_series(1, :deals) g JOIN owner_ids o ON o.n = (g * 7) % :n_owners;

INSERT INTO deals (id, pipeline_id, stage_id, account_id, title, amount, currency, probability, expected_close_date,
                   owner_user_id, won_at, lost_at, created_at, updated_at, version)
SELECT gen.id, {pipeline},
       CASE gen.depth WHEN 0 THEN {qual} WHEN 1 THEN {proposal} WHEN 3 THEN {won} WHEN 4 THEN {lost}
                      ELSE {negotiation} END,
       a.id, 'Deal ' || gen.g, (gen.g % 1000) * 10 + 0.5, CASE WHEN gen.g % 3 = 0 THEN 'EUR' ELSE 'USD' END,
       CASE gen.depth WHEN 0 THEN 10 WHEN 1 THEN 40 WHEN 3 THEN 100 WHEN 4 THEN 0 ELSE 60 END,
       (gen.created + interval '60 days')::date, gen.owner,
       CASE WHEN gen.depth = 3 THEN gen.created + interval '30 days' END,
       CASE WHEN gen.depth = 4 THEN gen.created + interval '7 days' END,
       gen.created, gen.created, 1
FROM gen JOIN acc a ON a.n = 1 + (gen.g * 13) % :accounts;

INSERT INTO deal_stage_history (deal_id, from_stage_id, to_stage_id, moved_at, moved_by_user_id)
SELECT id, NULL, CASE WHEN depth = 5 THEN {proposal} ELSE {qual} END, created, owner FROM gen
UNION ALL SELECT id, {qual}, {proposal}, created + interval '5 days', owner FROM gen WHERE depth IN (1, 2, 3)
UNION ALL SELECT id, {proposal}, {negotiation}, created + interval '10 days', owner FROM gen WHERE depth IN (2, 3, 5)
UNION ALL SELECT id, {negotiation}, {won}, created + interval '30 days', owner FROM gen WHERE depth = 3
UNION ALL SELECT id, {qual}, {lost}, created + interval '7 days', owner FROM gen WHERE depth = 4
ORDER BY 4;
"""


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    took = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        took.append((time.perf_counter() - t0) * 1000)
    return took


def backend_cpu_ms(pid: int) -> float:
    """CPU time (user + system) of a local PostgreSQL backend, from /proc: a measure of work that a busy machine
    inflates far less than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def summary(label: str, took: list[float]) -> str:
    ordered = sorted(took)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return (f"{label:<26} median {statistics.median(took):7.1f} ms   p95 {p95:7.1f} ms   min {min(took):7.1f} ms"
            f"   max {max(took):7.1f} ms")


async def main(args: argparse.Namespace) -> None:
    from tenants.migrate import migrate_all
    from tenants.onboarding import signup
    from tenants.scope import shared_scope, tenant_scope

    with tempfile.TemporaryDirectory(prefix="tandem-funnel-") as tmp:
        servers = await start_servers(Path(tmp))
        db = Database({"default": servers.database_url}, pool_size=3, max_overflow=2)
        set_database(db)
        try:
            assert (await migrate_all(db, concurrency=2)).ok
            async with shared_scope() as uow:
                made = await signup(uow, company_name="Bench", email="bench@example.com",
                                    password="Correct-Horse-Battery-9", slug="bench", token_ttl_seconds=60)
            tenant = made.tenant
            owners = [made.user.id] + [uuid.uuid4() for _ in range(OWNERS - 1)]
            t0 = time.perf_counter()
            async with tenant_scope(tenant) as uow:
                pipeline = await pipelines.ensure_default(uow)
                view = await pipelines.get(uow, CrmActor("owner", made.user.id), pipeline.id)
                ids = {s.name.lower(): f"'{s.id}'::uuid" for s in view.stages}
                script = GENERATE.format(pipeline=f"'{pipeline.id}'::uuid", qual=ids["qualification"],
                                         proposal=ids["proposal"], negotiation=ids["negotiation"], won=ids["won"],
                                         lost=ids["lost"])
                params = {"owners": owners, "n_owners": OWNERS, "accounts": args.accounts, "deals": args.deals}
                for statement in script.split(";\n"):
                    if statement.strip():
                        wanted = {k: v for k, v in params.items() if f":{k}" in statement}
                        await uow.session.execute(text(statement), wanted)
            async with db.engine().connect() as conn:  # the steady state autovacuum keeps: visibility map, BRIN
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("accounts", "deals", "deal_stage_history", "deal_funnel"):
                    await conn.execute(text(f'VACUUM ANALYZE "{tenant.schema}".{table}'))
                moves = (await conn.execute(text(f'SELECT count(*) FROM "{tenant.schema}".deal_stage_history'))
                         ).scalar_one()
            print(f"generated {args.accounts:,} accounts, {args.deals:,} deals, {moves:,} stage moves "
                  f"in {time.perf_counter() - t0:.1f} s")
            print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            year = ReportQuery(Period(date(2025, 1, 1), date(2025, 12, 31)))
            manager, rep = CrmActor("manager", made.user.id), CrmActor("rep", owners[3])

            cpu: list[float] = []

            async def run(actor: CrmActor, report: Callable[..., Awaitable[Any]], serial: bool = False) -> None:
                async with tenant_scope(tenant) as uow:
                    if serial:
                        await uow.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
                    pid = (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                    before = backend_cpu_ms(pid)
                    await report(uow, actor, year)
                    cpu.append(backend_cpu_ms(pid) - before)

            for label, actor, report in (("funnel, 2025, manager", manager, funnel.funnel),
                                         ("funnel, 2025, rep", rep, funnel.funnel),
                                         ("forecast, manager", manager, forecast.forecast),
                                         ("rep KPIs, 2025, manager", manager, reps.reps)):
                await run(actor, report)  # warm-up
                print(summary(label, await timed(args.runs, lambda a=actor, r=report: run(a, r))))
                cpu.clear()
                serial = await timed(args.runs, lambda a=actor, r=report: run(a, r, serial=True))
                print(summary("  same, no parallel workers", serial))
                print(f"{'':<26} backend CPU, no parallel workers: median {statistics.median(cpu):6.0f} ms"
                      f"   min {min(cpu):6.0f} ms")
            print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            if args.explain:
                await explain(tenant, manager, rep, year)
        finally:
            await db.dispose()
            await servers.close()


async def explain(tenant: Any, manager: CrmActor, rep: CrmActor, year: ReportQuery) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the funnel's one heavy statement, for a manager and for a rep."""
    from backend.domains.crm.analytics import scope
    from tenants.scope import tenant_scope

    for actor in (manager, rep):
        async with tenant_scope(tenant) as uow:
            _, stages = await funnel.pipeline_of(uow, None)
            await scope.plan_per_query(uow)
            cal = await scope.calendar(uow)
            for build in (funnel.settled_query, funnel.moved_later_query):
                query = build(actor, stages, cal, year.period)
                sql = str(query.compile(uow.session.get_bind(), compile_kwargs={"literal_binds": True}))
                plan = await uow.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))
                print(f"\n--- {actor.role}: {build.__name__} ---")
                print("\n".join(row[0] for row in plan))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--deals", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--explain", action="store_true")
    asyncio.run(main(parser.parse_args()))
