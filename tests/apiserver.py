"""The API in its own process: uvicorn on 127.0.0.1, configured only through TANDEM_* variables.

``backend.app:app_from_env`` reads ``Settings.from_env()``, which never overrides
the argon2 parameters: the server hashes passwords at production cost.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, redis_url: str, data_dir: Path, port: int,
               extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update({
        "TANDEM_DATABASE_URL": database_url, "TANDEM_REDIS_URL": redis_url, "TANDEM_DATA_DIR": str(data_dir),
        "TANDEM_HOST": "127.0.0.1", "TANDEM_PORT": str(port), "TANDEM_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TANDEM_LOG_JSON": "true",
    })
    env.update(extra or {})
    return env


@dataclass
class ApiServer:
    """``python -m uvicorn --factory backend.app:app_from_env`` as a child process (no worker)."""

    database_url: str
    redis_url: str
    workdir: Path
    name: str = "api"
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    _proc: asyncio.subprocess.Process | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")  # closed in stop()
        args = [sys.executable, "-m", "uvicorn", "--factory", "backend.app:app_from_env", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-access-log", "--log-level", "warning", "--lifespan", "on"]
        self._proc = await asyncio.create_subprocess_exec(
            *args, env=server_env(self.database_url, self.redis_url, self.workdir, self.port, self.extra_env),
            cwd=str(REPO_ROOT), stdout=self._log, stderr=self._log,
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            for _ in range(int(STARTUP_SECONDS / 0.05)):  # bounded in count and by the deadline
                if self._proc is not None and self._proc.returncode is not None:
                    break
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        await self.stop()
        raise RuntimeError(f"API server {self.name} did not become ready; log tail:\n{tail}")

    def rss_mib(self) -> float:
        proc = psutil.Process(self.pid)
        total: int = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        return total / 1024 / 1024

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_SECONDS)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
