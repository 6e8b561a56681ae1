"""Background tenants, fast: a bulk path that mirrors ``provisioning.create_tenant``.

Each batch is one transaction on one asyncpg connection: COPY the shared rows
(tenant, owner user, owner membership, access token), then one multi-statement
script that creates every schema from the same head DDL snapshot provisioning
uses (``tenants.snapshot.tenant_ddl``) and inserts its company settings row.
The schemas are therefore at head, exactly as a signup leaves them.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from argon2 import PasswordHasher

from backend.config import Settings
from backend.domains.identity.accounts import ACCESS_PREFIX
from backend.domains.identity.roles import Role
from backend.kit.secrets import new_token, token_digest
from tenants.alembic_trees import TENANT
from tenants.naming import quoted, schema_for, search_path_for
from tenants.snapshot import tenant_ddl
from tests.perf.model import Deadline

SHARED = "shared"
MAX_LOCKS_PER_BATCH = 1_500  # each created relation holds a lock until commit


@dataclass(frozen=True, slots=True)
class Account:
    """A tenant whose owner token the benchmark knows."""

    slug: str
    token: str


@dataclass
class Fleet:
    """The tenants the benchmark created (bulk or by signup) and their owners' tokens."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    accounts: list[Account] = field(default_factory=list)
    created: int = 0
    seconds: float = 0.0
    _password_hash: str | None = None
    _counter: int = 0

    @property
    def ms_per_tenant(self) -> float:
        return 1000 * self.seconds / self.created if self.created else float("nan")

    def next_slug(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}-{self.tag}-{self._counter:06d}"

    def password_hash(self) -> str:
        if self._password_hash is None:  # one real argon2id hash at production cost, shared by bulk owners
            s = Settings()
            hasher = PasswordHasher(memory_cost=s.argon2_memory_kib, time_cost=s.argon2_time_cost,
                                    parallelism=s.argon2_parallelism)
            self._password_hash = hasher.hash(uuid.uuid4().hex)
        return self._password_hash


def schema_script(schema: str, company: str) -> str:
    """CREATE SCHEMA + head DDL + settings row, with the search path set transaction-locally."""
    path = search_path_for(schema).replace("'", "''")
    return (
        f"CREATE SCHEMA {quoted(schema)};\n"
        f"SELECT set_config('search_path', '{path}', true);\n"
        f"{tenant_ddl(TENANT.head)}"
        f"INSERT INTO company_settings (id, name) VALUES (1, '{company}');\n"
        "SELECT set_config('search_path', 'ext', true);\n"
    )


def default_batch() -> int:
    statements = max(1, tenant_ddl(TENANT.head).count(";\n"))
    return max(1, min(100, MAX_LOCKS_PER_BATCH // statements))


async def count_tenants(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM shared.tenants"))


async def _create_batch(conn: asyncpg.Connection, fleet: Fleet, size: int) -> list[Account]:
    now = datetime.now(UTC)
    tenants, users, members, tokens, scripts, made = [], [], [], [], [], []
    for _ in range(size):
        slug = fleet.next_slug("bulk")
        tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
        schema = schema_for(tenant_id)
        company = f"Bulk {slug}"
        token = new_token(ACCESS_PREFIX)
        tenants.append((tenant_id, slug, company, schema, "default", "active", TENANT.head))
        users.append((user_id, f"owner@{slug}.perf.example.com", fleet.password_hash(), f"Owner {slug}"))
        members.append((uuid.uuid4(), tenant_id, user_id, Role.OWNER.value))
        tokens.append((uuid.uuid4(), user_id, token_digest(token), now + timedelta(days=1)))
        scripts.append(schema_script(schema, company))
        made.append(Account(slug, token))
    async with conn.transaction():
        await conn.copy_records_to_table("tenants", schema_name=SHARED, records=tenants, columns=[
            "id", "slug", "name", "schema_name", "cluster", "status", "schema_revision"])
        await conn.copy_records_to_table("users", schema_name=SHARED, records=users,
                                         columns=["id", "email", "password_hash", "full_name"])
        await conn.copy_records_to_table("memberships", schema_name=SHARED, records=members,
                                         columns=["id", "tenant_id", "user_id", "role"])
        await conn.copy_records_to_table("access_tokens", schema_name=SHARED, records=tokens,
                                         columns=["id", "user_id", "token_hash", "expires_at"])
        await conn.execute("".join(scripts))
    return made


async def top_up(
    conn: asyncpg.Connection, fleet: Fleet, target: int, deadline: Deadline, *, batch: int = 0,
    say: Callable[[str], None] = print,
) -> int:
    """Create bulk tenants until ``shared.tenants`` holds ``target``; returns the count present."""
    present = await count_tenants(conn)
    missing = target - present
    if missing <= 0:
        return present
    batch = batch or default_batch()
    started = time.perf_counter()
    done = 0
    report_every = max(batch, missing // 10)
    next_report = report_every
    for _ in range(-(-missing // batch)):  # bounded: one iteration per batch
        deadline.check("creating background tenants")
        size = min(batch, missing - done)
        fleet.accounts.extend(await _create_batch(conn, fleet, size))
        done += size
        if done >= next_report or done == missing:
            next_report += report_every
            elapsed = time.perf_counter() - started
            eta = elapsed / done * (missing - done)
            say(f"  background tenants: {present + done:>6}/{target}  "
                f"({1000 * elapsed / done:.1f} ms/tenant, eta {eta:.0f} s)")
    fleet.created += done
    fleet.seconds += time.perf_counter() - started
    return await count_tenants(conn)


async def settle(conn: asyncpg.Connection) -> None:
    """What a production database would have done by itself: fresh planner stats, a checkpoint."""
    await conn.execute("ANALYZE shared.tenants, shared.users, shared.memberships, shared.access_tokens")
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("CHECKPOINT")


async def remove(conn: asyncpg.Connection, slugs: list[str], emails: list[str]) -> None:
    """Drop tenants created only to warm the server up (so '0 tenants present' means zero)."""
    async with conn.transaction():
        rows = await conn.fetch("SELECT id, schema_name FROM shared.tenants WHERE slug = ANY($1::text[])", slugs)
        for row in rows:
            await conn.execute(f"DROP SCHEMA IF EXISTS {quoted(row['schema_name'])} CASCADE")
        ids = [row["id"] for row in rows]
        await conn.execute("DELETE FROM shared.audit_events WHERE tenant_id = ANY($1::uuid[])", ids)
        await conn.execute("DELETE FROM shared.tenants WHERE id = ANY($1::uuid[])", ids)
        await conn.execute("DELETE FROM shared.users WHERE email = ANY($1::text[])", emails)
