"""Implementations behind `tandem migrate` and `tandem tenants …` (CLI composition root)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from backend.bootstrap import start_services
from backend.config import Settings
from backend.db.database import Database, set_database


def _run(settings: Settings, body: Callable[[Database, Settings], Awaitable[int]], pool: int = 4) -> int:
    from backend.app import configure_passwords

    configure_passwords(settings)
    services = start_services(settings, need_redis=False)
    try:
        async def go() -> int:
            db = Database({"default": services.settings.database_url or ""}, pool_size=pool, max_overflow=0)
            set_database(db)
            try:
                return await body(db, services.settings)
            finally:
                await db.dispose()

        return asyncio.run(go())
    finally:
        services.stop()


def _progress_factory(enabled: bool) -> Callable[[int], Callable[[str, bool], None]] | None:
    if not enabled:
        return None

    def factory(total: int) -> Callable[[str, bool], None]:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="schema", desc="tenant schemas", file=sys.stderr, dynamic_ncols=True)

        def tick(_schema: str, ok: bool) -> None:
            bar.update(1)
            if not ok:
                bar.set_postfix_str("failures!")
            if bar.n >= total:
                bar.close()

        return tick

    return factory


def installation_secret(settings: Settings) -> str:
    """TANDEM_SECRET_KEY, else the key `tandem run` keeps in the data dir (signs exports)."""
    from backend.bootstrap import persistent_secret

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.secret_key or persistent_secret(settings)


def migrate_command(settings: Settings, *, concurrency: int, progress: bool) -> int:
    from tenants.migrate import migrate_all

    async def body(db: Database, _: Settings) -> int:
        report = await migrate_all(db, concurrency=concurrency, progress_factory=_progress_factory(progress))
        print(f"shared: {report.shared_before or '<empty>'} -> {report.shared_after}")
        print(f"tenants: {report.total} total, {report.up_to_date} already at {report.tenant_head}, "
              f"{len(report.upgraded)} upgraded, {len(report.failed)} failed in {report.seconds:.2f}s")
        for schema, error in sorted(report.failed.items()):
            print(f"  FAILED {schema}: {error}", file=sys.stderr)
        if report.failed:
            print("Fix the cause and run `tandem migrate` again: finished schemas are skipped.", file=sys.stderr)
        return 0 if report.ok else 1

    return _run(settings, body, pool=concurrency + 1)


def tenants_command(settings: Settings, args: argparse.Namespace) -> int:
    from backend.kit.errors import DomainError
    from tenants.transfer import TransferError

    async def body(db: Database, s: Settings) -> int:
        try:
            return await _tenants(args, s)
        except DomainError as exc:
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
            print(f"error: {exc.detail}{' (' + reasons + ')' if reasons else ''}", file=sys.stderr)
            return 1
        except TransferError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return _run(settings, body)


async def _tenants(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from tenants import provisioning, transfer
    from tenants.models import Tenant
    from tenants.scope import shared_scope

    action: str = args.action
    if action == "create":
        from backend.domains.identity import access, accounts
        from backend.domains.identity.roles import Role
        from backend.kit.errors import FieldError, Invalid

        async with shared_scope() as uow:
            ref = await provisioning.create_tenant(
                uow, provisioning.NewTenant(slug=args.slug, name=args.name or args.slug)
            )
            if args.owner_email:
                user = await accounts.find_by_email(uow, accounts.normalize_email(args.owner_email))
                if user is None:
                    if not args.owner_password:  # raising rolls the new tenant back too
                        raise Invalid("A new owner needs a password.", [
                            FieldError("owner_password", "give --owner-password or set TANDEM_OWNER_PASSWORD")
                        ])
                    user = await accounts.register_user(uow, args.owner_email, args.owner_password)
                await access.add_member(uow, ref.id, user.id, Role.OWNER)
        print(f"created tenant {ref.slug} ({ref.id}) in schema {ref.schema}")
        return 0
    if action == "list":
        async with shared_scope() as uow:
            query = select(Tenant).order_by(Tenant.created_at)
            if args.status:
                query = query.where(Tenant.status == args.status)
            rows: list[Any] = list((await uow.session.execute(query)).scalars())
        print(f"{'slug':<30} {'status':<10} {'revision':<10} {'cluster':<10} name")
        for t in rows:
            print(f"{t.slug:<30} {t.status:<10} {t.schema_revision or '-':<10} {t.cluster:<10} {t.name}")
        print(f"{len(rows)} tenant(s)")
        return 0
    if action in {"suspend", "resume"}:
        async with shared_scope() as uow:
            ref = await provisioning.set_status(uow, args.slug, "suspended" if action == "suspend" else "active")
        print(f"{ref.slug}: {ref.status}")
        return 0
    if action == "delete":
        async with shared_scope() as uow:
            if args.purge:
                ref = await provisioning.purge(uow, args.slug)
                print(f"{ref.slug}: purged (schema {ref.schema} dropped)")
            else:
                ref = await provisioning.set_status(uow, args.slug, "suspended")
                print(f"{ref.slug}: suspended (soft delete); `tandem tenants delete {ref.slug} --purge` erases it")
        return 0
    if action == "export":
        path = await transfer.export_tenant(settings.database_url or "", args.slug, args.output,
                                            secret=installation_secret(settings))
        print(f"exported {args.slug} to {path}")
        return 0
    if action == "import":
        ref = await transfer.import_tenant(settings.database_url or "", args.file, slug=args.slug, name=args.name,
                                           secret=installation_secret(settings))
        print(f"imported as {ref.slug} ({ref.id}) in schema {ref.schema}")
        return 0
    raise SystemExit(f"unknown action {action}")


def seed_command(settings: Settings, slug: str, *, size: str, seed: int, force: bool, scale: float = 1.0) -> int:
    async def body(db: Database, _: Settings) -> int:
        from backend.domains.crm.pipelines import ensure_default
        from backend.seeding import existing_accounts, print_progress, seed_crm
        from tenants.registry import registry
        from tenants.scope import tenant_scope

        tenant = await registry.by_slug(slug)
        if tenant is None:
            print(f"error: no tenant '{slug}'", file=sys.stderr)
            return 1
        owner = await first_owner(tenant.id)
        if owner is None:
            print(f"error: tenant '{slug}' has no owner to attribute the data to", file=sys.stderr)
            return 1
        async with tenant_scope(tenant) as uow:
            present = await existing_accounts(uow)
            if present and not force:
                print(f"{slug} already has {present} accounts; use --force to add more", file=sys.stderr)
                return 1
            if size == "large":
                pipeline = await ensure_default(uow)
        if size == "large":
            return await _seed_large(tenant, slug, pipeline.id, seed, scale)
        async with tenant_scope(tenant) as uow:
            report = await seed_crm(uow, owner, size=size, seed=seed, progress=print_progress)
        print(f"seeded {slug}: {report.accounts} accounts, {report.legal_entities} legal entities, "
              f"{report.contacts} contacts, {report.deals} deals ({report.won} won, {report.lost} lost), "
              f"{report.interactions} interactions, {report.tasks} tasks")
        return 0

    return _run(settings, body)


async def _seed_large(tenant: Any, slug: str, pipeline_id: Any, seed: int, scale: float) -> int:
    from backend.seeding import print_progress
    from backend.seeding_bulk import Plan, seed_bulk, seeded_with
    from tenants.scope import tenant_scope

    members = await member_ids(tenant.id)
    try:
        plan = Plan.at_scale(scale, seed, tuple(members))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    async with tenant_scope(tenant) as uow:
        if await seeded_with(uow, seed):
            print(f"error: {slug} was already seeded in bulk with --seed {seed}; pick another seed",
                  file=sys.stderr)
            return 1
    print(f"seeding {slug} at scale {scale}: {plan.accounts:,} accounts, {plan.contacts:,} contacts, "
          f"{plan.deals:,} deals, up to {plan.interactions:,} interactions, owned by {len(members)} members",
          file=sys.stderr, flush=True)
    report = await seed_bulk(lambda: tenant_scope(tenant), plan, pipeline_id, print_progress)
    print(f"seeded {slug}: " + ", ".join(f"{n:,} {table} ({report.seconds[table]} s)"
                                         for table, n in report.counts.items()))
    return 0


async def member_ids(tenant_id: Any) -> list[Any]:
    """Members who can own CRM records (owner, admin, manager, rep), oldest first."""
    from sqlalchemy import select

    from backend.domains.identity.models import Membership
    from tenants.scope import shared_scope

    async with shared_scope() as uow:
        query = (select(Membership.user_id).where(Membership.tenant_id == tenant_id,
                                                  Membership.role.in_(("owner", "admin", "manager", "rep")))
                 .order_by(Membership.created_at, Membership.user_id))
        return list((await uow.session.execute(query)).scalars())


async def first_owner(tenant_id: Any) -> Any:
    from sqlalchemy import select

    from backend.domains.identity.models import Membership
    from tenants.scope import shared_scope

    async with shared_scope() as uow:
        query = (select(Membership.user_id).where(Membership.tenant_id == tenant_id, Membership.role == "owner")
                 .order_by(Membership.created_at).limit(1))
        return (await uow.session.execute(query)).scalar_one_or_none()
