"""The benchmark package works: its quick mode with tiny sizes against the session's test servers.

Asserts on the structure of the figures, never on speed.
"""

from __future__ import annotations

import math

from tests.perf import BenchOptions, Servers, run_benchmark
from tests.perf.model import BenchResult, Stats
from tests.perf.report import HEADER, render, write

SIGNUPS = 3


def _finite(stats: Stats, n: int) -> None:
    assert stats.n == n
    values = (stats.min, stats.median, stats.p95, stats.max)
    assert all(math.isfinite(v) and v > 0 for v in values), stats
    assert stats.min <= stats.median <= stats.max
    assert stats.min <= stats.p95 <= stats.max


def _check(result: BenchResult) -> None:
    assert len(result.signups) == 2
    assert result.signups[0].tenants_present >= 0
    for figures in result.signups:
        _finite(figures.total_ms, SIGNUPS)
        _finite(figures.signup_ms, SIGNUPS)
        _finite(figures.first_request_ms, SIGNUPS)
    assert result.signups[1].tenants_present >= result.signups[0].tenants_present + 5

    m = result.migrate
    assert m is not None
    assert m.schemas >= 5
    assert m.upgraded == 0
    assert m.failed == 0
    assert len(m.api_runs_s) == 1
    assert m.ms_per_schema > 0
    assert m.cli_wall_s is not None
    assert m.cli_wall_s > 0
    assert m.cli_reported_s is not None

    mem = result.memory
    assert mem is not None
    assert mem.tenants_touched == 5
    assert min(mem.rss_start_mib, mem.rss_before_mib, mem.rss_after_mib) > 10
    _finite(mem.request_ms, 5)

    p = result.provision
    assert p is not None
    assert p.tenants_present >= 5
    _finite(p.snapshot_ms, 2)
    _finite(p.pool_ms, 2)
    assert math.isfinite(result.argon2_ms)
    assert {"cpu", "cores", "ram", "os", "python", "postgresql", "load_start", "load_end"} <= set(result.machine)


async def test_quick_benchmark_runs_against_the_test_servers(servers, database, tmp_path) -> None:
    options = BenchOptions(sizes=(0, 5), signups=SIGNUPS, warmup=1, fleet=5, provision_samples=2,
                           migrate_repeats=1, migrate_concurrency=2, quick=True, max_seconds=120)
    result = await run_benchmark(
        options, servers=Servers(servers.database_url, servers.redis_url, embedded=servers._pg is not None),
        workdir=tmp_path / "work", say=lambda _: None, command="pytest tests/test_perf_smoke.py",
    )
    _check(result)

    section = render(result)
    assert section.startswith("<!-- perf-run: ")
    assert section.rstrip().endswith("<!-- /perf-run -->")
    for heading in ("### Goals", "### Time to a usable tenant", "### No-op migrate", "### Memory", "### Provisioning"):
        assert heading in section
    doc = tmp_path / "PERFORMANCE.md"
    write(result, doc)
    write(result, doc)  # same day and mode: the section is replaced, not duplicated
    text = doc.read_text(encoding="utf-8")
    assert text.startswith(HEADER.splitlines()[0])
    assert text.count("<!-- perf-run: ") == 1
