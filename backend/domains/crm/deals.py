"""Deals: create, read, list (filters, keyset pages), update with optimistic locking, archive, and the sales
flow: move between stages (the target stage's required fields must be filled), win, lose (a reason is required),
reopen by moving a closed deal back to an open stage. Every move writes a stage history row and an audit row.

Visibility: a deal follows crm/visibility on its own owner; reps also see (and work) deals on shared accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as default
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select

from backend.db.keyset import as_text, as_timestamp, contains_pattern, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import attribution, custom_fields, pipelines
from backend.domains.crm.common import mark_archived
from backend.domains.crm.deals_models import Deal, DealStageMove, Pipeline, PipelineStage
from backend.domains.crm.models import Account
from backend.domains.crm.validate import Fields, is_member
from backend.domains.crm.visibility import OWN_ONLY, CrmActor, can_see, require_create, visible_clause
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "deal"
EDITABLE = ("title", "account_id", "amount", "currency", "probability", "expected_close_date", "owner_user_id",
            "next_action", "next_action_due", "source_channel", "marketing_event_id", "products_of_interest",
            "checklist_done")
CREATE_ONLY = ("pipeline_id", "stage_id")
AUDITED = (*EDITABLE, "pipeline_id", "stage_id", "won_at", "lost_at", "lost_reason")
STATUSES = ("open", "won", "lost")
SORTS = {"title": (Deal.title, False), "-title": (Deal.title, True),
         "created": (Deal.created_at, False), "-created": (Deal.created_at, True)}
MAX_AMOUNT = Decimal("9999999999999999.99")
MAX_PRODUCTS = 20


def snapshot(deal: Deal) -> dict[str, Any]:
    return {field: getattr(deal, field) for field in AUDITED} | custom_fields.audited(deal.custom)


def _products(check: Fields, raw: Any) -> list[str]:
    """Products of interest (names or SKUs until the product catalogue exists): at most 20 texts of 1-80
    characters, blanks dropped, repeats (ignoring case) kept once in the order given."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        check.fail("products_of_interest", "a list of texts")
        return []
    kept: dict[str, str] = {}
    for item in (p.strip() for p in raw):
        if item:
            kept.setdefault(item.casefold(), item)
    products = list(kept.values())
    if len(products) > MAX_PRODUCTS or any(len(p) > 80 for p in products):
        check.fail("products_of_interest", "at most 20 products of 1-80 characters")
    elif any(ord(ch) < 32 or ord(ch) == 127 for p in products for ch in p):
        check.fail("products_of_interest", "no control characters")
    return products


