"""Sales pipelines: ordered stages with a probability and a kind (open, won, lost).

Every member reads pipelines; only owner, admin and manager change them. A tenant's first use creates
the default "Sales" pipeline. Every pipeline has at least one open stage, exactly one won and one lost stage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, text, update

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm.deals_models import REQUIRABLE, STAGE_KINDS, Deal, DealStageMove, Pipeline, PipelineStage
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Forbidden, Invalid, NotFound

RECORD = "pipeline"
DEFAULT_STAGES = (("Qualification", "10", "open"), ("Proposal", "40", "open"), ("Negotiation", "60", "open"),
                  ("Won", "100", "won"), ("Lost", "0", "lost"))


@dataclass(slots=True)
class PipelineView:
    pipeline: Pipeline
    stages: list[PipelineStage]


def require_manage(actor: CrmActor) -> None:
    if not actor.edits_all:
        raise Forbidden("Only owners, admins and managers can change pipelines.", "crm_read_only")


def decimal_value(check: Fields, data: dict[str, Any], field: str, *, low: Decimal, high: Decimal) -> Decimal | None:
    """A Decimal (from a string or a number) with at most two decimals, within [low, high]."""
    raw = data.get(field)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        check.fail(field, "a number with at most 2 decimals")
        return None
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        check.fail(field, "a number with at most 2 decimals")
        return None
    if not value.is_finite() or int(value.as_tuple().exponent) < -2:
        check.fail(field, "a number with at most 2 decimals")
        return None
    if value < low or value > high:
        check.fail(field, "out of range")
        return None
    return value.quantize(Decimal("0.01"))


async def _stages(uow: UnitOfWork, pipeline_id: uuid.UUID) -> list[PipelineStage]:
    query = select(PipelineStage).where(PipelineStage.pipeline_id == pipeline_id).order_by(
        PipelineStage.position, PipelineStage.id)
    return list((await uow.session.execute(query)).scalars())


async def ensure_default(uow: UnitOfWork) -> Pipeline:
    """The tenant's default pipeline, created on first use (serialised per tenant schema)."""
    query = select(Pipeline).where(Pipeline.is_default.is_(True))
    found = (await uow.session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    await uow.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))"),
                              {"key": "/default-pipeline"})
    found = (await uow.session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    pipeline = Pipeline(id=uuid.uuid4(), name="Sales", is_default=True, position=0, version=1)
    uow.session.add(pipeline)
    await uow.flush()
    for position, (name, probability, kind) in enumerate(DEFAULT_STAGES):
        uow.session.add(PipelineStage(id=uuid.uuid4(), pipeline_id=pipeline.id, name=name, position=position,
                                      probability=Decimal(probability), kind=kind, required_fields=[]))
    await uow.flush()
    await uow.session.refresh(pipeline)
    return pipeline


async def list_pipelines(uow: UnitOfWork, actor: CrmActor, *, include_archived: bool = False) -> list[PipelineView]:
    await ensure_default(uow)
    query = select(Pipeline)
    if not include_archived:
        query = query.where(Pipeline.archived_at.is_(None))
    pipelines = list((await uow.session.execute(query.order_by(Pipeline.position, Pipeline.created_at,
                                                                Pipeline.id))).scalars())
    return [PipelineView(p, await _stages(uow, p.id)) for p in pipelines]


async def get(uow: UnitOfWork, actor: CrmActor, pipeline_id: uuid.UUID, *, for_update: bool = False) -> PipelineView:
    query = select(Pipeline).where(Pipeline.id == pipeline_id)
    if for_update:
        query = query.with_for_update()
    pipeline = (await uow.session.execute(query)).scalar_one_or_none()
    if pipeline is None:
        raise NotFound("No such pipeline.", "pipeline_not_found")
    return PipelineView(pipeline, await _stages(uow, pipeline.id))


MAX_CHECKLIST = 20


def checklist_items(check: Fields, raw: Any, field: str) -> list[str]:
    """A checklist: at most 20 distinct items of 1-200 characters, in the order given (blanks dropped)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
        check.fail(field, "a list of texts")
        return []
    items = list(dict.fromkeys(i.strip() for i in raw if i.strip()))
    if len(items) > MAX_CHECKLIST or any(len(i) > 200 for i in items):
        check.fail(field, "at most 20 items of 1-200 characters")
    return items


def _stage_specs(check: Fields, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw or len(raw) > 30:
        check.fail("stages", "a list of 1-30 stages")
        return []
    specs: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            check.fail(f"stages[{index}]", "a stage")
            continue
        inner = Fields()
        spec: dict[str, Any] = {
                "id": inner.uuid(item, "id"), "name": inner.text(item, "name", required=True, max_len=80),
                "kind": inner.choice({"kind": item.get("kind", "open")}, "kind", STAGE_KINDS),
                "probability": decimal_value(inner, item, "probability", low=Decimal(0), high=Decimal(100))}
        fields = item.get("required_fields") or []
        if not isinstance(fields, list) or any(f not in REQUIRABLE for f in fields):
            inner.fail("required_fields", "a list of deal fields: amount, currency, expected_close_date, "
                                          "owner_user_id, next_action, next_action_due, source_channel")
            fields = []
        spec["required_fields"] = sorted(set(fields))
        spec["checklist"] = checklist_items(inner, item.get("checklist"), "checklist")
        for error in inner.errors:
            check.fail(f"stages[{index}].{error.field}", error.reason)
        specs.append(spec)
    kinds = [s["kind"] for s in specs]
    if specs and (kinds.count("open") < 1 or kinds.count("won") != 1 or kinds.count("lost") != 1):
        check.fail("stages", "at least one open stage, exactly one won and one lost stage")
    ids = [s["id"] for s in specs if s["id"] is not None]
    if len(ids) != len(set(ids)):
        check.fail("stages", "a stage is listed twice")
    return specs


def _clean(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - {"name", "is_default", "stages", "archived"})
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of a pipeline") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = check.text(data, "name", required=True, max_len=120)
    for flag in ("is_default", "archived"):
        if flag in data:
            clean[flag] = bool(check.flag(data, flag))
    if not partial or "stages" in data:
        clean["stages"] = _stage_specs(check, data.get("stages"))
    check.done()
    return clean


async def _make_default(uow: UnitOfWork, pipeline: Pipeline) -> None:
    await uow.session.execute(update(Pipeline).where(Pipeline.id != pipeline.id, Pipeline.is_default.is_(True))
                              .values(is_default=False, version=Pipeline.version + 1))
    pipeline.is_default = True


async def _in_use(uow: UnitOfWork, stage_id: uuid.UUID) -> bool:
    deals = select(func.count()).select_from(Deal).where(Deal.stage_id == stage_id)
    moves = select(func.count()).select_from(DealStageMove).where(
        (DealStageMove.from_stage_id == stage_id) | (DealStageMove.to_stage_id == stage_id))
    return bool((await uow.session.execute(deals)).scalar_one() or (await uow.session.execute(moves)).scalar_one())


async def _apply_stages(uow: UnitOfWork, pipeline: Pipeline, current: list[PipelineStage],
                        specs: list[dict[str, Any]]) -> None:
    """The list is the new order: stages with an id are changed, others added, missing unused ones removed."""
    by_id = {s.id: s for s in current}
    if any(s["id"] is not None and s["id"] not in by_id for s in specs):
        raise Invalid("Please correct the highlighted fields.", [FieldError("stages", "no such stage here")])
    kept = {s["id"] for s in specs}
    for stage in current:
        if stage.id not in kept:
            if await _in_use(uow, stage.id):
                raise Conflict("A stage that has deals cannot be removed.", "stage_in_use")
            await uow.session.delete(stage)
    for position, spec in enumerate(specs):
        found = by_id.get(spec["id"]) if spec["id"] else None
        if found is None:
            stage = PipelineStage(id=uuid.uuid4(), pipeline_id=pipeline.id)
            uow.session.add(stage)
        else:
            stage = found
        if found is not None and stage.kind != spec["kind"] and await _in_use(uow, stage.id):
            raise Conflict("The kind of a stage that has deals cannot change.", "stage_in_use")
        stage.name, stage.kind, stage.position = spec["name"], spec["kind"], position
        stage.probability = spec["probability"] if spec["probability"] is not None else Decimal(
            100 if spec["kind"] == "won" else 0)
        stage.required_fields = spec["required_fields"]
        stage.checklist = spec["checklist"]
    await uow.flush()


def _summary(view: PipelineView) -> dict[str, Any]:
    return {"name": view.pipeline.name, "is_default": view.pipeline.is_default,
            "archived": view.pipeline.archived_at is not None,
            "stages": [f"{s.name}:{s.kind}:{s.probability}" for s in view.stages]}


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> PipelineView:
    require_manage(actor)
    clean = _clean(data, partial=False)
    await ensure_default(uow)
    position = (await uow.session.execute(select(func.coalesce(func.max(Pipeline.position), 0)))).scalar_one()
    pipeline = Pipeline(id=uuid.uuid4(), name=clean["name"], is_default=False, position=int(position) + 1,
                        version=1)
    uow.session.add(pipeline)
    await uow.flush()
    if clean.get("is_default"):
        await _make_default(uow, pipeline)
    await _apply_stages(uow, pipeline, [], clean["stages"])
    await uow.session.refresh(pipeline)
    view = PipelineView(pipeline, await _stages(uow, pipeline.id))
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, pipeline.id, "create",
                       audit.diff({}, _summary(view)))
    return view


async def update_pipeline(uow: UnitOfWork, actor: CrmActor, pipeline_id: uuid.UUID, data: dict[str, Any],
                          expected_version: int | None = None) -> PipelineView:
    require_manage(actor)
    view = await get(uow, actor, pipeline_id, for_update=True)
    pipeline = view.pipeline
    if expected_version is not None and expected_version != pipeline.version:
        raise Conflict("This pipeline was changed by someone else; reload it and try again.", "version_conflict")
    clean = _clean(data, partial=True)
    before = _summary(view)
    if clean.get("name"):
        pipeline.name = clean["name"]
    if clean.get("archived") is True and (pipeline.is_default or clean.get("is_default")):
        raise Invalid("Please correct the highlighted fields.",
                      [FieldError("archived", "the default pipeline cannot be archived")])
    if "archived" in clean:
        pipeline.archived_at = (pipeline.archived_at or utcnow()) if clean["archived"] else None
    if clean.get("is_default") is True and not pipeline.is_default:
        await _make_default(uow, pipeline)
    elif clean.get("is_default") is False and pipeline.is_default:
        raise Invalid("Please correct the highlighted fields.",
                      [FieldError("is_default", "make another pipeline the default instead")])
    if "stages" in clean:
        await _apply_stages(uow, pipeline, view.stages, clean["stages"])
    after = PipelineView(pipeline, await _stages(uow, pipeline.id))
    changes = audit.diff(before, _summary(after))
    if changes:
        pipeline.version += 1
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, pipeline.id, "update", changes)
    await uow.flush()
    return after
