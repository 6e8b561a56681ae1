"""Jinja2 configuration: gettext via the request's language, locale-aware filters, static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from backend.domains.identity.roles import Role
from web import i18n

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

ROLE_LABELS = {
    Role.OWNER: "Owner", Role.ADMIN: "Admin", Role.MANAGER: "Manager", Role.REP: "Sales rep",
    Role.ACCOUNTANT: "Accountant", Role.SUPPORT: "Support", Role.VIEWER: "Viewer",
}


# Stored codes shown to people (statuses, kinds, audit actions): translated with the `label` filter.
VALUE_LABELS = {
    "lead": "Lead", "prospect": "Prospect", "customer": "Customer", "churned": "Churned",
    "person": "Person", "organization": "Organization", "group": "Group",
    "create": "Created", "update": "Changed", "archive": "Archived", "restore": "Restored", "delete": "Deleted",
    "move": "Moved", "win": "Won", "lose": "Lost", "reopen": "Reopened",
    "open": "Open", "won": "Won", "lost": "Lost",
    "decision_maker": "Decision maker", "payer": "Payer", "user": "User", "influencer": "Influencer",
    "other": "Other",
    # interactions and timeline events
    "meeting": "Meeting", "call": "Call", "sms": "SMS", "email": "Email", "visit": "Visit", "note": "Note",
    "inbound": "Inbound", "outbound": "Outbound",
    "deal_created": "Deal created", "deal_moved": "Deal moved", "deal_won": "Deal won", "deal_lost": "Deal lost",
    "deal_reopened": "Deal reopened", "task_created": "Task added", "task_done": "Task done",
    "privacy_export": "Data exported", "privacy_erase": "Personal data erased", "anonymize": "Anonymized",
    "merged": "Merged", "merged_into": "Merged into another record",
}


# Codes whose English label stands for something else in another place, translated with a context: a stage of kind
# "won" (where won deals go) is not a deal that "Won", and languages that inflect tell them apart.
CONTEXT_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "stage kind": {"open": i18n.lazy_with_context("stage kind", "Open"),
                   "won": i18n.lazy_with_context("stage kind", "Won"),
                   "lost": i18n.lazy_with_context("stage kind", "Lost")},
}


def label(value: object, context: str | None = None) -> str:
    """A stored code as people read it; ``context`` picks the sense of a code listed in :data:`CONTEXT_LABELS`."""
    text = str(value)
    contextual = CONTEXT_LABELS.get(context or "", {}).get(text)
    if contextual is not None:
        return i18n.pgettext(*contextual)
    return i18n.gettext(VALUE_LABELS.get(text, text))


def _configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.autoescape = True
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext)
    env.filters.update(
        datetime=i18n.format_datetime, date=i18n.format_date, number=i18n.format_number, money=i18n.format_money,
        label=label,
    )
    env.globals.update(ROLE_LABELS=ROLE_LABELS, ROLES=[r.value for r in Role])


def template_config() -> TemplateConfig[Any]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_configure)


def static_router() -> Any:
    return create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False,
                                      name="static")
