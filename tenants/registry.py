"""Tenant lookups (by id and slug), cached per process.

The registry maps each tenant to its schema and its database cluster. Entries
expire after a short TTL so that a suspension made by another process is seen
quickly; this process invalidates its own entries on every change.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.database import Database, get_database
from tenants.models import Tenant
from tenants.naming import SLUG_RE


@dataclass(frozen=True, slots=True)
class TenantRef:
    id: uuid.UUID
    slug: str
    name: str
    schema: str
    cluster: str
    status: str

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def of(cls, row: Tenant) -> TenantRef:
        return cls(row.id, row.slug, row.name, row.schema_name, row.cluster, row.status)


class TenantRegistry:
    def __init__(self, ttl_seconds: float = 30.0, max_entries: int = 20_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._by_slug: OrderedDict[str, tuple[float, TenantRef]] = OrderedDict()
        self._by_id: OrderedDict[uuid.UUID, tuple[float, TenantRef]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._generation = 0  # bumped by every invalidation

    def _remember(self, ref: TenantRef) -> TenantRef:
        expires = time.monotonic() + self.ttl
        for cache, key in ((self._by_slug, ref.slug), (self._by_id, ref.id)):
            cache[key] = (expires, ref)  # type: ignore[index]
            cache.move_to_end(key)  # type: ignore[arg-type]
            while len(cache) > self.max_entries:
                cache.popitem(last=False)
        return ref

    def _cached(self, cache: OrderedDict[object, tuple[float, TenantRef]], key: object) -> TenantRef | None:
        item = cache.get(key)
        if item is None:
            return None
        expires, ref = item
        if expires < time.monotonic():
            cache.pop(key, None)
            return None
        self.hits += 1
        return ref

    def invalidate(self, ref: TenantRef | None = None) -> None:
        self._generation += 1
        if ref is None:
            self._by_slug.clear()
            self._by_id.clear()
            return
        self._by_slug.pop(ref.slug, None)
        self._by_id.pop(ref.id, None)

    async def by_slug(self, slug: str, *, database: Database | None = None) -> TenantRef | None:
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
            return None  # never reaches SQL: path tricks and injection attempts are simply unknown
        cached = self._cached(self._by_slug, slug)  # type: ignore[arg-type]
        if cached is not None:
            return cached
        return await self._load(Tenant.slug == slug, database)

    async def by_id(self, tenant_id: uuid.UUID | str, *, database: Database | None = None) -> TenantRef | None:
        try:
            key = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
        except ValueError:
            return None
        cached = self._cached(self._by_id, key)  # type: ignore[arg-type]
        if cached is not None:
            return cached
        return await self._load(Tenant.id == key, database)

    async def _load(self, condition: object, database: Database | None) -> TenantRef | None:
        self.misses += 1
        generation = self._generation
        db = database or get_database()
        async with db.sessions()() as session:
            row = await load_tenant(session, condition)
        if row is None:
            return None
        if generation != self._generation:
            # An invalidation ran while this row was in flight: it may predate that change
            # (e.g. read just before a suspension committed), so it must not be cached.
            return row
        return self._remember(row)


async def load_tenant(session: AsyncSession, condition: object) -> TenantRef | None:
    result = await session.execute(select(Tenant).where(condition))  # type: ignore[arg-type]
    row = result.scalar_one_or_none()
    return TenantRef.of(row) if row is not None else None


registry = TenantRegistry()
