"""Command line and Markdown report of the CRM benchmark (one dated section in docs/PERFORMANCE.md)."""

from __future__ import annotations

import argparse
import asyncio
import math
import shlex
import sys
from pathlib import Path

from tests.perf.crm.run import CrmResult, run
from tests.perf.model import Stats
from tests.perf.report import DOC, replace_section

END = "<!-- /perf-crm -->"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _stats(s: Stats) -> list[str]:
    return [str(s.n), _ms(s.median), _ms(s.p95), _ms(s.max)]


def render(r: CrmResult) -> str:
    mc = r.machine
    out = [f"<!-- perf-crm: {r.started_utc[:10]} scale {r.scale:g} -->",
           f"## {r.started_utc}: CRM at scale {r.scale:g}", "",
           f"- Command: `{r.command}` (from the repository root), {r.seconds:.0f} s in all",
           f"- Machine: {mc['cpu']}, {mc['cores']}, {mc['ram']} RAM; {mc['os']}; {mc['python']}",
           f"- PostgreSQL {mc['postgresql']}",
           f"- Load average (1/5/15 min) at start {mc['load_start']}, at end {mc.get('load_end', '?')}",
           "- Data (`tandem seed --size large`" + ("" if r.seed_seconds else ", seeded by an earlier run") + "): "
           + ", ".join(f"{n:,} {table}" + (f" ({r.seed_seconds.get(table, 0):.0f} s)" if r.seed_seconds else "")
                       for table, n in r.counts.items()),
           "", "### Goals (ms per request over HTTP, one client, after warm-up)", "",
           _row(["measure", "goal p95", "n", "median", "p95", "max", "result"]), _row(["---", *["---:"] * 5, "---"])]
    for phase in r.phases:
        if phase.stats is None:
            state = "❌ " + phase.detail if phase.detail else "not built yet"
            out.append(_row([phase.name, f"< {phase.goal_ms:.0f}", "-", "-", "-", "-", state]))
            continue
        ok = phase.stats.p95 < phase.goal_ms
        out.append(_row([phase.name, f"< {phase.goal_ms:.0f}", *_stats(phase.stats), "✅ pass" if ok else "❌ FAIL"]))
    notes = [f"- {p.name}: {p.detail}" for p in r.phases if p.detail and p.stats is not None]
    if notes:
        out += ["", *notes]
    if r.by_kind:
        out += ["", "### Search by kind of term (ms)", "", _row(["term", "n", "median", "p95", "max"]),
                _row(["---", *["---:"] * 4])]
        out += [_row([kind, *_stats(s)]) for kind, s in r.by_kind.items()]
    if r.segments:
        out += ["", "### Segment counts by filter (ms, owner, no goal of their own)", "",
                _row(["filter", "n", "median", "p95", "max"]), _row(["---", *["---:"] * 4])]
        out += [_row([name, *_stats(s)]) for name, s in r.segments.items()]
    out += ["", END]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.perf.crm", description=(
        "CRM benchmark: seeds a tenant at the issue's volumes (1M contacts, 200k accounts, 2M interactions at "
        f"--scale 1) and measures search, account card + timeline, segment count and funnel; updates {DOC.name}."))
    p.add_argument("--scale", type=float, default=1.0, help="data volume multiplier (default 1 = the goals' size)")
    p.add_argument("--samples", type=int, default=200, help="requests per phase (default 200)")
    p.add_argument("--no-write", action="store_true", help=f"print only; do not update {DOC.name}")
    p.add_argument("--doc", type=Path, default=DOC)
    p.add_argument("--database-url", metavar="URL", help=(
        "run against this existing (empty or earlier-seeded) database instead of a fresh embedded one; a second run "
        "reuses the tenant the first one seeded, so it measures again in a minute instead of seeding for ten"))
    args = p.parse_args(argv)
    command = shlex.join([".venv/bin/python", "-m", "tests.perf.crm", *(sys.argv[1:] if argv is None else argv)])
    result = asyncio.run(run(args.scale, max(10, args.samples), command, lambda m: print(m, flush=True),
                               database_url=args.database_url))
    section = render(result)
    print()
    print(section)
    if not args.no_write:
        print(f"updated {replace_section(args.doc, section, END)}")
    return 0
