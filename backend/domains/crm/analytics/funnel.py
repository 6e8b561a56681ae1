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

Indexes (revision t0010): the cohort comes from the partial index ``ix_deal_stage_history_entered`` (creation rows by
``moved_at``, covering deal and stage), archived deals from the partial index ``ix_deals_archived``, and the moves
inside the range through the BRIN index on ``moved_at``; each deal's moves are folded by one hash aggregate, no sort.
For a rep the visible part of the cohort is materialised first, so the moves are still read in one pass.
Benchmark: ``python -m tests.perf.funnel`` (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import aliased

from backend.db.uow import UnitOfWork
from backend.domains.crm import pipelines
from backend.domains.crm.analytics import scope
from backend.domains.crm.analytics.params import Period, ReportQuery, bad_query
from backend.domains.crm.deals_models import Deal, DealStageMove, Pipeline, PipelineStage
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import FieldError

CENT = Decimal("0.01")
OPEN, WON, LOST = 0, 1, 2  # outcome codes


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
        raise bad_query([FieldError("pipeline_id", "no such pipeline")])
    stages = (await uow.session.execute(select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id)
                                        .order_by(PipelineStage.position, PipelineStage.id))).scalars()
    return pipeline, list(stages)


def outcome_query(actor: CrmActor, stages: list[PipelineStage], cal: scope.Calendar, period: Period) -> Select[Any]:
    """SELECT (furthest rank, outcome code, deals) for the cohort, grouped.

    Rank of a stage: its place among the open stages (1…k), k+1 for the won stage (it passes them all), 0 for the
    lost stage; a deal's furthest rank is the highest of its creation stage and its later moves. Outcome code of the
    last move (the highest id): 1 won, 2 lost, 0 open (also when the deal has not moved since its creation); read
    as ``max(id*4 + code) % 4``, so one hash aggregate per deal answers both, without sorting anyone's moves.
    """
    start, end = cal.bounds(period)
    open_ids = [s.id for s in stages if s.kind == "open"]
    won_ids = [s.id for s in stages if s.kind == "won"]
    lost_ids = [s.id for s in stages if s.kind == "lost"]
    entered, move = aliased(DealStageMove), aliased(DealStageMove)
    ranks = {stage_id: i + 1 for i, stage_id in enumerate(open_ids)} | {i: len(open_ids) + 1 for i in won_ids}
    codes = dict.fromkeys(won_ids, WON) | dict.fromkeys(lost_ids, LOST)

    def rank(stage: Any) -> Any:
        return case(*[(stage == k, v) for k, v in ranks.items()], else_=0) if ranks else literal(0)

    code = case(*[(move.to_stage_id == k, v) for k, v in codes.items()], else_=OPEN) if codes else literal(OPEN)
    cohort = (select(entered.deal_id, rank(entered.to_stage_id).label("first"))
              .where(entered.from_stage_id.is_(None), entered.moved_at >= start, entered.moved_at < end,
                     entered.to_stage_id.in_([s.id for s in stages])))
    visible = scope.deal_clause(actor)
    if visible is None:  # read-all roles: only archived deals are left out (a tiny partial index)
        members: Any = cohort.where(~exists().where(Deal.id == entered.deal_id, Deal.archived_at.is_not(None)))
        members = members.subquery("cohort")
    else:  # the visible part of the cohort, materialised: its moves are then read once, not probed per deal
        members = (cohort.join(Deal, Deal.id == entered.deal_id).where(Deal.archived_at.is_(None), visible)
                   .cte("cohort").prefix_with("MATERIALIZED"))
    # the creation row is the cohort row itself (its stage is open: outcome "open" until a later move); only the
    # later moves inside the range are read (BRIN on moved_at): a deal's moves all follow its creation
    per_deal = (
        select(func.greatest(func.max(members.c.first), func.coalesce(func.max(rank(move.to_stage_id)), 0))
               .label("furthest"),
               func.coalesce(func.max(move.id * 4 + code), OPEN).label("last"))
        .select_from(members)
        .outerjoin(move, and_(move.deal_id == members.c.deal_id, move.from_stage_id.is_not(None),
                              move.moved_at >= start, move.moved_at < end))
        .group_by(members.c.deal_id)
    )
    rows = per_deal.subquery("per_deal")
    outcome = (rows.c.last % 4).label("outcome")
    return select(rows.c.furthest, outcome, func.count()).group_by(rows.c.furthest, outcome)


async def funnel(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> Funnel:
    pipeline, stages = await pipeline_of(uow, query.pipeline_id)
    cal = await scope.calendar(uow)
    await scope.plan_per_query(uow)
    grouped = await uow.session.execute(outcome_query(actor, stages, cal, query.period))
    outcomes = [(int(furthest), int(code), int(n)) for furthest, code, n in grouped.all()]
    entered = sum(n for *_, n in outcomes)
    won = sum(n for _, code, n in outcomes if code == WON)
    lost = sum(n for _, code, n in outcomes if code == LOST)
    open_stages = [s for s in stages if s.kind == "open"]
    counts: list[tuple[PipelineStage, int]] = [
        (stage, sum(n for furthest, _, n in outcomes if furthest >= rank))
        for rank, stage in enumerate(open_stages, start=1)]
    counts += [(stage, won) for stage in stages if stage.kind == "won"]  # the won outcome is the last step
    steps = [FunnelStep(stage.id, stage.name, stage.kind, reached,
                        percent(reached, counts[i - 1][1]) if i else None)
             for i, (stage, reached) in enumerate(counts)]
    return Funnel(pipeline.id, pipeline.name, query.period, entered, steps, won, lost, entered - won - lost,
                  percent(won, entered))