def _validated(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    allowed = (*EDITABLE, "custom") if partial else (*EDITABLE, "custom", *CREATE_ONLY)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field you can change here") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "title" in data:
        clean["title"] = check.text(data, "title", required=True)
    if not partial or "account_id" in data:
        clean["account_id"] = check.uuid(data, "account_id")
        if clean["account_id"] is None and not any(e.field == "account_id" for e in check.errors):
            check.fail("account_id", "required")
    if "amount" in data:
        clean["amount"] = pipelines.decimal_value(check, data, "amount", low=Decimal(0), high=MAX_AMOUNT)
    if "probability" in data:
        clean["probability"] = pipelines.decimal_value(check, data, "probability", low=Decimal(0), high=Decimal(100))
    if "currency" in data:
        currency = check.text(data, "currency", max_len=3)
        if currency is not None and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            check.fail("currency", "a three-letter currency code")
        clean["currency"] = currency.upper() if currency else None
    for field in ("expected_close_date", "next_action_due"):
        if field in data:
            clean[field] = check.date(data, field)
    for field, size in (("next_action", 200), ("source_channel", 64)):
        if field in data:
            clean[field] = check.text(data, field, max_len=size)
    for field in ("owner_user_id", "pipeline_id", "stage_id", "marketing_event_id"):
        if field in data:
            clean[field] = check.uuid(data, field)
    if "products_of_interest" in data:
        clean["products_of_interest"] = _products(check, data["products_of_interest"])
    if "checklist_done" in data:
        clean["checklist_done"] = pipelines.checklist_items(check, data["checklist_done"], "checklist_done")
    check.done()
    return clean


async def _check_relations(uow: UnitOfWork, actor: CrmActor, clean: dict[str, Any], data: dict[str, Any],
                           current: Deal | None = None) -> None:
    """Owner, account, campaign attribution and the custom values (merged into ``clean["custom"]``)."""
    check = Fields()
    if current is None or "custom" in data:
        clean["custom"] = await custom_fields.validate_values(uow, "deal", data.get("custom"), check=check,
                                                              current=current.custom if current else None)
    if "marketing_event_id" in clean:
        await attribution.check_event(uow, check, clean["marketing_event_id"],
                                      current.marketing_event_id if current else None)
    if "owner_user_id" in clean and clean["owner_user_id"] is not None:
        owner = clean["owner_user_id"]
        if not actor.edits_all and owner != actor.user_id:
            check.fail("owner_user_id", "reps can only assign records to themselves")
        elif not await is_member(uow, owner):
            check.fail("owner_user_id", "not a member of this company")
    if clean.get("account_id") is not None:
        account = await uow.session.get(Account, clean["account_id"])
        if account is None or not can_see(actor, account.owner_user_id, account.is_shared):
            check.fail("account_id", "no such account")
        elif account.archived_at is not None:
            check.fail("account_id", "the account is archived")
    check.done()


# --- visibility --------------------------------------------------------------------------------------------------

def visible(actor: CrmActor) -> Any:
    """WHERE clause over ``deals JOIN accounts``: deals by owner rule, or deals on shared accounts."""
    by_owner = visible_clause(actor, Deal.owner_user_id)
    return None if by_owner is None else or_(by_owner, Account.is_shared.is_(True))


def _sees(actor: CrmActor, deal: Deal, account: Account) -> bool:
    return can_see(actor, deal.owner_user_id) or account.is_shared


def _require_edit(actor: CrmActor, deal: Deal, account: Account) -> None:
    if actor.edits_all or (actor.role in OWN_ONLY and _sees(actor, deal, account)):
        return
    raise Forbidden("Your role cannot change this record.", "crm_read_only")


async def _load(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID, *, for_update: bool = False) -> Deal:
    query = select(Deal, Account).join(Account, Account.id == Deal.account_id).where(Deal.id == deal_id)
    if for_update:
        query = query.with_for_update(of=Deal)
    found = (await uow.session.execute(query)).one_or_none()
    if found is None or not _sees(actor, found[0], found[1]):
        raise NotFound("No such deal.", "deal_not_found")
    if for_update:
        _require_edit(actor, found[0], found[1])
    return found[0]


async def get(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID) -> Deal:
    """One deal, if visible to ``actor`` (404 otherwise)."""
    return await _load(uow, actor, deal_id)


def _check_version(deal: Deal, expected: int | None) -> None:
    if expected is not None and expected != deal.version:
        raise Conflict("This deal was changed by someone else; reload it and try again.", "version_conflict")


# --- stages ------------------------------------------------------------------------------------------------------

async def _stage(uow: UnitOfWork, pipeline_id: uuid.UUID, stage_id: uuid.UUID | None, kind: str | None = None,
                 field: str = "stage_id") -> PipelineStage:
    query = select(PipelineStage).where(PipelineStage.pipeline_id == pipeline_id)
    if stage_id is not None:
        query = query.where(PipelineStage.id == stage_id)
    if kind is not None:
        query = query.where(PipelineStage.kind == kind)
    stage = (await uow.session.execute(query.order_by(PipelineStage.position).limit(1))).scalar_one_or_none()
    if stage is None:
        raise Invalid("Please correct the highlighted fields.", [FieldError(field, "no such stage in this pipeline")])
    return stage


def _require_fields(deal: Deal, stage: PipelineStage) -> None:
    missing = [f for f in stage.required_fields if getattr(deal, f) in (None, "")]
    unticked = [item for item in (stage.checklist or []) if item not in set(deal.checklist_done or [])]
    if missing or unticked:
        raise Invalid("This stage needs more details on the deal.",
                      [FieldError(f, "required by this stage") for f in missing]
                      + [FieldError(f"checklist_done[{item}]", "a checklist item of this stage, not ticked yet")
                         for item in unticked], "stage_requirements")


def _enter(deal: Deal, stage: PipelineStage, reason: str | None) -> None:
    deal.stage_id, deal.probability = stage.id, stage.probability
    deal.won_at = utcnow() if stage.kind == "won" else None
    deal.lost_at = utcnow() if stage.kind == "lost" else None
    deal.lost_reason = reason if stage.kind == "lost" else None


async def _move(uow: UnitOfWork, actor: CrmActor, deal: Deal, stage: PipelineStage, action: str,
                reason: str | None = None) -> Deal:
    if stage.id == deal.stage_id:
        return deal
    _require_fields(deal, stage)
    before, from_stage = snapshot(deal), deal.stage_id
    _enter(deal, stage, reason)
    deal.version += 1
    deal.updated_at = utcnow()
    uow.session.add(DealStageMove(deal_id=deal.id, from_stage_id=from_stage, to_stage_id=stage.id,
                                  moved_by_user_id=actor.user_id, moved_by_api_key_id=actor.api_key_id))
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, deal.id, action,
                       audit.diff(before, snapshot(deal)))
    await uow.flush()
    return deal


