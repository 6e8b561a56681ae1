"""Time to a usable tenant: POST /api/v1/signup, then the first authenticated GET /api/v1/t/{slug}/."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import httpx
from argon2 import PasswordHasher

from backend.config import Settings
from tests.perf.fleet import Account, Fleet
from tests.perf.model import Deadline, SignupFigures, Stats

PASSWORD = "Perf-Horse-Battery-Staple-7"
REQUEST_TIMEOUT = 30.0


class SignupFailed(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Timing:
    signup_ms: float
    first_request_ms: float

    @property
    def total_ms(self) -> float:
        return self.signup_ms + self.first_request_ms


def argon2_hash_ms(samples: int = 5) -> float:
    """Median cost of one production argon2id hash on this machine (the CPU-bound part of a signup)."""
    s = Settings()
    hasher = PasswordHasher(memory_cost=s.argon2_memory_kib, time_cost=s.argon2_time_cost,
                            parallelism=s.argon2_parallelism)
    timings: list[float] = []
    for _ in range(max(1, samples)):
        started = time.perf_counter()
        hasher.hash(PASSWORD)
        timings.append(1000 * (time.perf_counter() - started))
    return statistics.median(timings)


def email_of(slug: str) -> str:
    return f"owner@{slug}.signup.perf.example.com"


async def sign_up_once(client: httpx.AsyncClient, slug: str) -> tuple[Account, Timing]:
    body = {"company_name": f"Perf {slug}", "email": email_of(slug), "password": PASSWORD, "slug": slug,
            "full_name": "Perf Owner"}
    t0 = time.perf_counter()
    created = await client.post("/api/v1/signup", json=body)
    t1 = time.perf_counter()
    if created.status_code != 201:
        raise SignupFailed(f"signup {slug}: HTTP {created.status_code} {created.text[:300]}")
    token = created.json()["access_token"]
    first = await client.get(f"/api/v1/t/{slug}/", headers={"Authorization": f"Bearer {token}"})
    t2 = time.perf_counter()
    if first.status_code != 200 or first.json().get("slug") != slug:
        raise SignupFailed(f"first request {slug}: HTTP {first.status_code} {first.text[:300]}")
    return Account(slug, token), Timing(1000 * (t1 - t0), 1000 * (t2 - t1))


def new_client(base_url: str) -> httpx.AsyncClient:
    # One keep-alive client, like a browser tab: the first request reuses the signup's connection.
    return httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT)


async def warm_up(client: httpx.AsyncClient, fleet: Fleet, count: int, deadline: Deadline) -> list[str]:
    """Unmeasured signups right after the server starts (pools, caches); returns their slugs."""
    slugs: list[str] = []
    for _ in range(count):
        deadline.check("warm-up signups")
        slug = fleet.next_slug("warm")
        await sign_up_once(client, slug)
        slugs.append(slug)
    return slugs


async def measure(
    client: httpx.AsyncClient, fleet: Fleet, count: int, present: int, deadline: Deadline
) -> SignupFigures:
    timings: list[Timing] = []
    for _ in range(count):  # sequential: latency of one signup, not throughput
        deadline.check(f"signups at {present} tenants")
        account, timing = await sign_up_once(client, fleet.next_slug("sign"))
        fleet.accounts.append(account)
        timings.append(timing)
    return SignupFigures(
        tenants_present=present,
        total_ms=Stats.of([t.total_ms for t in timings]),
        signup_ms=Stats.of([t.signup_ms for t in timings]),
        first_request_ms=Stats.of([t.first_request_ms for t in timings]),
    )
