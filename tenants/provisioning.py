"""Create, suspend, resume and delete tenants.

Creation applies the tenant head schema from the prepared DDL snapshot in the
caller's transaction (one round trip): it does not replay the migration
history, and a failed signup leaves no schema behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, text

from backend.db.base import EXTENSIONS_SCHEMA
from backend.db.database import DEFAULT_CLUSTER
from backend.db.uow import UnitOfWork
from backend.domains.company.models import CompanySettings
from backend.domains.identity.models import AuditEvent, Membership
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, NotFound
from tenants.alembic_trees import TENANT
from tenants.models import Tenant
from tenants.naming import quoted, schema_for, validate_slug
from tenants.registry import TenantRef, registry
from tenants.scope import SET_PATH, enter_tenant_schema
from tenants.snapshot import tenant_ddl


@dataclass(frozen=True, slots=True)
class NewTenant:
    slug: str
    name: str
    base_currency: str = "USD"
    locale: str = "en"
    plan: str = "starter"


async def slug_taken(uow: UnitOfWork, slug: str) -> bool:
    found = await uow.session.execute(select(Tenant.id).where(Tenant.slug == slug))
    return found.first() is not None


async def create_tenant(uow: UnitOfWork, spec: NewTenant, *, cluster: str = DEFAULT_CLUSTER) -> TenantRef:
    """Register the tenant and build its schema inside ``uow``'s transaction."""
    slug = validate_slug(spec.slug)
    if await slug_taken(uow, slug):
        raise Conflict("That company address is taken.", "slug_taken", [FieldError("slug", "already taken")])
    tenant_id = uuid.uuid4()
    schema = schema_for(tenant_id)
    revision = TENANT.head
    tenant = Tenant(id=tenant_id, slug=slug, name=spec.name, schema_name=schema, cluster=cluster,
                    status="active", schema_revision=revision, plan=spec.plan)
    uow.session.add(tenant)
    await uow.flush()  # unique violations surface here, before any DDL
    await uow.session.execute(text(f"CREATE SCHEMA {quoted(schema)}"))
    await enter_tenant_schema(uow, schema)
    raw = await (await uow.session.connection()).get_raw_connection()
    await raw.driver_connection.execute(tenant_ddl(revision))  # type: ignore[union-attr]
    uow.session.add(CompanySettings(id=1, name=spec.name, base_currency=spec.base_currency, locale=spec.locale))
    await uow.flush()
    await uow.session.execute(SET_PATH, {"path": EXTENSIONS_SCHEMA})
    uow.schema = None
    ref = TenantRef.of(tenant)
    uow.after_commit(_forget(ref))
    return ref


async def load(uow: UnitOfWork, slug: str) -> Tenant:
    tenant = (await uow.session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"No tenant '{slug}'.", "tenant_not_found")
    return tenant


async def set_status(uow: UnitOfWork, slug: str, status: str, actor: uuid.UUID | None = None) -> TenantRef:
    tenant = await load(uow, slug)
    tenant.status = status
    tenant.suspended_at = utcnow() if status == "suspended" else None
    uow.session.add(AuditEvent(tenant_id=tenant.id, actor_user_id=actor, action=f"tenant.{status}",
                               target_type="tenant", target_id=str(tenant.id)))
    await uow.flush()
    ref = TenantRef.of(tenant)
    uow.after_commit(_forget(ref))
    return ref


async def purge(uow: UnitOfWork, slug: str, actor: uuid.UUID | None = None) -> TenantRef:
    """Hard delete: drop the schema and every shared row of the tenant. Only a suspended tenant."""
    tenant = await load(uow, slug)
    if tenant.status != "suspended":
        raise Conflict("Suspend the tenant before purging it.", "tenant_not_suspended")
    ref = TenantRef.of(tenant)
    await uow.session.execute(text(f"DROP SCHEMA IF EXISTS {quoted(tenant.schema_name)} CASCADE"))
    await uow.session.execute(delete(Membership).where(Membership.tenant_id == tenant.id))
    await uow.session.execute(delete(Tenant).where(Tenant.id == tenant.id))
    uow.session.add(AuditEvent(tenant_id=ref.id, actor_user_id=actor, action="tenant.purged",
                               target_type="tenant", target_id=str(ref.id), details={"slug": ref.slug}))
    await uow.flush()
    uow.after_commit(_forget(ref))
    return ref


async def rename(uow: UnitOfWork, slug: str, name: str) -> None:
    """The registry row follows the company's name; cached copies are dropped after commit."""
    tenant = await load(uow, slug)
    tenant.name = name
    await uow.flush()
    uow.after_commit(_forget(TenantRef.of(tenant)))


def _forget(ref: TenantRef) -> Callable[[], Awaitable[None]]:
    async def forget() -> None:
        registry.invalidate(ref)

    return forget
