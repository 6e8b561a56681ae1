"""Command line of the benchmark."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from pathlib import Path

from tests.perf.model import QUICK_SIZES, BenchOptions, BenchTimeout
from tests.perf.report import DOC, render, write
from tests.perf.runner import run_benchmark


def _sizes(raw: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part.replace("_", "")) for part in raw.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes wants comma-separated integers, got {raw!r}") from None
    if not sizes or min(sizes) < 0 or max(sizes) > 100_000:
        raise argparse.ArgumentTypeError("--sizes must be between 0 and 100000")
    return sizes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tests.perf",
        description="Tandem benchmarks: time to a usable tenant, no-op migrate, API memory, provisioning design. "
        f"Prints a Markdown report and updates {DOC.name} (see its header).",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 0/50/200 tenants, few samples")
    p.add_argument("--sizes", type=_sizes,
                   help="tenants already present when signups are measured (default 0,1000,5000)")
    p.add_argument("--signups", type=int, help="measured signups per size (default 30, quick 10)")
    p.add_argument("--warmup", type=int, default=3, help="unmeasured signups after the server starts (removed again)")
    p.add_argument("--fleet", type=int,
                   help="tenants for the no-op migrate and memory phases (default 1000, quick 200)")
    p.add_argument("--provision-samples", type=int, help="samples per provisioning path (default 30, quick 5)")
    p.add_argument("--migrate-repeats", type=int, help="in-process no-op migrate runs (default 3, quick 1)")
    p.add_argument("--concurrency", type=int, default=8, help="migrate concurrency (Settings default 8)")
    p.add_argument("--batch", type=int, default=0, help="background tenants per bulk transaction (0 = auto)")
    p.add_argument("--no-cli", action="store_true", help="skip the `tandem migrate` subprocess")
    p.add_argument("--no-memory", action="store_true", help="skip the memory phase")
    p.add_argument("--max-minutes", type=float, help="time budget for the whole run (default 90, quick 10)")
    p.add_argument("--note", action="append", default=[], help="a note to keep with the figures (repeatable)")
    p.add_argument("--no-write", action="store_true", help=f"print only; do not update {DOC.name}")
    p.add_argument("--doc", type=Path, default=DOC, help="the Markdown file to update")
    return p


def options_from(args: argparse.Namespace) -> BenchOptions:
    quick: bool = args.quick

    def pick(value: int | None, full: int, small: int) -> int:
        return max(0, value) if value is not None else (small if quick else full)

    return BenchOptions(
        sizes=args.sizes or (QUICK_SIZES if quick else BenchOptions().sizes),
        signups=pick(args.signups, 30, 10), warmup=max(0, args.warmup), fleet=pick(args.fleet, 1_000, 200),
        provision_samples=pick(args.provision_samples, 30, 5), migrate_repeats=pick(args.migrate_repeats, 3, 1),
        migrate_concurrency=max(1, args.concurrency), cli_migrate=not args.no_cli, memory=not args.no_memory,
        quick=quick, max_seconds=60 * (args.max_minutes or (10 if quick else 90)), batch=max(0, args.batch),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = options_from(args)
    command = shlex.join([".venv/bin/python", "-m", "tests.perf", *(sys.argv[1:] if argv is None else argv)])
    try:
        result = asyncio.run(run_benchmark(options, command=command, say=lambda m: print(m, flush=True)))
    except BenchTimeout as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 2
    result.notes.extend(args.note)
    print()
    print(render(result))
    if not args.no_write:
        print(f"updated {write(result, args.doc)}")
    return 0
