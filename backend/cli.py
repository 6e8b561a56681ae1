"""`tandem …`: run, worker, migrate, tenants."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from backend.config import Settings, get_settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = get_settings()
    changes: dict[str, object] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = Path(value) if name == "data_dir" else value
    return settings.with_overrides(**changes) if changes else settings


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem ERP + CRM")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the API and a worker (embedded Postgres/Redis when no URLs)")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--data-dir")
    run.add_argument("--no-worker", action="store_true")

    worker = sub.add_parser("worker", help="run an arq worker")
    worker.add_argument("--data-dir")

    migrate = sub.add_parser("migrate", help="shared schema, then every tenant schema (resumable)")
    migrate.add_argument("--data-dir")
    migrate.add_argument("--concurrency", type=int)
    migrate.add_argument("--no-progress", action="store_true")

    tenants = sub.add_parser("tenants", help="create, list, suspend, resume, export, import, delete")
    tenants.add_argument("--data-dir")
    tsub = tenants.add_subparsers(dest="action", required=True)
    create = tsub.add_parser("create")
    create.add_argument("slug")
    create.add_argument("--name")
    create.add_argument("--owner-email")
    create.add_argument("--owner-password", help="or TANDEM_OWNER_PASSWORD")
    listing = tsub.add_parser("list")
    listing.add_argument("--status", choices=["active", "suspended"])
    for action in ("suspend", "resume"):
        tsub.add_parser(action).add_argument("slug")
    export = tsub.add_parser("export")
    export.add_argument("slug")
    export.add_argument("--output", "-o", required=True)
    imp = tsub.add_parser("import")
    imp.add_argument("file")
    imp.add_argument("--slug", required=True, help="slug of the new tenant")
    imp.add_argument("--name")
    delete = tsub.add_parser("delete")
    delete.add_argument("slug")
    delete.add_argument("--purge", action="store_true", help="drop the schema and all data (after suspend)")

    seed = sub.add_parser("seed", help="fill a tenant with realistic CRM demo data")
    seed.add_argument("--tenant", required=True, help="tenant slug")
    seed.add_argument("--size", choices=["tiny", "small", "medium", "large"], default="small",
                      help="tiny/small/medium go through the services; large writes benchmark volumes in bulk "
                      "(1M contacts at --scale 1)")
    seed.add_argument("--scale", type=float, default=1.0, help="multiplier of the large volumes (0 < s <= 5)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    seed.add_argument("--force", action="store_true", help="add data even if the tenant already has accounts")
    seed.add_argument("--data-dir")

    args = parser.parse_args(argv)
    settings = _settings(args)
    if args.command == "run":
        from backend.runner import serve

        return serve(settings, with_worker=not args.no_worker)
    if args.command == "worker":
        from backend.bootstrap import start_services
        from workers.settings import run_worker

        services = start_services(settings)
        try:
            asyncio.run(run_worker(services.settings))
        finally:
            services.stop()
        return 0
    if args.command == "migrate":
        from backend.commands import migrate_command

        concurrency = args.concurrency or settings.migrate_concurrency
        return migrate_command(settings, concurrency=concurrency, progress=not args.no_progress)
    if args.command == "seed":
        from backend.commands import seed_command

        return seed_command(settings, args.tenant, size=args.size, seed=args.seed, force=args.force,
                            scale=args.scale)
    if args.command == "tenants":
        from backend.commands import tenants_command

        if getattr(args, "owner_password", None) is None and os.environ.get("TANDEM_OWNER_PASSWORD"):
            args.owner_password = os.environ["TANDEM_OWNER_PASSWORD"]
        return tenants_command(settings, args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
