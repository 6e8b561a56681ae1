"""Interactions: meetings, calls, SMS, emails, visits and notes logged against an account.

Rules:
* An interaction belongs to one account (required); it may name a contact (visible to the author, and on the same
  account unless the contact has none) and a deal (visible, on the same account).
* Kind-specific fields: ``direction`` (inbound/outbound) for calls (required), SMS and email; ``duration_seconds``
  for calls; ``latitude``/``longitude`` (together, NUMERIC, rounded to 6 decimals) and ``address`` for visits.
  A note needs a body.
* ``occurred_at`` defaults to now and may be at most one day in the future. ``source`` (web, api, bot, email)
  says which channel logged it, so the bot and inbound mail write into the same table.
* Visibility follows the account (crm/visibility): whoever sees the account sees its interactions. The author
  (user or API key) may edit and archive their own; owner, admin and manager may edit all.
* Every create, update and archive is audited; interactions are archived, never erased.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select

from backend.db.keyset import as_timestamp, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import contacts, deals
from backend.domains.crm.accounts import check_version
from backend.domains.crm.activity_models import DIRECTIONS, INTERACTION_KINDS, SOURCES, Interaction
from backend.domains.crm.activity_time import instant
from backend.domains.crm.common import mark_archived
from backend.domains.crm.models import Account
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor, can_see, require_create, visible_clause
from backend.kit.clock import utcnow
from backend.kit.errors import FieldError, Forbidden, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "interaction"
INPUT = ("kind", "account_id", "contact_id", "deal_id", "occurred_at", "subject", "body", "direction",
         "duration_seconds", "latitude", "longitude", "address", "source")
STORED = INPUT  # what the audit trail records: everything a client may send
FUTURE_SLACK = timedelta(days=1)
MAX_DURATION = 86_400
SIX_PLACES = Decimal("0.000001")


def snapshot(item: Interaction) -> dict[str, Any]:
    return {f: getattr(item, f) for f in STORED}


# --- validation --------------------------------------------------------------------------------------------------

def _coordinate(check: Fields, data: dict[str, Any], field: str, limit: int) -> Decimal | None:
    """Degrees as a Decimal (from a Decimal, a string or a number), within ±limit, rounded to 6 decimals."""
    raw = data.get(field)
    if raw is None or raw == "":
        return None
    value: Decimal | None = None
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int | float | str) and not isinstance(raw, bool):
        try:
            value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite():
        check.fail(field, "a decimal number of degrees")
        return None
    if not -limit <= value <= limit:
        if limit == 90:
            check.fail(field, "between -90 and 90")
        else:
            check.fail(field, "between -180 and 180")
        return None
    return value.quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)


def _duration(check: Fields, data: dict[str, Any]) -> int | None:
    raw = data.get("duration_seconds")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_DURATION:
        check.fail("duration_seconds", "whole seconds from 0 to 86400")
        return None
    return raw


def _validated(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - set(INPUT))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of an interaction") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "kind" in data:
        clean["kind"] = check.choice(data, "kind", INTERACTION_KINDS)
    if not partial or "account_id" in data:
        clean["account_id"] = check.uuid(data, "account_id")
        if clean["account_id"] is None and not any(e.field == "account_id" for e in check.errors):
            check.fail("account_id", "required")
    for name in ("contact_id", "deal_id"):
        if name in data:
            clean[name] = check.uuid(data, name)
    if "occurred_at" in data:
        clean["occurred_at"] = instant(check, data, "occurred_at")
        if clean["occurred_at"] is not None and clean["occurred_at"] > utcnow() + FUTURE_SLACK:
            check.fail("occurred_at", "at most one day in the future")
    if "subject" in data:
        clean["subject"] = check.text(data, "subject", max_len=200)
    if "body" in data:
        clean["body"] = check.text(data, "body", max_len=20_000, multiline=True)
    if "address" in data:
        clean["address"] = check.text(data, "address", max_len=300)
    if data.get("direction") is not None:
        clean["direction"] = check.choice(data, "direction", DIRECTIONS)
    elif "direction" in data:
        clean["direction"] = None
    if "duration_seconds" in data:
        clean["duration_seconds"] = _duration(check, data)
    if "latitude" in data:
        clean["latitude"] = _coordinate(check, data, "latitude", 90)
    if "longitude" in data:
        clean["longitude"] = _coordinate(check, data, "longitude", 180)
    if "source" in data:
        clean["source"] = check.choice(data, "source", SOURCES)
    check.done()
    return clean


def _check_shape(result: dict[str, Any], sent: set[str]) -> None:
    """Cross-field rules on the record as it would be stored (errors name the fields the client sent)."""
    check = Fields()
    kind = result["kind"]

    def stray(name: str, kinds: tuple[str, ...]) -> str | None:
        """The field to blame when ``name`` is set on a kind that does not carry it (None: fine)."""
        if result.get(name) is None or kind in kinds:
            return None
        return name if name in sent else "kind"

    if (blame := stray("direction", ("call", "sms", "email"))) is not None:
        check.fail(blame, "only for calls, SMS and emails")
    if (blame := stray("duration_seconds", ("call",))) is not None:
        check.fail(blame, "only for calls")
    for name in ("latitude", "longitude", "address"):
        if (blame := stray(name, ("visit",))) is not None:
            check.fail(blame, "only for visits")
    if kind == "call" and result.get("direction") is None:
        check.fail("direction", "required for a call: inbound or outbound")
    if (result.get("latitude") is None) != (result.get("longitude") is None):
        missing = "longitude" if result.get("longitude") is None else "latitude"
        check.fail(missing, "give latitude and longitude together")
    if kind == "note" and not result.get("body"):
        check.fail("body", "required for a note")
    check.done()


async def _check_relations(uow: UnitOfWork, actor: CrmActor, result: dict[str, Any], changed: set[str]) -> None:
    """The account must be visible and open; the contact and deal visible and on that account."""
    check = Fields()
    account_id = result["account_id"]
    if "account_id" in changed:
        account = await uow.session.get(Account, account_id)
        if account is None or not can_see(actor, account.owner_user_id, account.is_shared):
            check.fail("account_id", "no such account")
            check.done()
        elif account.archived_at is not None:
            check.fail("account_id", "the account is archived")
    contact_id = result.get("contact_id")
    if contact_id is not None and changed & {"account_id", "contact_id"}:
        try:
            contact = await contacts.get(uow, actor, contact_id)
        except NotFound:
            check.fail("contact_id", "no such contact")
        else:
            if contact.account_id is not None and contact.account_id != account_id:
                check.fail("contact_id", "the contact belongs to another account")
            elif contact.archived_at is not None and "contact_id" in changed:
                check.fail("contact_id", "the contact is archived")
    deal_id = result.get("deal_id")
    if deal_id is not None and changed & {"account_id", "deal_id"}:
        try:
            deal = await deals.get(uow, actor, deal_id)
        except NotFound:
            check.fail("deal_id", "no such deal")
        else:
            if deal.account_id != account_id:
                check.fail("deal_id", "the deal is on another account")
            elif deal.archived_at is not None and "deal_id" in changed:
                check.fail("deal_id", "the deal is archived")
    check.done()


# --- reads -------------------------------------------------------------------------------------------------------

def _is_author(actor: CrmActor, item: Interaction) -> bool:
    return ((actor.user_id is not None and item.author_user_id == actor.user_id)
            or (actor.api_key_id is not None and item.author_api_key_id == actor.api_key_id))


def _require_edit(actor: CrmActor, item: Interaction) -> None:
    if actor.edits_all or (actor.may_write and _is_author(actor, item)):
        return
    raise Forbidden("Only the author or a manager can change this interaction.", "crm_read_only")


async def _load(uow: UnitOfWork, actor: CrmActor, interaction_id: uuid.UUID, *,
                for_update: bool = False) -> Interaction:
    query = (select(Interaction, Account).join(Account, Account.id == Interaction.account_id)
             .where(Interaction.id == interaction_id))
    if for_update:
        query = query.with_for_update(of=Interaction)
    found = (await uow.session.execute(query)).one_or_none()
    if found is None or not can_see(actor, found[1].owner_user_id, found[1].is_shared):
        raise NotFound("No such interaction.", "interaction_not_found")
    if for_update:
        _require_edit(actor, found[0])
    return found[0]


async def get(uow: UnitOfWork, actor: CrmActor, interaction_id: uuid.UUID) -> Interaction:
    """One interaction, if its account is visible to ``actor`` (404 otherwise)."""
    return await _load(uow, actor, interaction_id)


def visible_query(actor: CrmActor) -> Select[Any]:
    """Interactions joined to their account, limited to accounts ``actor`` may see."""
    query = select(Interaction).join(Account, Account.id == Interaction.account_id)
    limit_to = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    return query if limit_to is None else query.where(limit_to)


async def list_interactions(
    uow: UnitOfWork, actor: CrmActor, *, account_id: uuid.UUID | None = None, contact_id: uuid.UUID | None = None,
    deal_id: uuid.UUID | None = None, kind: str | None = None, author_user_id: uuid.UUID | None = None,
    since: datetime | None = None, until: datetime | None = None, include_archived: bool = False,
    cursor: str | None = None, limit: int = 50,
) -> PageOf[Interaction]:
    """Newest first (occurred_at, then id), keyset pages; ``since``/``until`` bound a half-open period."""
    limit = clamp_limit(limit)
    if kind is not None and kind not in INTERACTION_KINDS:
        raise Invalid("Unknown kind.", [FieldError("kind", "one of: " + ", ".join(INTERACTION_KINDS))])
    query = visible_query(actor)
    if not include_archived:
        query = query.where(Interaction.archived_at.is_(None))
    for column, value in ((Interaction.account_id, account_id), (Interaction.contact_id, contact_id),
                          (Interaction.deal_id, deal_id), (Interaction.kind, kind),
                          (Interaction.author_user_id, author_user_id)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Interaction.occurred_at >= since)
    if until is not None:
        query = query.where(Interaction.occurred_at < until)
    return await keyset_page(uow.session, query, sort_column=Interaction.occurred_at, id_column=Interaction.id,
                             descending=True, cursor=cursor, limit=limit, value_of=lambda i: i.occurred_at,
                             parse_value=as_timestamp)


async def last_interaction_at(uow: UnitOfWork, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """The newest (not archived) interaction time per account: one index probe per account."""
    if not account_ids:
        return {}
    newest = (select(Interaction.occurred_at)
              .where(Interaction.account_id == Account.id, Interaction.archived_at.is_(None))
              .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(1)
              .correlate(Account).scalar_subquery())
    rows = (await uow.session.execute(select(Account.id, newest).where(Account.id.in_(account_ids)))).all()
    return {row[0]: row[1] for row in rows if row[1] is not None}


# --- writes ------------------------------------------------------------------------------------------------------

async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Interaction:
    require_create(actor)
    clean = _validated(data, partial=False)
    result: dict[str, Any] = dict.fromkeys(STORED) | clean
    result["source"] = result["source"] or "web"
    result["occurred_at"] = result["occurred_at"] or utcnow()
    _check_shape(result, set(data))
    await _check_relations(uow, actor, result, set(INPUT))
    item = Interaction(id=uuid.uuid4(), author_user_id=actor.user_id, author_api_key_id=actor.api_key_id,
                       version=1, **result)
    uow.session.add(item)
    await uow.flush()
    await uow.session.refresh(item)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, item.id, "create",
                       audit.diff({}, snapshot(item)))
    return item


async def update(uow: UnitOfWork, actor: CrmActor, interaction_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> Interaction:
    """PATCH semantics; the merged record is checked as a whole (e.g. a call may not become a visit with a
    direction). Nothing is written unless everything is valid."""
    item = await _load(uow, actor, interaction_id, for_update=True)
    check_version(item.version, expected_version, "interaction")
    clean = _validated(data, partial=True)
    if "occurred_at" in clean and clean["occurred_at"] is None:
        raise Invalid("Please correct the highlighted fields.", [FieldError("occurred_at", "required")])
    if "source" in clean and clean["source"] is None:
        raise Invalid("Please correct the highlighted fields.", [FieldError("source", "required")])
    before = snapshot(item)
    result = before | clean
    _check_shape(result, set(data))
    await _check_relations(uow, actor, result, {k for k in clean if clean[k] != before.get(k)})
    for name, value in clean.items():
        setattr(item, name, value)
    changes = audit.diff(before, snapshot(item))
    if changes:
        item.version += 1
        item.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, item.id, "update", changes)
    await uow.flush()
    return item


async def archive(uow: UnitOfWork, actor: CrmActor, interaction_id: uuid.UUID,
                  expected_version: int | None = None) -> Interaction:
    item = await _load(uow, actor, interaction_id, for_update=True)
    check_version(item.version, expected_version, "interaction")
    await mark_archived(uow, actor, item, RECORD)
    return item
