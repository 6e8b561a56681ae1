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

How it is read: the cohort comes from ``deal_funnel`` (revision t0015, one row per deal kept by a trigger on
``deal_stage_history``, see ``funnel_models``). A deal whose last move came before the end of the range (every deal,
when the range ends today) is answered by its summary: the cohort is grouped in SQL by (stages reached, last stage),
a few dozen groups ranked here. Only deals that moved after the range are followed through their history (the moves
inside the range, through the BRIN index on ``moved_at``, folded by one hash aggregate per deal). Archived deals are
left out through the partial index ``ix_deals_archived``; for a rep the deals are joined for visibility.
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
from backend.domains.crm.analytics.funnel_models import DealFunnel
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


def _ranks(stages: list[PipelineStage]) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Rank of each stage (its place among the open stages 1…k, k+1 for won; a lost or unknown stage ranks 0) and
    the outcome code of entering it (won, lost; any other stage is open)."""
    open_ids = [s.id for s in stages if s.kind == "open"]
    ranks = {stage_id: i + 1 for i, stage_id in enumerate(open_ids)}
    ranks |= {s.id: len(open_ids) + 1 for s in stages if s.kind == "won"}
    codes = {s.id: WON for s in stages if s.kind == "won"} | {s.id: LOST for s in stages if s.kind == "lost"}
    return ranks, codes


def _cohort(actor: CrmActor, stages: list[PipelineStage], start: Any, end: Any, *, settled: bool) -> Select[Any]:
    """The visible, unarchived cohort's summaries: deals that entered one of ``stages`` in ``[start, end)``;
    ``settled``: only those whose last move came before ``end``, else only those that moved since."""
    query = select(DealFunnel).where(DealFunnel.entered_at >= start, DealFunnel.entered_at < end,
                                     DealFunnel.entered_stage_id.in_([s.id for s in stages]),
                                     DealFunnel.last_moved_at < end if settled else DealFunnel.last_moved_at >= end)
    visible = scope.deal_clause(actor)
    if visible is None:  # read-all roles: only archived deals are left out (a tiny partial index)
        return query.where(~exists().where(Deal.id == DealFunnel.deal_id, Deal.archived_at.is_not(None)))
    return query.join(Deal, Deal.id == DealFunnel.deal_id).where(Deal.archived_at.is_(None), visible)


def settled_query(actor: CrmActor, stages: list[PipelineStage], cal: scope.Calendar, period: Period) -> Select[Any]:
    """SELECT (stages reached, last stage, deals) for the cohort's deals that did not move after the range: their
    whole history is in it, so their summary row answers; a few dozen groups, ranked in Python."""
    start, end = cal.bounds(period)
    rows = _cohort(actor, stages, start, end, settled=True).subquery("settled")
    return (select(rows.c.reached_stage_ids, rows.c.last_stage_id, func.count())
            .group_by(rows.c.reached_stage_ids, rows.c.last_stage_id))


def moved_later_query(actor: CrmActor, stages: list[PipelineStage], cal: scope.Calendar,
                      period: Period) -> Select[Any]:
    """SELECT (furthest rank, outcome code, deals) for the cohort's deals that moved after the range, from their
    history up to the end of the range (none when the range ends today).

    A deal's furthest rank is the highest of its creation stage and its later moves in the range; the outcome code
    is that of the last of those moves (highest id), 0 (open) when it has not moved: read as ``max(id*4 + code) %
    4``, so one hash aggregate per deal answers both, without sorting anyone's moves.
    """
    start, end = cal.bounds(period)
    ranks, codes = _ranks(stages)
    move = aliased(DealStageMove)

    def rank(stage: Any) -> Any:
        return case(*[(stage == k, v) for k, v in ranks.items()], else_=0) if ranks else literal(0)

    code = case(*[(move.to_stage_id == k, v) for k, v in codes.items()], else_=OPEN) if codes else literal(OPEN)
    cohort = _cohort(actor, stages, start, end, settled=False).subquery()
    members = (select(cohort.c.deal_id, rank(cohort.c.entered_stage_id).label("first"))
               .cte("cohort").prefix_with("MATERIALIZED"))
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


async def outcomes(uow: UnitOfWork, actor: CrmActor, stages: list[PipelineStage], cal: scope.Calendar,
                   period: Period) -> list[tuple[int, int, int]]:
    """(furthest rank, outcome code, deals) over the whole cohort: settled deals from their summaries, the others
    from their history."""
    ranks, codes = _ranks(stages)
    found: dict[tuple[int, int], int] = {}
    for reached, last, n in (await uow.session.execute(settled_query(actor, stages, cal, period))).all():
        key = (max((ranks.get(stage, 0) for stage in reached), default=0), codes.get(last, OPEN))
        found[key] = found.get(key, 0) + int(n)
    for furthest, code, n in (await uow.session.execute(moved_later_query(actor, stages, cal, period))).all():
        key = (int(furthest), int(code))
        found[key] = found.get(key, 0) + int(n)
    return [(furthest, code, n) for (furthest, code), n in sorted(found.items())]


async def funnel(uow: UnitOfWork, actor: CrmActor, query: ReportQuery) -> Funnel:
    pipeline, stages = await pipeline_of(uow, query.pipeline_id)
    cal = await scope.calendar(uow)
    await scope.plan_per_query(uow)
    grouped = await outcomes(uow, actor, stages, cal, query.period)
    entered = sum(n for *_, n in grouped)
    won = sum(n for _, code, n in grouped if code == WON)
    lost = sum(n for _, code, n in grouped if code == LOST)
    open_stages = [s for s in stages if s.kind == "open"]
    counts: list[tuple[PipelineStage, int]] = [
        (stage, sum(n for furthest, _, n in grouped if furthest >= rank))
        for rank, stage in enumerate(open_stages, start=1)]
    counts += [(stage, won) for stage in stages if stage.kind == "won"]  # the won outcome is the last step
    steps = [FunnelStep(stage.id, stage.name, stage.kind, reached,
                        percent(reached, counts[i - 1][1]) if i else None)
             for i, (stage, reached) in enumerate(counts)]
    return Funnel(pipeline.id, pipeline.name, query.period, entered, steps, won, lost, entered - won - lost,
                  percent(won, entered))
