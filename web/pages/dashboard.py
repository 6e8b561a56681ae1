"""The home dashboard's CRM widgets: pipeline by stage, funnel, forecast, my tasks, recent activity.

Shown only while the CRM module is on; every figure follows the reports' visibility rule for the signed-in member.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backend.domains.crm import tasks
from backend.domains.crm.analytics import dashboard, forecast, funnel, params, scope
from web import charts, i18n
from web.context import Page
from web.pages import activity_views as views
from web.pages.crm_accounts import crm_actor
from web.pages.crm_reports import bucket_label, fixed

FORECAST_MONTHS = 2  # this month and the next
RECENT = 10
MY_TASKS = 5  # per group (overdue, today)
ACTIONS = {"create": i18n.lazy("created"), "update": i18n.lazy("changed"), "archive": i18n.lazy("archived"),
           "restore": i18n.lazy("restored"), "delete": i18n.lazy("deleted"), "move": i18n.lazy("moved"),
           "win": i18n.lazy("won"), "lose": i18n.lazy("lost"), "reopen": i18n.lazy("reopened"),
           "merge": i18n.lazy("merged")}
RECORDS = {"account": i18n.lazy("account"), "legal_entity": i18n.lazy("legal entity"),
           "contact": i18n.lazy("contact"), "deal": i18n.lazy("deal"), "pipeline": i18n.lazy("pipeline"),
           "interaction": i18n.lazy("interaction"), "task": i18n.lazy("task")}


def action_text(action: str) -> str:
    return i18n.gettext(ACTIONS[action]) if action in ACTIONS else action


def record_text(record_type: str) -> str:
    return i18n.gettext(RECORDS[record_type]) if record_type in RECORDS else record_type


async def crm_widgets(pg: Page) -> dict[str, Any]:
    """Template context of the CRM widgets (empty when the CRM module is off)."""
    if pg.company is None or "crm" not in pg.company.modules:
        return {}
    actor = crm_actor(pg)
    query = params.ReportQuery(params.default_period((await scope.calendar(pg.uow)).today()))
    load = await dashboard.pipeline_by_stage(pg.uow, actor)
    flow = await funnel.funnel(pg.uow, actor, query)
    outlook = await forecast.forecast(pg.uow, actor, query)
    soon = outlook.buckets[: FORECAST_MONTHS + 1]  # overdue, then the first months
    rows = []
    for index, currency in enumerate(outlook.currencies):
        cells = [next((c.weighted for c in b.cells if c.currency == currency), Decimal("0.00")) for b in soon]
        rows.append((currency, cells, outlook.totals[index].weighted))
    return {
        "crm": True,
        "load": load,
        "load_chart": charts.horizontal_bars([(s.name, s.deals) for s in load.stages], width=460, label_width=140),
        "flow": flow,
        "flow_chart": charts.horizontal_bars([(s.name, s.reached) for s in flow.steps], width=460, label_width=140),
        "soon": soon,
        "forecast_rows": rows,
        "recent": await dashboard.recent_activity(pg.uow, actor, RECENT),
        "bucket_label": bucket_label,
        "fixed": fixed,
        "action_text": action_text,
        "record_text": record_text,
        "my_tasks": await _my_tasks(pg, actor),
    }


async def _my_tasks(pg: Page, actor: Any) -> list[tuple[str, Any]]:
    """The signed-in member's open tasks: overdue first, then today's (a few of each, local days)."""
    zone = await views.zone_of(pg)
    found: list[tuple[str, Any]] = []
    for due in ("overdue", "today"):
        page = await tasks.list_tasks(pg.uow, actor, zone, mine=True, due=due, done=False, limit=MY_TASKS)
        found += [(due, task) for task in page.items]
    return found
