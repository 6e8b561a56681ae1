"""Figures of the home dashboard: the pipeline by stage and the recent activity feed.

* Pipeline by stage: the open deals of a pipeline (default: the default one) per open stage, with their number and
  amount per currency; visibility as every report (``scope``).
* Recent activity: the newest audit-log entries the caller may read, i.e. entries about a record the caller can
  see (the same rule as ``GET /audit?record=…``: a record's history is as visible as the record), with the
  record's name and the member's (or API key's) name instead of ids. Only record types with a reader in
  ``READERS`` are shown; add one per new record type (orders, invoices, …).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from backend.db.uow import UnitOfWork
from backend.domains.audit.models import AuditEntry
from backend.domains.crm import contacts, tasks
from backend.domains.crm.activity_models import Interaction, Task
from backend.domains.crm.analytics import people, scope
from backend.domains.crm.analytics.forecast import Money, currency_order, weighted
from backend.domains.crm.analytics.funnel import pipeline_of
from backend.domains.crm.deals_models import Deal, Pipeline
from backend.domains.crm.models import Account, Contact, LegalEntity
from backend.domains.crm.visibility import CrmActor

BATCH = 200
MAX_BATCHES = 5


@dataclass(frozen=True, slots=True)
class StageLoad:
    stage_id: uuid.UUID
    name: str
    probability: Decimal
    deals: int
    amounts: list[Money]


@dataclass(frozen=True, slots=True)
class PipelineLoad:
    pipeline_id: uuid.UUID
    pipeline_name: str
    stages: list[StageLoad]


async def pipeline_by_stage(uow: UnitOfWork, actor: CrmActor, pipeline_id: uuid.UUID | None = None) -> PipelineLoad:
    pipeline, stages = await pipeline_of(uow, pipeline_id)
    stmt = (select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount),
                   func.sum(Deal.amount * Deal.probability))
            .where(Deal.pipeline_id == pipeline.id, Deal.won_at.is_(None), Deal.lost_at.is_(None),
                   Deal.archived_at.is_(None))
            .group_by(Deal.stage_id, Deal.currency))
    visible = scope.deal_clause(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    counts: dict[uuid.UUID, int] = {}
    money: dict[uuid.UUID, list[Money]] = {}
    for stage_id, currency, deals, amount, raw in (await uow.session.execute(stmt)).all():
        counts[stage_id] = counts.get(stage_id, 0) + int(deals)
        if amount is not None:
            money.setdefault(stage_id, []).append(Money(currency, int(deals), Decimal(amount), weighted(raw)))
    return PipelineLoad(pipeline.id, pipeline.name, [
        StageLoad(s.id, s.name, s.probability, counts.get(s.id, 0),
                  sorted(money.get(s.id, []), key=lambda m: currency_order(m.currency)))
        for s in stages if s.kind == "open"])


# --- recent activity ---------------------------------------------------------------------------------------------

Reader = Callable[[UnitOfWork, CrmActor, list[uuid.UUID]], Awaitable[dict[uuid.UUID, str]]]


async def _labels(uow: UnitOfWork, stmt: Any, clause: Any) -> dict[uuid.UUID, str]:
    if clause is not None:
        stmt = stmt.where(clause)
    return {row[0]: row[1] for row in (await uow.session.execute(stmt)).all()}


async def _accounts(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await _labels(uow, select(Account.id, Account.name).where(Account.id.in_(ids)),
                         scope.account_clause(actor))


async def _legal_entities(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    stmt = select(LegalEntity.id, LegalEntity.registered_name).join(Account, Account.id == LegalEntity.account_id)
    return await _labels(uow, stmt.where(LegalEntity.id.in_(ids)), scope.account_clause(actor))


async def _contacts(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    stmt = select(Contact.id, Contact.full_name).outerjoin(Account, Account.id == Contact.account_id)
    return await _labels(uow, stmt.where(Contact.id.in_(ids)), contacts.visible(actor))


async def _deals(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await _labels(uow, select(Deal.id, Deal.title).where(Deal.id.in_(ids)), scope.deal_clause(actor))


async def _pipelines(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await _labels(uow, select(Pipeline.id, Pipeline.name).where(Pipeline.id.in_(ids)), None)


async def _interactions(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    stmt = (select(Interaction.id, func.coalesce(Interaction.subject, Interaction.kind))
            .join(Account, Account.id == Interaction.account_id))
    return await _labels(uow, stmt.where(Interaction.id.in_(ids)), scope.account_clause(actor))


async def _tasks(uow: UnitOfWork, actor: CrmActor, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    limit_to = tasks.visible(actor)
    stmt: Any = select(Task.id, Task.title).where(Task.id.in_(ids))
    return await _labels(uow, stmt if limit_to is None else tasks.joined(stmt), limit_to)


# record type -> labels of the records among ``ids`` that the actor may see
READERS: dict[str, Reader] = {"account": _accounts, "legal_entity": _legal_entities, "contact": _contacts,
                              "deal": _deals, "pipeline": _pipelines, "interaction": _interactions,
                              "task": _tasks}


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    id: int
    occurred_at: datetime
    who: str | None  # member name, or the API key's name; None: unknown (e.g. the system)
    by_api_key: bool
    action: str
    record_type: str
    record_id: uuid.UUID
    label: str


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def recent_activity(uow: UnitOfWork, actor: CrmActor, limit: int = 10) -> list[ActivityEntry]:
    """The newest ``limit`` readable entries, looking back at most ``BATCH x MAX_BATCHES`` entries."""
    kept: list[tuple[AuditEntry, uuid.UUID, str]] = []
    before: int | None = None
    for _ in range(MAX_BATCHES):
        stmt = select(AuditEntry).where(AuditEntry.record_type.in_(list(READERS)))
        if before is not None:
            stmt = stmt.where(AuditEntry.id < before)
        batch = list((await uow.session.execute(stmt.order_by(AuditEntry.id.desc()).limit(BATCH))).scalars())
        ids: dict[str, set[uuid.UUID]] = {}
        for entry in batch:
            if (record_id := _uuid(entry.record_id)) is not None:
                ids.setdefault(entry.record_type, set()).add(record_id)
        labels = {kind: await READERS[kind](uow, actor, sorted(found, key=str)) for kind, found in ids.items()}
        for entry in batch:
            record_id = _uuid(entry.record_id)
            label = labels.get(entry.record_type, {}).get(record_id) if record_id else None
            if record_id is not None and label is not None:
                kept.append((entry, record_id, label))
        if len(kept) >= limit or len(batch) < BATCH:
            break
        before = batch[-1].id
    kept = kept[:limit]
    users = await people.user_names(uow, (e.actor_user_id for e, _, _ in kept))
    keys = await people.api_key_names(uow, (e.actor_api_key_id for e, _, _ in kept))
    return [ActivityEntry(e.id, e.occurred_at,
                          users.get(e.actor_user_id) if e.actor_user_id else keys.get(e.actor_api_key_id)
                          if e.actor_api_key_id else None,
                          e.actor_user_id is None and e.actor_api_key_id is not None,
                          e.action, e.record_type, record_id, label)
            for e, record_id, label in kept]