async def move_stage(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID, stage_id: uuid.UUID,
                     expected_version: int | None = None) -> Deal:
    """Move to a stage of the deal's pipeline; a closed deal moved to an open stage is reopened."""
    deal = await _load(uow, actor, deal_id, for_update=True)
    _check_version(deal, expected_version)
    stage = await _stage(uow, deal.pipeline_id, stage_id)
    if stage.kind == "lost":
        raise Invalid("Please correct the highlighted fields.",
                      [FieldError("stage_id", "use lose to mark a deal as lost, with a reason")])
    action = "reopen" if deal.won_at or deal.lost_at else ("win" if stage.kind == "won" else "move")
    return await _move(uow, actor, deal, stage, action)


async def win(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID, expected_version: int | None = None) -> Deal:
    deal = await _load(uow, actor, deal_id, for_update=True)
    _check_version(deal, expected_version)
    return await _move(uow, actor, deal, await _stage(uow, deal.pipeline_id, None, "won"), "win")


async def lose(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID, reason: Any,
               expected_version: int | None = None) -> Deal:
    check = Fields()
    text = check.text({"reason": reason}, "reason", required=True, max_len=2000, multiline=True)
    check.done("A reason is required to mark a deal as lost.")
    deal = await _load(uow, actor, deal_id, for_update=True)
    _check_version(deal, expected_version)
    return await _move(uow, actor, deal, await _stage(uow, deal.pipeline_id, None, "lost"), "lose", text)


async def history(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID) -> list[DealStageMove]:
    """Stage moves, oldest first (the first row is the stage the deal was created in)."""
    deal = await _load(uow, actor, deal_id)
    query = select(DealStageMove).where(DealStageMove.deal_id == deal.id).order_by(DealStageMove.id).limit(1000)
    return list((await uow.session.execute(query)).scalars())


# --- writes ------------------------------------------------------------------------------------------------------

async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Deal:
    require_create(actor)
    clean = _validated(data, partial=False)
    if "owner_user_id" not in clean:
        clean["owner_user_id"] = actor.user_id
    await _check_relations(uow, actor, clean, data)
    pipeline_id = clean.pop("pipeline_id", None)
    if pipeline_id is None:
        pipeline_id = (await pipelines.ensure_default(uow)).id
    pipeline = await uow.session.get(Pipeline, pipeline_id)
    if pipeline is None or pipeline.archived_at is not None:
        raise Invalid("Please correct the highlighted fields.", [FieldError("pipeline_id", "no such pipeline")])
    stage = await _stage(uow, pipeline.id, clean.pop("stage_id", None), "open")
    probability = clean.pop("probability", None)
    deal = Deal(id=uuid.uuid4(), pipeline_id=pipeline.id, created_by=actor.user_id, version=1, **clean)
    _enter(deal, stage, None)
    if probability is not None:
        deal.probability = probability
    _require_fields(deal, stage)
    uow.session.add(deal)
    await uow.flush()
    uow.session.add(DealStageMove(deal_id=deal.id, from_stage_id=None, to_stage_id=stage.id,
                                  moved_by_user_id=actor.user_id, moved_by_api_key_id=actor.api_key_id))
    await uow.flush()
    await uow.session.refresh(deal)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, deal.id, "create",
                       audit.diff({}, snapshot(deal)))
    return deal


async def update(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> Deal:
    deal = await _load(uow, actor, deal_id, for_update=True)
    _check_version(deal, expected_version)
    clean = _validated(data, partial=True)
    await _check_relations(uow, actor, clean, data, deal)
    before = snapshot(deal)
    for field, value in clean.items():
        setattr(deal, field, value)
    if deal.probability is None:
        deal.probability = (await _stage(uow, deal.pipeline_id, deal.stage_id)).probability
    changes = custom_fields.changes(before, snapshot(deal))
    if changes:
        deal.version += 1
        deal.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, deal.id, "update", changes)
    await uow.flush()
    return deal


async def archive(uow: UnitOfWork, actor: CrmActor, deal_id: uuid.UUID, expected_version: int | None = None) -> Deal:
    deal = await _load(uow, actor, deal_id, for_update=True)
    _check_version(deal, expected_version)
    await mark_archived(uow, actor, deal, RECORD)
    return deal


