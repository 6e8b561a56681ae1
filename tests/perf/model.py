"""Options, figures and small helpers shared by the benchmark phases."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FULL_SIZES = (0, 1_000, 5_000)
QUICK_SIZES = (0, 50, 200)
SIGNUP_GOAL_MS = 150.0
MIGRATE_GOAL_MS_PER_SCHEMA = 50.0


class BenchTimeout(RuntimeError):
    """The run exceeded its time budget."""


@dataclass
class Deadline:
    """A wall-clock budget for the whole run; every loop checks it."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check(self, what: str) -> None:
        if self.remaining <= 0:
            raise BenchTimeout(f"time budget of {self.seconds:.0f} s exhausted during {what}")


@dataclass(frozen=True)
class BenchOptions:
    sizes: tuple[int, ...] = FULL_SIZES
    signups: int = 30  # measured signups per size
    warmup: int = 3  # unmeasured signups right after the API server starts (removed again)
    fleet: int = 1_000  # tenants for the no-op migrate and the memory phases
    provision_samples: int = 30  # per path (snapshot DDL vs pool rename)
    migrate_repeats: int = 3
    migrate_concurrency: int = 8
    cli_migrate: bool = True
    memory: bool = True
    quick: bool = False
    max_seconds: float = 3_600.0
    batch: int = 0  # tenants per bulk transaction; 0 = derived from the DDL size

    def checkpoints(self) -> list[int]:
        return sorted({*self.sizes, *([self.fleet] if self.fleet > 0 else [])})


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    p95: float
    min: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        ordered = sorted(samples)
        rank = max(0, math.ceil(0.95 * len(ordered)) - 1)  # nearest-rank p95
        return cls(len(ordered), statistics.median(ordered), ordered[rank], ordered[0], ordered[-1])


@dataclass(frozen=True)
class SignupFigures:
    tenants_present: int  # counted in shared.tenants right before the measured signups
    total_ms: Stats  # POST /signup + first authenticated GET /t/{slug}/
    signup_ms: Stats
    first_request_ms: Stats


@dataclass(frozen=True)
class MigrateFigures:
    schemas: int
    upgraded: int
    failed: int
    api_runs_s: list[float]  # migrate_all wall seconds per repeat
    tenants_only_s: float  # migrate_tenants alone (no shared tree)
    cli_wall_s: float | None  # `python -m backend.cli migrate --no-progress`, whole process
    cli_reported_s: float | None  # the seconds the CLI itself prints for the tenant pass

    @property
    def ms_per_schema(self) -> float:
        return 1000 * statistics.median(self.api_runs_s) / max(1, self.schemas)

    @property
    def cli_ms_per_schema(self) -> float | None:
        return None if self.cli_wall_s is None else 1000 * self.cli_wall_s / max(1, self.schemas)


@dataclass(frozen=True)
class MemoryFigures:
    tenants_touched: int
    rss_start_mib: float  # right after startup (readyz answered)
    rss_before_mib: float  # after one warm-up request
    rss_after_mib: float  # after one authenticated request per distinct tenant
    request_ms: Stats

    @property
    def kib_per_tenant(self) -> float:
        return 1024 * (self.rss_after_mib - self.rss_before_mib) / max(1, self.tenants_touched)


@dataclass(frozen=True)
class ProvisionFigures:
    tenants_present: int
    snapshot_ms: Stats  # create_tenant (head DDL snapshot) in one shared_scope transaction, commit included
    pool_ms: Stats  # claim a pre-created schema + ALTER SCHEMA … RENAME, same transaction shape
    pool_prepare_ms_per_schema: float  # cost of filling the pool ahead of time (not on the signup path)


@dataclass
class BenchResult:
    options: BenchOptions
    machine: dict[str, str]
    started_utc: str
    command: str
    bulk_ms_per_tenant: float = math.nan
    argon2_ms: float = math.nan  # one production argon2id hash, measured in the benchmark process
    signups: list[SignupFigures] = field(default_factory=list)
    migrate: MigrateFigures | None = None
    memory: MemoryFigures | None = None
    provision: ProvisionFigures | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
