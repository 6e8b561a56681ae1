"""`tandem run`: embedded services when needed, migrate, demo tenant, API + worker in one process tree."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import uvicorn

from backend import logs
from backend.bootstrap import persistent_secret, start_services
from backend.config import Settings
from backend.db.database import Database, set_database

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.tandem.localhost"
DEMO_PASSWORD = "tandem-demo-2026"  # noqa: S105 - printed on purpose: the local demo login


async def prepare(settings: Settings) -> None:
    """Migrate everything and make sure the demo tenant and its owner exist."""
    from backend.app import configure_passwords
    from backend.domains.identity import access, accounts
    from backend.domains.identity.roles import Role
    from tenants import provisioning
    from tenants.migrate import migrate_all
    from tenants.scope import shared_scope

    configure_passwords(settings)
    db = Database({"default": settings.database_url or ""}, pool_size=4, max_overflow=0)
    set_database(db)
    try:
        report = await migrate_all(db, concurrency=settings.migrate_concurrency)
        if not report.ok:
            raise SystemExit(f"migration failed for {len(report.failed)} schema(s); run `tandem migrate`")
        async with shared_scope() as uow:
            if not await provisioning.slug_taken(uow, DEMO_SLUG):
                tenant = await provisioning.create_tenant(uow, provisioning.NewTenant(DEMO_SLUG, "Demo Company"))
                user = await accounts.find_by_email(uow, DEMO_EMAIL)
                if user is None:
                    user = await accounts.register_user(uow, DEMO_EMAIL, DEMO_PASSWORD, "Demo Owner")
                await access.add_member(uow, tenant.id, user.id, Role.OWNER)
                demo = (tenant, user.id)
            else:
                demo = None
        if demo is not None:  # a first-time user sees a living CRM, not empty lists
            from backend.seeding import print_progress, seed_crm
            from tenants.scope import tenant_scope

            async with tenant_scope(demo[0]) as uow:
                seeded = await seed_crm(uow, demo[1], size="small", progress=print_progress)
            print(f"  demo data: {seeded.accounts} accounts, {seeded.contacts} contacts, {seeded.deals} deals, "
                  f"{seeded.interactions} interactions, {seeded.tasks} tasks", file=sys.stderr)
    finally:
        await db.dispose()
        set_database(None)


def _worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TANDEM_DATABASE_URL": settings.database_url or "", "TANDEM_REDIS_URL": settings.redis_url or "",
                "TANDEM_DATA_DIR": str(settings.data_dir), "TANDEM_PUBLIC_URL": settings.base_url})
    return env


def serve(settings: Settings, *, with_worker: bool = True) -> int:
    logs.configure(settings.log_level, settings.log_json)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = start_services(settings)
    settings = services.settings.with_overrides(public_url=settings.base_url,
                                                secret_key=settings.secret_key or persistent_secret(settings))
    worker: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(prepare(settings))
        if with_worker:
            worker = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "worker"], env=_worker_env(settings)
            )
        from backend.app import create_app

        embedded = f" (embedded: {', '.join(services.embedded)} in {settings.data_dir})" if services.embedded else ""
        banner = (
            f"\n  Tandem is running at {settings.base_url}{embedded}\n"
            f"  API reference: {settings.base_url}/api/docs   readiness: {settings.base_url}/readyz\n"
            f"  Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} (company '{DEMO_SLUG}')\n"
            "  Press Ctrl-C to stop.\n"
        )
        print(banner, file=sys.stderr, flush=True)
        config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                                log_config=None, access_log=False, lifespan="on")
        uvicorn.Server(config).run()
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
        services.stop()