@dataclass(slots=True)
class StageTotal:
    """How many deals a stage holds and what they add up to, per currency (None: amounts without currency)."""

    count: int = 0
    sums: dict[str | None, Decimal] = default(default_factory=dict)


Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


async def _filtered(uow: UnitOfWork, query: Query, actor: CrmActor, *, pipeline_id: uuid.UUID | None = None,
                    stage_id: uuid.UUID | None = None, account_id: uuid.UUID | None = None,
                    owner_user_id: uuid.UUID | None = None, status: str | None = None, q: str | None = None,
                    include_archived: bool = False, marketing_event_id: uuid.UUID | None = None,
                    custom: Sequence[tuple[str, str]] = ()) -> Query:
    """``query`` (over ``deals JOIN accounts``) limited to the visible deals matching the filters; ``custom``:
    ``(cf.<key>[.gte|.lte], value)`` filters (see custom_fields.filter_clauses)."""
    if status is not None and status not in STATUSES:
        raise Invalid("Unknown status.", [FieldError("status", "one of: open, won, lost")])
    limit_to = visible(actor)
    if limit_to is not None:
        query = query.where(limit_to)
    if not include_archived:
        query = query.where(Deal.archived_at.is_(None))
    for col, value in ((Deal.pipeline_id, pipeline_id), (Deal.stage_id, stage_id), (Deal.account_id, account_id),
                       (Deal.owner_user_id, owner_user_id), (Deal.marketing_event_id, marketing_event_id)):
        if value is not None:
            query = query.where(col == value)
    for clause in await custom_fields.filter_clauses(uow, "deal", Deal.custom, custom):
        query = query.where(clause)
    if status == "open":
        query = query.where(and_(Deal.won_at.is_(None), Deal.lost_at.is_(None)))
    elif status == "won":
        query = query.where(Deal.won_at.is_not(None))
    elif status == "lost":
        query = query.where(Deal.lost_at.is_not(None))
    if q and q.strip():
        query = query.where(Deal.title.ilike(contains_pattern(q.strip()), escape="\\"))
    return query


async def list_deals(
    uow: UnitOfWork, actor: CrmActor, *, pipeline_id: uuid.UUID | None = None, stage_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None, owner_user_id: uuid.UUID | None = None, status: str | None = None,
    q: str | None = None, include_archived: bool = False, sort: str = "-created", cursor: str | None = None,
    limit: int = 50, marketing_event_id: uuid.UUID | None = None, custom: Sequence[tuple[str, str]] = (),
) -> PageOf[Deal]:
    """Visible deals; ``q`` matches anywhere in the title (case-insensitive)."""
    limit = clamp_limit(limit)
    if sort not in SORTS:
        raise Invalid("Unknown sort.", [FieldError("sort", "one of: title, -title, created, -created")])
    column, descending = SORTS[sort]
    query = await _filtered(uow, select(Deal).join(Account, Account.id == Deal.account_id), actor,
                            pipeline_id=pipeline_id, stage_id=stage_id, account_id=account_id,
                            owner_user_id=owner_user_id, status=status, q=q, include_archived=include_archived,
                            marketing_event_id=marketing_event_id, custom=custom)
    by_title = sort.lstrip("-") == "title"
    return await keyset_page(
        uow.session, query, sort_column=column, id_column=Deal.id, descending=descending, cursor=cursor,
        limit=limit, value_of=(lambda d: d.title) if by_title else (lambda d: d.created_at),
        parse_value=as_text if by_title else as_timestamp,
    )


async def stage_totals(uow: UnitOfWork, actor: CrmActor, pipeline_id: uuid.UUID, *,
                       owner_user_id: uuid.UUID | None = None, q: str | None = None) -> dict[uuid.UUID, StageTotal]:
    """Per stage of a pipeline: the count of visible deals and their amounts summed per currency (one query)."""
    query = (select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount))
             .join(Account, Account.id == Deal.account_id))
    query = await _filtered(uow, query, actor, pipeline_id=pipeline_id, owner_user_id=owner_user_id, q=q)
    totals: dict[uuid.UUID, StageTotal] = {}
    rows = await uow.session.execute(query.group_by(Deal.stage_id, Deal.currency).order_by(Deal.stage_id,
                                                                                            Deal.currency))
    for row in rows.all():
        total = totals.setdefault(row[0], StageTotal())
        total.count += int(row[2])
        if row[3] is not None:
            total.sums[row[1]] = total.sums.get(row[1], Decimal(0)) + Decimal(row[3])
    return totals
