"""What the figures were measured on: CPU, RAM, OS, Python, PostgreSQL."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import asyncpg

PG_SETTINGS = ("server_version", "shared_buffers", "fsync", "synchronous_commit", "max_connections")


def _first_line_with(path: Path, prefix: str) -> str | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    return _first_line_with(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown"


def ram_gib() -> str:
    raw = _first_line_with(Path("/proc/meminfo"), "MemTotal")
    if not raw:
        return "unknown"
    kib = int(raw.split()[0])
    return f"{kib / 1024 / 1024:.1f} GiB"


def os_name() -> str:
    pretty = _first_line_with(Path("/etc/os-release"), "PRETTY_NAME=")
    return f"{(pretty or platform.system()).strip(chr(34))} (kernel {platform.release()})"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def physical_cores() -> str:
    import psutil

    return str(psutil.cpu_count(logical=False) or "?")


async def postgres_settings(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        found: dict[str, str] = {}
        for name in PG_SETTINGS:
            found[name] = str(await conn.fetchval(f"SHOW {name}"))
        return found
    finally:
        await conn.close()


async def describe(dsn: str, *, embedded: bool) -> dict[str, str]:
    pg = await postgres_settings(dsn)
    return {
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count() or '?'} logical, {physical_cores()} physical",
        "ram": ram_gib(),
        "os": os_name(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "postgresql": f"{pg['server_version']} ({'embedded, unix socket' if embedded else 'external server'}); "
        f"shared_buffers={pg['shared_buffers']}, fsync={pg['fsync']}, "
        f"synchronous_commit={pg['synchronous_commit']}, max_connections={pg['max_connections']}",
        "load_start": load_average(),
    }
