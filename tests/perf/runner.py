"""The benchmark run: servers, migration, background tenants, then each measured phase."""

from __future__ import annotations

import asyncio
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.db.database import Database
from tests.apiserver import ApiServer
from tests.perf import fleet as bulk
from tests.perf import memory, migrate_noop, provision, signup
from tests.perf.machine import describe, load_average
from tests.perf.model import BenchOptions, BenchResult, Deadline

Say = Callable[[str], None]


@dataclass(frozen=True)
class Servers:
    """Where to run: URLs of a PostgreSQL database (migrated here) and a Redis."""

    database_url: str
    redis_url: str
    embedded: bool
    reuse: bool = False  # keep what an earlier run left in the database (the CRM benchmark's seeded tenant)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def run_benchmark(
    options: BenchOptions, *, servers: Servers | None = None, workdir: Path | None = None, say: Say = print,
    command: str | None = None,
) -> BenchResult:
    """Run every phase; starts (and stops) its own servers unless ``servers`` is given."""
    if servers is not None and workdir is not None:
        return await _run(options, servers, workdir, say, command)
    with tempfile.TemporaryDirectory(prefix="tandem-perf-") as tmp:
        work = workdir or Path(tmp)
        if servers is not None:
            return await _run(options, servers, work, say, command)
        from tests.harness import start_servers

        say("starting PostgreSQL and Redis (tests.harness.start_servers) ...")
        started = await start_servers(work / "servers")
        try:
            embedded = started._pg is not None
            return await _run(options, Servers(started.database_url, started.redis_url, embedded), work, say,
                              command)
        finally:
            await started.close()


async def _run(options: BenchOptions, servers: Servers, workdir: Path, say: Say, command: str | None) -> BenchResult:
    from tenants.migrate import migrate_all

    deadline = Deadline(options.max_seconds)
    t0 = time.perf_counter()
    dsn = asyncpg_dsn(servers.database_url)
    result = BenchResult(
        options=options, machine=await describe(dsn, embedded=servers.embedded),
        started_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=command or shlex.join([Path(sys.executable).name, "-m", "tests.perf", *sys.argv[1:]]),
    )
    db = Database({"default": servers.database_url}, pool_size=options.migrate_concurrency + 1, max_overflow=4)
    conn = await asyncpg.connect(dsn)
    api = ApiServer(servers.database_url, servers.redis_url, workdir, name="api-signup")
    try:
        say("migrating (shared tree, then tenant schemas) ...")
        report = await migrate_all(db, concurrency=options.migrate_concurrency)
        if not report.ok:
            raise RuntimeError(f"migration failed: {report.failed}")
        result.argon2_ms = await asyncio.to_thread(signup.argon2_hash_ms)
        fleet = bulk.Fleet()
        say(f"starting the API server (uvicorn subprocess, production argon2) on {api.base_url} ...")
        await api.start()
        async with signup.new_client(api.base_url) as client:
            if options.warmup:
                warm = await signup.warm_up(client, fleet, options.warmup, deadline)
                await bulk.remove(conn, warm, [signup.email_of(s) for s in warm])
            for checkpoint in options.checkpoints():
                say(f"-- {checkpoint} tenants --")
                present = await bulk.top_up(conn, fleet, checkpoint, deadline, batch=options.batch, say=say)
                await bulk.settle(conn)
                if checkpoint == options.fleet:
                    await _fleet_phases(options, servers, workdir, db, conn, fleet, result, deadline, say)
                    present = await bulk.count_tenants(conn)
                    await bulk.settle(conn)
                if checkpoint in options.sizes and options.signups > 0:
                    say(f"  {options.signups} signups over HTTP with {present} tenants present ...")
                    figures = await signup.measure(client, fleet, options.signups, present, deadline)
                    result.signups.append(figures)
                    say(f"  time to usable tenant: median {figures.total_ms.median:.1f} ms, "
                        f"p95 {figures.total_ms.p95:.1f} ms")
        await api.stop()
        if options.provision_samples > 0:
            say(f"provisioning comparison, {options.provision_samples} per path ...")
            result.provision = await provision.measure(conn, db, fleet, options.provision_samples, deadline)
        result.bulk_ms_per_tenant = fleet.ms_per_tenant
    finally:
        await api.stop()
        await conn.close()
        await db.dispose()
    result.machine["load_end"] = load_average()
    result.seconds = time.perf_counter() - t0
    return result


async def _fleet_phases(
    options: BenchOptions, servers: Servers, workdir: Path, db: Database, conn: asyncpg.Connection,
    fleet: bulk.Fleet, result: BenchResult, deadline: Deadline, say: Say,
) -> None:
    if options.migrate_repeats > 0:
        say(f"  no-op migrate over {await bulk.count_tenants(conn)} schemas "
            f"({options.migrate_repeats}x in process{', once via the CLI' if options.cli_migrate else ''}) ...")
        result.migrate = await migrate_noop.measure(
            db, servers.database_url, workdir, deadline, repeats=options.migrate_repeats,
            concurrency=options.migrate_concurrency, cli=options.cli_migrate,
        )
        say(f"  no-op migrate: {result.migrate.ms_per_schema:.2f} ms/schema")
    if options.memory:
        missing = options.fleet - len(fleet.accounts)
        if missing > 0:  # tenants that were already there have no token we know: add some that do
            present = await bulk.count_tenants(conn)
            await bulk.top_up(conn, fleet, present + missing, deadline, batch=options.batch, say=say)
        accounts = fleet.accounts[: options.fleet]
        say(f"  RSS of a fresh API process touching {len(accounts)} tenants ...")
        result.memory = await memory.measure(servers.database_url, servers.redis_url, workdir, accounts, deadline)
        say(f"  RSS {result.memory.rss_before_mib:.1f} -> {result.memory.rss_after_mib:.1f} MiB")
