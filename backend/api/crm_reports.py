"""/api/v1/t/{slug}/reports/…: funnel, forecast, reps, abc-xyz, bcg (thin adapters over crm/analytics).

Query parameters arrive as text and are validated by ``analytics.params`` (every bad one named in a 400 problem).
Money, percentages and thresholds travel as strings (Decimal). Every report covers what the caller may see.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.domains.crm.analytics import abc_xyz, bcg, forecast, funnel, reps, scope
from backend.domains.crm.analytics.forecast import Money
from backend.domains.crm.analytics.params import Period

UNSET = msgspec.UNSET
Raw = dict[str, str | None]


# --- query parameters (declared for OpenAPI; validated by the domain) ---------------------------------------------

def _query(name: str, description: str) -> Any:
    return QueryParameter(name=name, required=False, description=description)


From = Annotated[str | None, _query(
    "from", "First day, inclusive (YYYY-MM-DD, company time zone); default: day 1, 11 months before `to`")]
To = Annotated[str | None, _query("to", "Last day, inclusive (YYYY-MM-DD); default: today")]
PipelineId = Annotated[str | None, _query("pipeline_id", "A pipeline id (the funnel defaults to the default pipeline)")]
Currency = Annotated[str | None, _query("currency", "A three-letter currency code")]
Abc = Annotated[str | None, _query("abc", "Percent thresholds A,B,C adding up to 100 (default 80,15,5)")]
Xyz = Annotated[str | None, _query("xyz", "Coefficient-of-variation limits X,Y (default 0.5,1.0)")]
Share = Annotated[str | None, _query(
    "share", "Relative share from which an account is 'high share' (above 0, at most 1; default 0.5)")]
Growth = Annotated[str | None, _query("growth", "Growth (percent) from which an account is 'high growth' (default 10)")]


async def period_query(from_: From = None, to: To = None, pipeline_id: PipelineId = None,
                       currency: Currency = None) -> Raw:
    return {"from": from_, "to": to, "pipeline_id": pipeline_id, "currency": currency}


async def abc_query(from_: From = None, to: To = None, currency: Currency = None, abc: Abc = None,
                    xyz: Xyz = None) -> Raw:
    return {"from": from_, "to": to, "currency": currency, "abc": abc, "xyz": xyz}


async def bcg_query(to: To = None, currency: Currency = None, share: Share = None, growth: Growth = None) -> Raw:
    return {"to": to, "currency": currency, "share": share, "growth": growth}


# --- response bodies ---------------------------------------------------------------------------------------------

class PeriodOut(msgspec.Struct):
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")


class MoneyOut(msgspec.Struct):
    currency: str | None
    deals: int
    amount: Decimal
    weighted: Decimal


class StepOut(msgspec.Struct):
    stage_id: uuid.UUID
    name: str
    kind: str
    reached: int
    conversion: Decimal | None


class FunnelOut(msgspec.Struct):
    pipeline_id: uuid.UUID
    pipeline_name: str
    period: PeriodOut
    entered: int
    steps: list[StepOut]
    won: int
    lost: int
    still_open: int
    win_rate: Decimal | None


class BucketOut(msgspec.Struct):
    key: str
    month: date | None
    cells: list[MoneyOut]


class ForecastOut(msgspec.Struct):
    today: date
    currencies: list[str | None]
    buckets: list[BucketOut]
    totals: list[MoneyOut]


class RepOut(msgspec.Struct, omit_defaults=True):
    user_id: uuid.UUID | None
    name: str | None
    won: int
    lost: int
    win_rate: Decimal | None
    avg_cycle_days: Decimal | None
    open: list[MoneyOut]
    activities: dict[str, int] | msgspec.UnsetType = UNSET  # absent until the interactions table exists


class RepsOut(msgspec.Struct, omit_defaults=True):
    period: PeriodOut
    rows: list[RepOut]
    activity_kinds: list[str] | msgspec.UnsetType = UNSET


class AbcRowOut(msgspec.Struct):
    account_id: uuid.UUID
    name: str
    revenue: Decimal
    share: Decimal
    cumulative: Decimal
    abc: str
    cv: Decimal | None
    xyz: str | None


class AbcXyzOut(msgspec.Struct):
    period: PeriodOut
    xyz_period: PeriodOut
    currency: str
    abc_thresholds: list[Decimal]
    xyz_thresholds: list[Decimal]
    total: Decimal
    rows: list[AbcRowOut]
    matrix: dict[str, int]


class BcgPointOut(msgspec.Struct):
    account_id: uuid.UUID
    name: str
    revenue: Decimal
    previous: Decimal
    relative_share: Decimal
    growth: Decimal | None
    quadrant: str


class BcgOut(msgspec.Struct):
    currency: str
    last: PeriodOut
    previous: PeriodOut
    share_threshold: Decimal
    growth_threshold: Decimal
    points: list[BcgPointOut]
    counts: dict[str, int]


def period_out(period: Period) -> PeriodOut:
    return PeriodOut(period.start, period.end)


def money_out(cells: list[Money]) -> list[MoneyOut]:
    return [MoneyOut(c.currency, c.deals, c.amount, c.weighted) for c in cells]


def reps_out(report: reps.RepReport) -> RepsOut:
    rows = [RepOut(r.user_id, r.name, r.won, r.lost, r.win_rate, r.avg_cycle_days, money_out(r.open),
                   UNSET if r.activities is None else r.activities) for r in report.rows]
    return RepsOut(period_out(report.period), rows,
                   UNSET if report.activity_kinds is None else report.activity_kinds)


class ReportController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/reports"
    tags = ["crm: reports"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/funnel", opt=CRM_ROUTE, dependencies={"raw": Provide(period_query)},
         summary="Sales funnel of a pipeline: deals that entered in the range, stages reached, conversion, outcome")
    async def funnel_report(self, ctx: NamedDependency[TenantContext], raw: NamedDependency[Raw]) -> FunnelOut:
        query = await scope.read_query(ctx.uow, raw)
        f = await funnel.funnel(ctx.uow, crm_actor(ctx), query)
        return FunnelOut(f.pipeline_id, f.pipeline_name, period_out(f.period), f.entered,
                         [StepOut(s.stage_id, s.name, s.kind, s.reached, s.conversion) for s in f.steps],
                         f.won, f.lost, f.still_open, f.win_rate)

    @get("/forecast", opt=CRM_ROUTE, dependencies={"raw": Provide(period_query)},
         summary="Weighted forecast of open deals by month of expected close, per currency (from/to unused)")
    async def forecast_report(self, ctx: NamedDependency[TenantContext], raw: NamedDependency[Raw]) -> ForecastOut:
        query = await scope.read_query(ctx.uow, raw)
        f = await forecast.forecast(ctx.uow, crm_actor(ctx), query)
        return ForecastOut(f.today, f.currencies, [BucketOut(b.key, b.month, money_out(b.cells)) for b in f.buckets],
                           money_out(f.totals))

    @get("/reps", opt=CRM_ROUTE, dependencies={"raw": Provide(period_query)},
         summary="Per rep: win rate, average cycle time, open pipeline, activities (a rep gets their own row)")
    async def reps_report(self, ctx: NamedDependency[TenantContext], raw: NamedDependency[Raw]) -> RepsOut:
        query = await scope.read_query(ctx.uow, raw)
        return reps_out(await reps.reps(ctx.uow, crm_actor(ctx), query))

    @get("/abc-xyz", opt=CRM_ROUTE, dependencies={"raw": Provide(abc_query)},
         summary="ABC classes of accounts by revenue share and XYZ by monthly revenue variability")
    async def abc_xyz_report(self, ctx: NamedDependency[TenantContext], raw: NamedDependency[Raw]) -> AbcXyzOut:
        query = await scope.read_query(ctx.uow, raw)
        r = await abc_xyz.abc_xyz(ctx.uow, crm_actor(ctx), query)
        rows = [AbcRowOut(x.account_id, x.name, x.revenue, x.share, x.cumulative, x.abc, x.cv, x.xyz)
                for x in r.rows]
        return AbcXyzOut(period_out(r.period), PeriodOut(r.xyz_months[0], r.period.end), r.currency,
                         list(r.abc_thresholds), list(r.xyz_thresholds), r.total, rows, r.matrix)

    @get("/bcg", opt=CRM_ROUTE, dependencies={"raw": Provide(bcg_query)},
         summary="BCG-style matrix of accounts: relative revenue share vs growth (last 12 months vs previous 12)")
    async def bcg_report(self, ctx: NamedDependency[TenantContext], raw: NamedDependency[Raw]) -> BcgOut:
        query = await scope.read_query(ctx.uow, raw)
        r = await bcg.bcg(ctx.uow, crm_actor(ctx), query)
        points = [BcgPointOut(p.account_id, p.name, p.revenue, p.previous, p.relative_share, p.growth, p.quadrant)
                  for p in r.points]
        return BcgOut(r.currency, period_out(r.last), period_out(r.previous), r.share_threshold, r.growth_threshold,
                      points, r.counts)
