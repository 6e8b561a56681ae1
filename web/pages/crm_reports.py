"""CRM report pages: funnel, forecast, ABC/XYZ with the BCG matrix, rep KPIs; charts drawn server-side as SVG.

Every page has a GET filter form; bad values show the form again with the reasons (400), nothing else. The
figures come from ``backend.domains.crm.analytics`` and follow its visibility rule (a rep sees their share).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from babel import numbers
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from backend.domains.crm import pipelines
from backend.domains.crm.analytics import abc_xyz, bcg, forecast, funnel, params, reps, scope
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import DomainError
from backend.kit.modules import NavItem, add_nav
from web import charts, i18n
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.render import field_errors, render

add_nav("crm", NavItem("Reports", "reports"))

TABS = (("funnel", i18n.lazy("Funnel")), ("forecast", i18n.lazy("Forecast")),
        ("abc-xyz", i18n.lazy("ABC/XYZ")), ("reps", i18n.lazy("Rep KPIs")))
BUCKETS = {"overdue": i18n.lazy("Overdue"), "later": i18n.lazy("Later"), "undated": i18n.lazy("No date")}
QUADRANTS = {"star": i18n.lazy("Star"), "cash_cow": i18n.lazy("Cash cow"),
             "question_mark": i18n.lazy("Question mark"), "dog": i18n.lazy("Dog")}

Build = Callable[[Page, CrmActor, params.ReportQuery], Awaitable[dict[str, Any]]]


def fixed(value: Decimal | int | None, places: int = 2) -> str:
    """A number with exactly ``places`` decimals in the reader's locale (amounts without a currency, CVs)."""
    if value is None:
        return "—"
    return numbers.format_decimal(value, format="#,##0." + "0" * places if places else "#,##0",
                                  locale=i18n.current_locale.get(), decimal_quantization=True)


def bucket_label(bucket: forecast.Bucket, short: bool = False) -> str:
    """"Nov 2026", "Overdue", …; short (chart ticks): "Nov", with the year only in January."""
    if bucket.month is not None:
        return i18n.format_date(bucket.month, "MMM" if short and bucket.month.month != 1 else "MMM y")
    return i18n.gettext(BUCKETS[bucket.key])


async def _page(pg: Page, tab: str, template: str, build: Build) -> Template:
    """Parse the filter, build the report; a bad filter shows the form with its reasons (400) and no figures."""
    raw = {k: pg.request.query_params.get(k) for k in params.FIELDS}
    values = {k: v or "" for k, v in raw.items()}
    options = [(str(v.pipeline.id), v.pipeline.name) for v in await pipelines.list_pipelines(pg.uow, crm_actor(pg))]
    context: dict[str, Any] = {"tab": tab, "tabs": TABS, "values": values, "errors": {}, "report": None,
                               "pipeline_options": options, "fixed": fixed}
    try:
        query = await scope.read_query(pg.uow, raw)
        context.update(await build(pg, crm_actor(pg), query))
    except DomainError as exc:
        if exc.code != params.CODE:
            raise
        context["errors"] = field_errors(exc)
        return render(pg, template, status=400, **context)
    return render(pg, template, **context)


async def _funnel(pg: Page, actor: CrmActor, query: params.ReportQuery) -> dict[str, Any]:
    report = await funnel.funnel(pg.uow, actor, query)
    return {"report": report, "chart": charts.horizontal_bars([(s.name, s.reached) for s in report.steps])}


async def _forecast(pg: Page, actor: CrmActor, query: params.ReportQuery) -> dict[str, Any]:
    report = await forecast.forecast(pg.uow, actor, query)
    per_currency = []
    for currency in report.currencies:
        cells = [(b, next((c for c in b.cells if c.currency == currency), None)) for b in report.buckets]
        chart = charts.columns([(bucket_label(b, short=True), c.weighted if c else Decimal(0)) for b, c in cells],
                               width=760)
        per_currency.append((currency, cells, chart, next(t for t in report.totals if t.currency == currency)))
    return {"report": report, "per_currency": per_currency, "bucket_label": bucket_label}


async def _abc_xyz(pg: Page, actor: CrmActor, query: params.ReportQuery) -> dict[str, Any]:
    report = await abc_xyz.abc_xyz(pg.uow, actor, query)
    matrix = await bcg.bcg(pg.uow, actor, query)
    scatter = charts.scatter([(p.name, p.quadrant, p.relative_share, p.growth) for p in matrix.points],
                             matrix.share_threshold, matrix.growth_threshold)
    return {"report": report, "grid": charts.matrix(report.matrix), "bcg": matrix, "scatter": scatter,
            "quadrants": QUADRANTS}


async def _reps(pg: Page, actor: CrmActor, query: params.ReportQuery) -> dict[str, Any]:
    report = await reps.reps(pg.uow, actor, query)
    unassigned = i18n.gettext("Unassigned")
    chart = charts.horizontal_bars([(r.name or unassigned, r.win_rate or Decimal(0)) for r in report.rows],
                                   full=Decimal(100))
    return {"report": report, "chart": chart, "unassigned": unassigned}


class ReportPages(Controller):
    path = "/t/{tenant_slug:str}/reports"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def index(self, pg: NamedDependency[Page]) -> Template:
        return await _page(pg, "funnel", "crm/reports_funnel.html", _funnel)

    @get("/funnel", opt=CRM_PAGE)
    async def funnel_page(self, pg: NamedDependency[Page]) -> Template:
        return await _page(pg, "funnel", "crm/reports_funnel.html", _funnel)

    @get("/forecast", opt=CRM_PAGE)
    async def forecast_page(self, pg: NamedDependency[Page]) -> Template:
        return await _page(pg, "forecast", "crm/reports_forecast.html", _forecast)

    @get("/abc-xyz", opt=CRM_PAGE)
    async def abc_xyz_page(self, pg: NamedDependency[Page]) -> Template:
        return await _page(pg, "abc-xyz", "crm/reports_abc_xyz.html", _abc_xyz)

    @get("/reps", opt=CRM_PAGE)
    async def reps_page(self, pg: NamedDependency[Page]) -> Template:
        return await _page(pg, "reps", "crm/reports_reps.html", _reps)
