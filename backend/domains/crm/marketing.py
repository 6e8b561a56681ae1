"""Marketing events and channels (exhibitions, seminars, ads, ...) with a budget, and their ROI.

Every member reads events; owners, admins and managers create, change and archive them. Accounts and deals are
attributed to an event through ``marketing_event_id`` (only an existing, unarchived event can be chosen).

ROI of an event = won revenue / budget, in the event's currency:

* won revenue: the sum of the amounts of won, unarchived deals attributed to the event *in the event's currency*;
  deals in other currencies (or without one) are reported per currency in ``other_currencies`` and never summed
  with it; a won deal without an amount counts as a won deal worth nothing;
* open pipeline: the same sum over open deals; attributed accounts: unarchived accounts attributed to the event;
* ``roi`` = won revenue / budget rounded half-up to 4 decimals, None when the budget is 0;
* the figures cover the deals and accounts the caller may see (crm/visibility): complete for roles that see
  everything, the caller's share for a rep (``complete`` tells which).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, func, select

from backend.db.keyset import as_text, as_timestamp, contains_pattern, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import deals as deal_service
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.marketing_models import CHANNELS, MarketingEvent
from backend.domains.crm.models import Account
from backend.domains.crm.pipelines import decimal_value
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "marketing_event"
INPUT = ("name", "channel", "starts_on", "ends_on", "budget", "currency", "notes", "archived")
AUDITED = ("name", "channel", "starts_on", "ends_on", "budget", "currency", "notes")
MAX_BUDGET = Decimal("9999999999999999.99")
SORTS = {"name": (MarketingEvent.name, False), "-name": (MarketingEvent.name, True),
         "created": (MarketingEvent.created_at, False), "-created": (MarketingEvent.created_at, True)}
ROI_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CurrencyFigures:
    currency: str | None
    won_revenue: Decimal
    won_deals: int
    open_pipeline: Decimal
    open_deals: int


@dataclass(frozen=True, slots=True)
class Roi:
    event: MarketingEvent
    won_revenue: Decimal
    won_deals: int
    open_pipeline: Decimal
    open_deals: int
    attributed_accounts: int
    roi: Decimal | None
    complete: bool
    other_currencies: list[CurrencyFigures] = field(default_factory=list)


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENTS)


def require_manage(actor: CrmActor) -> None:
    if not actor.edits_all:
        raise Forbidden("Only owners, admins and managers can change marketing events.", "crm_read_only")


def snapshot(event: MarketingEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AUDITED}


def _clean(data: dict[str, Any], current: MarketingEvent | None) -> dict[str, Any]:
    unknown = sorted(set(data) - set(INPUT if current is not None else INPUT[:-1]))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of a marketing event") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if current is None or "name" in data:
        clean["name"] = check.text(data, "name", required=True)
    if current is None or "channel" in data:
        clean["channel"] = check.choice(data, "channel", CHANNELS)
    for name in ("starts_on", "ends_on"):
        if name in data:
            clean[name] = check.date(data, name)
    if "budget" in data:
        clean["budget"] = decimal_value(check, data, "budget", low=Decimal(0), high=MAX_BUDGET)
        if clean["budget"] is None and current is not None and not any(e.field == "budget" for e in check.errors):
            check.fail("budget", "required (0 when there is none)")
    if current is None or "currency" in data:
        currency = check.text(data, "currency", required=True, max_len=3)
        if currency is not None and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            check.fail("currency", "a three-letter currency code")
        clean["currency"] = currency.upper() if currency else None
    if "notes" in data:
        clean["notes"] = check.text(data, "notes", max_len=10_000, multiline=True)
    if "archived" in data:
        clean["archived"] = bool(check.flag(data, "archived"))
    starts = clean.get("starts_on", current.starts_on if current is not None else None)
    ends = clean.get("ends_on", current.ends_on if current is not None else None)
    if starts is not None and ends is not None and ends < starts:
        check.fail("ends_on", "on or after the start date")
    check.done()
    return clean


async def get(uow: UnitOfWork, actor: CrmActor, event_id: uuid.UUID, *, for_update: bool = False) -> MarketingEvent:
    query = select(MarketingEvent).where(MarketingEvent.id == event_id)
    if for_update:
        query = query.with_for_update()
    found = (await uow.session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound("No such marketing event.", "marketing_event_not_found")
    return found


async def list_events(uow: UnitOfWork, actor: CrmActor, *, q: str | None = None, channel: str | None = None,
                      include_archived: bool = False, sort: str = "-created", cursor: str | None = None,
                      limit: int = 50) -> PageOf[MarketingEvent]:
    limit = clamp_limit(limit)
    if sort not in SORTS:
        raise Invalid("Unknown sort.", [FieldError("sort", "one of: " + ", ".join(SORTS))])
    if channel is not None and channel not in CHANNELS:
        raise Invalid("Unknown channel.", [FieldError("channel", "one of: " + ", ".join(CHANNELS))])
    column, descending = SORTS[sort]
    query = select(MarketingEvent)
    if not include_archived:
        query = query.where(MarketingEvent.archived_at.is_(None))
    if channel is not None:
        query = query.where(MarketingEvent.channel == channel)
    if q and q.strip():
        query = query.where(MarketingEvent.name.ilike(contains_pattern(q.strip()), escape="\\"))
    by_name = sort.lstrip("-") == "name"
    return await keyset_page(
        uow.session, query, sort_column=column, id_column=MarketingEvent.id, descending=descending, cursor=cursor,
        limit=limit, value_of=(lambda e: e.name) if by_name else (lambda e: e.created_at),
        parse_value=as_text if by_name else as_timestamp,
    )


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> MarketingEvent:
    require_manage(actor)
    clean = _clean(data, None)
    clean["budget"] = clean.get("budget") or Decimal("0.00")
    event = MarketingEvent(id=uuid.uuid4(), created_by=actor.user_id, version=1, **clean)
    uow.session.add(event)
    await uow.flush()
    await uow.session.refresh(event)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, event.id, "create",
                       audit.diff({}, snapshot(event)))
    return event


async def update(uow: UnitOfWork, actor: CrmActor, event_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> MarketingEvent:
    require_manage(actor)
    event = await get(uow, actor, event_id, for_update=True)
    if expected_version is not None and expected_version != event.version:
        raise Conflict("This marketing event was changed by someone else; reload it and try again.",
                       "version_conflict")
    clean = _clean(data, event)
    archived = clean.pop("archived", None)
    before = snapshot(event)
    for name, value in clean.items():
        setattr(event, name, value)
    action = "update"
    if archived is not None and archived != (event.archived_at is not None):
        event.archived_at = utcnow() if archived else None
        action = "archive" if archived else "restore"
    changes = audit.diff(before, snapshot(event))
    if changes or action != "update":
        event.version += 1
        event.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, event.id, action, changes)
    await uow.flush()
    return event


async def archive(uow: UnitOfWork, actor: CrmActor, event_id: uuid.UUID,
                  expected_version: int | None = None) -> MarketingEvent:
    """Archived events keep their attributions and ROI but cannot be chosen for new ones."""
    return await update(uow, actor, event_id, {"archived": True}, expected_version)


async def roi(uow: UnitOfWork, actor: CrmActor, event_id: uuid.UUID) -> Roi:
    event = await get(uow, actor, event_id)
    won, still_open = Deal.won_at.is_not(None), and_(Deal.won_at.is_(None), Deal.lost_at.is_(None))
    per_currency = (
        select(Deal.currency,
               func.coalesce(func.sum(Deal.amount).filter(won), 0), func.count().filter(won),
               func.coalesce(func.sum(Deal.amount).filter(still_open), 0), func.count().filter(still_open))
        .join(Account, Account.id == Deal.account_id)
        .where(Deal.marketing_event_id == event.id, Deal.archived_at.is_(None))
        .group_by(Deal.currency).order_by(Deal.currency.nulls_last())
    )
    accounts = select(func.count()).select_from(Account).where(Account.marketing_event_id == event.id,
                                                               Account.archived_at.is_(None))
    deals_visible = deal_service.visible(actor)
    if deals_visible is not None:
        per_currency = per_currency.where(deals_visible)
    accounts_visible = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    if accounts_visible is not None:
        accounts = accounts.where(accounts_visible)
    figures = [CurrencyFigures(currency, _money(won_sum), int(won_count), _money(open_sum), int(open_count))
               for currency, won_sum, won_count, open_sum, open_count in (await uow.session.execute(per_currency))]
    own = next((f for f in figures if f.currency == event.currency),
               CurrencyFigures(event.currency, Decimal("0.00"), 0, Decimal("0.00"), 0))
    ratio = None if event.budget == 0 else (own.won_revenue / event.budget).quantize(ROI_PLACES, ROUND_HALF_UP)
    return Roi(event=event, won_revenue=own.won_revenue, won_deals=own.won_deals, open_pipeline=own.open_pipeline,
               open_deals=own.open_deals, attributed_accounts=int((await uow.session.execute(accounts)).scalar_one()),
               roi=ratio, complete=actor.sees_all,
               other_currencies=[f for f in figures if f.currency != event.currency])
