"""The home dashboard's CRM widgets: pipeline by stage, funnel, forecast, my tasks (a slot), recent activity.

Shown only while the CRM module is on; every figure follows the reports' visibility rule for the signed-in member.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backend.domains.crm.analytics import dashboard, forecast, funnel, params, scope
from web import charts, i18n
from web.context import Page
from web.pages.crm_accounts import crm_actor
from web.pages.crm_reports import bucket_label, fixed

FORECAST_MONTHS = 2  # this month and the next
RECENT = 10
ACTIONS = {"create": i18n.lazy("created"), "update": i18n.lazy("changed"), "archive": i18n.lazy("archived"),
           "restore": i18n.lazy("restored"), "delete": i18n.lazy("deleted"), "move": i18n.lazy("moved"),
           "win": i18n.lazy("won"), "lose": i18n.lazy("lost"), "reopen": i18n.lazy("reopened"),
           "merge": i18n.lazy("merged")}
RECORDS = {"account": i18n.lazy("account"), "legal_entity": i18n.lazy("legal entity"),
           "contact": i18n.lazy("contact"), "deal": i18n.lazy("deal"), "pipeline": i18n.lazy("pipeline")}


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
        "my_tasks": None,  # slot: filled once the tasks service exists (see the template)
    }
