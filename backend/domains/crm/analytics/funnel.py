"""Sales funnel of one pipeline over a date range, from ``deal_stage_history``.

The rule:

* **Cohort**: the pipeline's deals (visible to the caller, not archived) that *entered the pipeline* in the range:
  their first stage-history row (``from_stage_id IS NULL``, written when the deal is created) has ``moved_at``
  within ``[from, to]`` (company time zone, both days inclusive).
* Their history is followed up to the end of ``to``; later moves are ignored.
* **Reached**: a deal reached an open stage when it entered that stage, any later open stage (in the pipeline's
  current order), or the won stage. A deal that jumped stages (created straight into "Proposal", or won from
  "Qualification") counts as having passed every open stage it skipped. Entering the lost stage passes nothing.
* **Outcome** at the end of the range: won (or lost) when the last move up to then entered the won (or lost)
  stage, else open. The funnel's last step is the won outcome; lost deals are counted beside it.
* **Conversion** of a step = reached(step) / reached(previous step) x 100, rounded half-up to 2 decimals; none for
  the first step or after a step nobody reached. ``win_rate`` = won / entered x 100, rounded the same way.

The query reads the cohort through the partial index ``ix_deal_stage_history_entered`` (moved_at of creation rows)
and each cohort deal's history through ``ix_deal_stage_history_deal_id_id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import String, and_, func, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased

from backend.db.uow import UnitOfWork
from backend.domains.crm import pipelines
from backend.domains.crm.analytics import scope
from backend.domains.crm.analytics.params import BadReportQuery, Period, ReportQuery
from backend.domains.crm.deals_models import Deal, DealStageMove, Pipeline, PipelineStage
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import FieldError

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class FunnelStep:
    stage_id: uuid.UUID
    name: str
    kind: str  # "open" or "won"
    reached: int
    conversion: Decimal | None  # percent of the previous step


@dataclass(frozen=True, slots=True)
class Funnel:
    pipeline_id: uuid.UUID
    pipeline_name: str
    period: Period
    entered: int
    steps: list[FunnelStep]
    won: int
    lost: int
    still_open: int
    win_rate: Decimal | None


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole x 100, half-up to 2 decimals (None when whole is 0)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)


async def pipeline_of(uow: UnitOfWork, pipeline_id: uuid.UUID | None) -> tuple[Pipeline, list[PipelineStage]]:
    """The pipeline asked for (or the default one) with its stages in order; an unknown id is a 400."""
    if pipeline_id is None:
        pipeline: Pipeline | None = await pipelines.ensure_default(uow)
    else:
        pipeline = await uow.session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise BadReportQuery([FieldError("pipeline_id", "no such pipeline")])
    stages = (await uow.session.execute(select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id)
                                        .order_by(PipelineStage.position, PipelineStage.id))).scalars()
    return pipeline, list(stages)


async def _outcomes(uow: UnitOfWork, actor: CrmActor, pipeline_id: uuid.UUID,
                    cal: scope.Calendar, period: Period) -> list[tuple[int | None, bool, str, int]]:
    """(furthest open position, ever won, last kind, deals) for the cohort, grouped."""
    start, end = cal.bounds(period)
    entered, move = aliased(DealStageMove), aliased(DealStageMove)
    stage = PipelineStage
    per_deal = (
        select(move.deal_id,
               func.max(stage.position).filter(stage.kind == "open").label("furthest"),
               func.bool_or(stage.kind == "won").label("ever_won"),
               func.array_agg(aggregate_order_by(stage.kind, move.id.desc()), type_=ARRAY(String))[1]
               .label("last_kind"))
        .select_from(entered)
        .join(Deal, Deal.id == entered.deal_id)
        .join(move, and_(move.deal_id == entered.deal_id, move.moved_at < end))
        .join(stage, stage.id == move.to_stage_id)
        .where(entered.from_stage_id.is_(None), entered.moved_at >= start, entered.moved_at < end,
               Deal.pipeline_id == pipeline_id, Deal.archived_at.is_(None))
        .group_by(move.deal_id)
    )
    visible = scope.deal_clause(actor)
    if visible is not None:
        per_deal = per_deal.join(Account, Account.id == Deal.account_id).where(visible)
    rows = per_deal.subquery()
    grouped = select(rows.c.furthest, rows.c.ever_won, rows.c.last_kind, func.count()).group_by(
        rows.c.furthest, rows.c.ever_won, rows.c.last_kind)
    return [(r[0], bool(r[1]), str(r[2]), int(r[3])) for r in (await uow.session.execute(grouped)).all()]


async def funnel(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> Funnel:
    pipeline, stages = await pipeline_of(uow, query.pipeline_id)
    cal = await scope.calendar(uow)
    outcomes = await _outcomes(uow, actor, pipeline.id, cal, query.period)
    entered = sum(n for *_, n in outcomes)
    won = sum(n for _, _, last, n in outcomes if last == "won")
    lost = sum(n for _, _, last, n in outcomes if last == "lost")
    counts: list[tuple[PipelineStage, int]] = [
        (stage, sum(n for furthest, ever_won, _, n in outcomes
                    if ever_won or (furthest is not None and furthest >= stage.position)))
        for stage in stages if stage.kind == "open"]
    counts += [(stage, won) for stage in stages if stage.kind == "won"]  # the won outcome is the last step
    steps = [FunnelStep(stage.id, stage.name, stage.kind, reached,
                        percent(reached, counts[i - 1][1]) if i else None)
             for i, (stage, reached) in enumerate(counts)]
    return Funnel(pipeline.id, pipeline.name, query.period, entered, steps, won, lost, entered - won - lost,
                  percent(won, entered))
