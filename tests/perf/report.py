"""Render a run as Markdown (printed, and kept in docs/PERFORMANCE.md as one dated section per day and mode)."""

from __future__ import annotations

import math
import re
from pathlib import Path

from backend.config import Settings
from tests.perf.model import (
    FULL_SIZES,
    MIGRATE_GOAL_MS_PER_SCHEMA,
    SIGNUP_GOAL_MS,
    BenchResult,
    Stats,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "PERFORMANCE.md"
END = "<!-- /perf-run -->"

HEADER = """# Performance

Figures measured by the benchmark package `tests/perf/` (not part of the default `pytest` run).

Run it from the repository root with `make bench` (= `.venv/bin/python -m tests.perf`; pass options with
`make bench BENCH_ARGS=--quick`). It starts its own
PostgreSQL and Redis through `tests/harness.start_servers` (embedded, unless `TANDEM_TEST_DATABASE_URL` /
`TANDEM_TEST_REDIS_URL` point at real servers), migrates, and measures:

1. **Time to a usable tenant**: `POST /api/v1/signup`, then the first authenticated `GET /api/v1/t/{slug}/`,
   over real HTTP against the API served by uvicorn in its own process on 127.0.0.1, sequentially, with
   0, 1,000 and 5,000 tenants already present (background tenants are created by a bulk path that applies
   the same head-DDL snapshot as provisioning). The API server hashes passwords with the production
   argon2id parameters (`backend.config.Settings` defaults): they are part of the signup cost.
   Goal: median < 150 ms at 5,000 tenants.
2. **No-op `tandem migrate`** over 1,000 tenant schemas already at head: `tenants.migrate.migrate_all`
   in process, and the real CLI (`python -m backend.cli migrate --no-progress`) as a subprocess, whose wall
   time includes interpreter start-up. Goal: <= 50 ms per schema.
3. **Memory**: RSS of a fresh API process (uvicorn, `backend.app:app_from_env`) before and after one
   authenticated request to each of 1,000 distinct tenants (each with its own owner token).
4. **Provisioning design comparison** at the largest size: the head-DDL snapshot
   (`provisioning.create_tenant` in one `shared_scope` transaction) vs. handing out a pre-created schema
   with `ALTER SCHEMA … RENAME` (simulated in the benchmark with plain SQL; same transaction shape).
5. **CRM at volume** (`make bench-crm` = `.venv/bin/python -m tests.perf.crm [--scale 1] [--samples 200]`, its own
   "CRM at scale" sections): one tenant seeded by `tandem seed --size large` (1,000,000 contacts, 200,000
   accounts, 2,000,000 interactions at scale 1), then over real HTTP against uvicorn: search p95 < 50 ms,
   account card with timeline p95 < 30 ms, segment count on all contacts < 300 ms, funnel over a year < 300 ms.

Options: `--quick` (0/50/200 tenants, fewer samples: a smoke run, not the goals' sizes), `--sizes 0,1000,5000`,
`--signups N`, `--fleet N`, `--provision-samples N`, `--no-cli`, `--no-memory`, `--no-write`, `--max-minutes M`.
Each run adds a dated section below (a second run on the same day in the same mode replaces it).
Figures depend heavily on the machine and on what else runs on it: compare runs on the same machine only.
"""


def mode_of(result: BenchResult) -> str:
    opts = result.options
    return "quick" if opts.quick else ("full" if tuple(opts.sizes) == FULL_SIZES else "custom")


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _stat_cells(s: Stats) -> list[str]:
    return [str(s.n), _ms(s.median), _ms(s.p95), _ms(s.min), _ms(s.max)]


def _mark(ok: bool) -> str:
    return "✅ pass" if ok else "❌ FAIL"


def goals(result: BenchResult) -> list[list[str]]:
    rows: list[list[str]] = []
    if result.signups:
        last = max(result.signups, key=lambda f: f.tenants_present)
        note = "" if last.tenants_present >= FULL_SIZES[-1] else " (below the goal's 5,000: indicative)"
        rows.append([f"time to usable tenant, median at {last.tenants_present} tenants{note}",
                     f"< {SIGNUP_GOAL_MS:.0f} ms", f"{_ms(last.total_ms.median)} ms",
                     _mark(last.total_ms.median < SIGNUP_GOAL_MS)])
    m = result.migrate
    if m is not None:
        target = f"<= {MIGRATE_GOAL_MS_PER_SCHEMA:.0f} ms/schema"
        rows.append([f"no-op migrate, in process ({m.schemas} schemas)", target, f"{m.ms_per_schema:.2f} ms/schema",
                     _mark(m.ms_per_schema <= MIGRATE_GOAL_MS_PER_SCHEMA)])
        if m.cli_ms_per_schema is not None:
            rows.append([f"no-op `tandem migrate` CLI, whole process ({m.schemas} schemas)",
                         f"<= {MIGRATE_GOAL_MS_PER_SCHEMA:.0f} ms/schema", f"{m.cli_ms_per_schema:.2f} ms/schema",
                         _mark(m.cli_ms_per_schema <= MIGRATE_GOAL_MS_PER_SCHEMA)])
    return rows


def render(result: BenchResult) -> str:
    opts, mc, s = result.options, result.machine, Settings()
    out = [f"<!-- perf-run: {result.started_utc[:10]} {mode_of(result)} -->",
           f"## {result.started_utc}: {mode_of(result)} run", "",
           f"- Command: `{result.command}` (from the repository root), {result.seconds:.0f} s in all",
           f"- Machine: {mc['cpu']}, {mc['cores']}, {mc['ram']} RAM; {mc['os']}; {mc['python']}",
           f"- PostgreSQL {mc['postgresql']}",
           f"- Load average (1/5/15 min) at start {mc['load_start']}, at end {mc.get('load_end', '?')}",
           f"- Passwords: production argon2id (m={s.argon2_memory_kib} KiB, t={s.argon2_time_cost}, "
           f"p={s.argon2_parallelism}; `Settings` defaults) in the API server; "
           f"one hash takes {_ms(result.argon2_ms)} ms here (median of 5, benchmark process)",
           f"- Background tenants created by the bulk path at {_ms(result.bulk_ms_per_tenant)} ms/tenant"]
    out += [f"- Note: {n}" for n in result.notes]
    out += ["", "### Goals", "", _row(["goal", "target", "measured", "result"]), _row(["---"] * 4)]
    out += [_row(r) for r in goals(result)]
    if result.signups:
        out += ["", f"### Time to a usable tenant (ms; {opts.signups} sequential signups per size, "
                "POST /api/v1/signup + first GET /api/v1/t/{slug}/)", "",
                _row(["tenants present", "n", "median", "p95", "min", "max", "signup median", "first request median"]),
                _row(["---:"] * 8)]
        out += [_row([str(f.tenants_present), *_stat_cells(f.total_ms), _ms(f.signup_ms.median),
                      _ms(f.first_request_ms.median)]) for f in result.signups]
    if (m := result.migrate) is not None:
        runs = ", ".join(f"{r:.2f}" for r in m.api_runs_s)
        out += ["", f"### No-op migrate ({m.schemas} schemas, concurrency {opts.migrate_concurrency})", "",
                _row(["measure", "seconds", "ms/schema"]), _row(["---", "---:", "---:"]),
                _row([f"`migrate_all` in process (runs: {runs})", f"{min(m.api_runs_s):.2f}-{max(m.api_runs_s):.2f}",
                      f"{m.ms_per_schema:.2f} (median run)"]),
                _row(["`migrate_tenants` only", f"{m.tenants_only_s:.2f}",
                      f"{1000 * m.tenants_only_s / max(1, m.schemas):.2f}"])]
        if m.cli_wall_s is not None:
            out.append(_row(["`python -m backend.cli migrate --no-progress`, wall (process start included)",
                             f"{m.cli_wall_s:.2f}", f"{m.cli_ms_per_schema or 0:.2f}"]))
            if m.cli_reported_s is not None:
                out.append(_row(["… of which its tenant pass (as the CLI reports it)", f"{m.cli_reported_s:.2f}",
                                 f"{1000 * m.cli_reported_s / max(1, m.schemas):.2f}"]))
        out.append(f"\nSchemas upgraded by these runs: {m.upgraded} (0 = a true no-op), failed: {m.failed}.")
    if (mem := result.memory) is not None:
        out += ["", f"### Memory of the API process ({mem.tenants_touched} distinct tenants touched)", "",
                _row(["RSS after start", "after 1 request", "after all tenants", "growth", "per tenant",
                      "request median / p95"]), _row(["---:"] * 6),
                _row([f"{mem.rss_start_mib:.1f} MiB", f"{mem.rss_before_mib:.1f} MiB", f"{mem.rss_after_mib:.1f} MiB",
                      f"{mem.rss_after_mib - mem.rss_before_mib:+.1f} MiB", f"{mem.kib_per_tenant:.1f} KiB",
                      f"{_ms(mem.request_ms.median)} / {_ms(mem.request_ms.p95)} ms"])]
    if (p := result.provision) is not None:
        out += ["", f"### Provisioning: head-DDL snapshot vs. pre-created schema pool ({p.tenants_present} tenants "
                "present; ms per tenant, one transaction, commit included)", "",
                _row(["path", "n", "median", "p95", "min", "max"]), _row(["---", *["---:"] * 5]),
                _row(["snapshot: `create_tenant` (CREATE SCHEMA + head DDL)", *_stat_cells(p.snapshot_ms)]),
                _row(["pool: claim + `ALTER SCHEMA … RENAME`", *_stat_cells(p.pool_ms)]),
                "", f"Filling the pool ahead of time costs {p.pool_prepare_ms_per_schema:.1f} ms per schema "
                "(off the signup path, e.g. in a job)."]
    out += ["", END]
    return "\n".join(out) + "\n"


def write(result: BenchResult, doc: Path = DOC) -> Path:
    """Replace this day's section of the same mode, else append one; create the file with its header."""
    return replace_section(doc, render(result), END)


def replace_section(doc: Path, section: str, end: str) -> Path:
    """Replace the section that starts with the same marker line (its first line) up to ``end``, else append."""
    current = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    marker = section.splitlines()[0]
    pattern = re.compile(re.escape(marker) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(updated, encoding="utf-8")
    return doc
