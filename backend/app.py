"""create_app(): the one HTTP composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from backend import logs
from backend.api.auth import AuthController
from backend.api.crm_accounts import AccountController
from backend.api.crm_audit import AuditController
from backend.api.crm_contacts import ContactController
from backend.api.crm_custom_fields import CustomFieldController
from backend.api.crm_deals import DealController, PipelineController
from backend.api.crm_export import ExportController
from backend.api.crm_imports import ImportController
from backend.api.crm_interactions import InteractionController
from backend.api.crm_legal_entities import LegalEntityController
from backend.api.crm_marketing_events import MarketingEventController
from backend.api.crm_merge import MergeController
from backend.api.crm_privacy import PrivacyController
from backend.api.crm_reports import ReportController
from backend.api.crm_search import SearchController
from backend.api.crm_segments import SegmentController
from backend.api.crm_tasks import TaskController
from backend.api.crm_timeline import TimelineController
from backend.api.docs import ReferenceRenderPlugin
from backend.api.health import healthz, readyz
from backend.api.middleware import add_request_id_header, request_id_middleware
from backend.api.tenant_admin import TenantAdminController
from backend.config import Settings, get_settings
from backend.db.database import Database, current_database, set_database
from backend.domains.identity import passwords
from backend.errors import exception_handlers
from backend.kit.jobs import current_job_sender, set_job_sender
from backend.kit.ratelimit import Limiter, LoginThrottle
from backend.queue import arq_sender, connect
from tenants.registry import registry
from web.pages.account import AccountPages
from web.pages.crm_accounts import AccountPages as CrmAccountPages
from web.pages.crm_activity import AccountActivityPages
from web.pages.crm_contacts import ContactPages
from web.pages.crm_custom_fields import CustomFieldPages
from web.pages.crm_deals import DealPages
from web.pages.crm_export import ExportPages
from web.pages.crm_import import ImportPages
from web.pages.crm_marketing import MarketingEventPages
from web.pages.crm_pipelines import PipelinePages
from web.pages.crm_privacy import ContactPrivacyPages
from web.pages.crm_reports import ReportPages
from web.pages.crm_segments import SegmentPages
from web.pages.crm_tasks import TaskPages
from web.pages.keys import ApiKeyPages
from web.pages.password import PasswordPages
from web.pages.public import PublicPages
from web.pages.settings import SettingsPages
from web.pages.tenant import TenantPages
from web.session import CSRF_COOKIE
from web.templating import static_router, template_config


def configure_passwords(settings: Settings) -> None:
    passwords.configure(passwords.PasswordPolicy(settings.argon2_memory_kib, settings.argon2_time_cost,
                                                 settings.argon2_parallelism))


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Litestar:
    settings = settings or get_settings()
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("create_app needs database_url and redis_url (tandem run provides embedded ones)")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owns_db = database is None
        previous_db, previous_sender = current_database(), current_job_sender()
        db = database or Database({"default": settings.database_url or ""}, pool_size=settings.db_pool_size,
                                  max_overflow=settings.db_max_overflow)
        set_database(db)
        redis = aioredis.from_url(settings.redis_url or "")  # type: ignore[no-untyped-call]
        queue = await connect(settings.redis_url or "", settings.queue_name)
        set_job_sender(arq_sender(queue, settings.queue_name))
        app.state.redis = redis
        app.state.signup_limit = Limiter(redis, "signup:ip", settings.signups_per_ip_per_hour, 3600,
                                         "Too many new companies from your network. Try again later.")
        app.state.reset_limit = Limiter(redis, "reset:ip", settings.reset_requests_per_ip_per_hour, 3600,
                                        "Too many password reset requests. Try again later.")
        app.state.throttle = LoginThrottle(redis, settings.login_max_failures_per_account,
                                           settings.login_max_failures_per_ip, settings.login_window_seconds)
        try:
            yield
        finally:
            await queue.aclose()
            await redis.aclose()
            if owns_db:
                await db.dispose()
            set_database(previous_db)
            set_job_sender(previous_sender)

    configure_passwords(settings)
    registry.ttl = settings.registry_cache_ttl_seconds
    app = Litestar(
        route_handlers=[
            AuthController, TenantAdminController, AccountController, LegalEntityController, ContactController,
            PipelineController, DealController, AuditController, SearchController, CustomFieldController,
            MarketingEventController, MergeController, ImportController, ExportController, InteractionController,
            TaskController, TimelineController, SegmentController, PrivacyController,
            ReportController,
            healthz, readyz,
            PublicPages, TenantPages, AccountPages, PasswordPages, ApiKeyPages, SettingsPages, CrmAccountPages,
            DealPages, ContactPages, ImportPages, ExportPages, AccountActivityPages, TaskPages, SegmentPages,
            ContactPrivacyPages, ReportPages, PipelinePages, CustomFieldPages, MarketingEventPages,
            static_router(),
        ],
        template_config=template_config(),
        csrf_config=CSRFConfig(
            secret=secret_key(settings), cookie_name=CSRF_COOKIE, cookie_secure=settings.cookie_secure,
            cookie_httponly=True, exclude=["^/api/", "^/healthz$", "^/readyz$", "^/static/"],
        ),
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        middleware=[request_id_middleware],
        before_send=[add_request_id_header],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Tandem API", version="1", path="/api",
            render_plugins=[JsonRenderPlugin(), ReferenceRenderPlugin()],
        ),
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    check_route_guards(app)
    return app


def secret_key(settings: Settings) -> str:
    """The CSRF signing secret: configured, else one per process (forms then expire on restart)."""
    if settings.secret_key:
        return settings.secret_key
    import secrets

    return secrets.token_urlsafe(32)


def check_route_guards(app: Litestar) -> None:
    """Fail at startup if a tenant route forgot to declare its roles."""
    for route in app.routes:
        if not (route.path.startswith("/api/v1/t/") or route.path.startswith("/t/")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if set(getattr(handler, "http_methods", ())) <= {"OPTIONS", "HEAD"}:
                continue
            if not handler.opt.get("roles"):
                raise RuntimeError(f"tenant route {route.path} has no role guard")


def app_from_env() -> Litestar:
    """Uvicorn factory entry point (`backend.app:app_from_env`)."""
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_json)
    return create_app(settings)
