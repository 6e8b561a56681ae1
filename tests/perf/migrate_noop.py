"""`tandem migrate` when every schema is already at head: in process, and the real CLI as a subprocess."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path

from backend.db.database import Database
from tests.perf.model import REPO_ROOT, Deadline, MigrateFigures

CLI_TIMEOUT = 900.0
REPORTED = re.compile(r"tenants: (\d+) total, (\d+) already at \S+, (\d+) upgraded, (\d+) failed in ([0-9.]+)s")


class MigrateFailed(RuntimeError):
    pass


async def run_cli(database_url: str, workdir: Path, concurrency: int) -> tuple[float, float | None, str]:
    """Wall seconds of `python -m backend.cli migrate --no-progress`, the seconds it reports, its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update({"TANDEM_DATABASE_URL": database_url, "TANDEM_DATA_DIR": str(workdir / "cli-data"),
                "TANDEM_MIGRATE_CONCURRENCY": str(concurrency), "TANDEM_LOG_LEVEL": "WARNING"})
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backend.cli", "migrate", "--no-progress",
        env=env, cwd=str(REPO_ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise MigrateFailed(f"`tandem migrate` did not finish within {CLI_TIMEOUT:.0f} s") from None
    wall = time.perf_counter() - started
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise MigrateFailed(f"`tandem migrate` exited {proc.returncode}:\n{text[-2000:]}")
    found = REPORTED.search(text)
    return wall, (float(found.group(5)) if found else None), text


async def measure(
    db: Database, database_url: str, workdir: Path, deadline: Deadline, *, repeats: int, concurrency: int,
    cli: bool,
) -> MigrateFigures:
    from tenants.migrate import migrate_all, migrate_tenants

    runs: list[float] = []
    schemas = upgraded = failed = 0
    for _ in range(max(1, repeats)):
        deadline.check("no-op migrate")
        started = time.perf_counter()
        report = await migrate_all(db, concurrency=concurrency)
        runs.append(time.perf_counter() - started)
        schemas, failed = report.total, len(report.failed)
        upgraded = max(upgraded, len(report.upgraded))
        if failed:
            raise MigrateFailed(f"migrate_all failed for {failed} schema(s): {list(report.failed.items())[:3]}")
    deadline.check("no-op migrate (tenants only)")
    started = time.perf_counter()
    await migrate_tenants(db, concurrency=concurrency)
    tenants_only = time.perf_counter() - started
    cli_wall: float | None = None
    cli_reported: float | None = None
    if cli:
        deadline.check("no-op migrate (CLI)")
        cli_wall, cli_reported, _ = await run_cli(database_url, workdir, concurrency)
    return MigrateFigures(schemas=schemas, upgraded=upgraded, failed=failed, api_runs_s=runs,
                          tenants_only_s=tenants_only, cli_wall_s=cli_wall, cli_reported_s=cli_reported)
