"""CSV export of the CRM lists with the list's own filters, sorts and visibility.

Rows come from the very list functions the API and the pages use (``accounts.list_accounts`` …), one keyset page
of 200 at a time, so an export never holds more than a page in memory and never shows a row the list would hide.
The first page is read inside the request (bad filters answer 422 before anything is streamed) and the export is
audited there (who, which list, which filters); the adapter opens a fresh short transaction for each further page.

The file is UTF-8 with a byte order mark (Excel then shows Korean, Japanese and Russian correctly), CRLF line
ends, and every cell that a spreadsheet would read as a formula (``= + - @``, tab, carriage return first) starts
with an apostrophe. Column names are the import's field names, so an export can be imported again.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import accounts, contacts, deals
from backend.domains.crm.deals_models import Deal, PipelineStage
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.visibility import CrmActor, can_see
from backend.domains.identity.models import User
from backend.kit.pagination import PageOf

log = logging.getLogger(__name__)
BATCH = 200
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENTITIES = ("accounts", "contacts", "deals")

HEADERS: dict[str, list[str]] = {
    "accounts": ["id", "name", "kind", "status", "parent", "parent_id", "owner_email", "is_shared", "tags",
                 "source_channel", "website", "notes", "created_at", "updated_at", "archived_at"],
    "contacts": ["id", "full_name", "job_title", "account", "account_id", "email", "phone", "roles", "owner_email",
                 "email_consent", "email_consent_at", "email_consent_source", "sms_consent", "sms_consent_at",
                 "sms_consent_source", "created_at", "updated_at", "archived_at"],
    "deals": ["id", "title", "account", "account_id", "stage", "amount", "currency", "probability",
              "expected_close_date", "next_action", "next_action_due", "source_channel", "owner_email", "won_at",
              "lost_at", "lost_reason", "created_at", "updated_at", "archived_at"],
}


def guard(text: str) -> str:
    """A leading apostrophe for text a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return guard("; ".join(str(v) for v in value))
    if isinstance(value, uuid.UUID | Decimal | int):
        return str(value)
    return guard(str(value))


@dataclass
class Names:
    """Names shown next to ids: accounts (when visible), stages and owners' emails."""

    accounts: dict[uuid.UUID, str]
    stages: dict[uuid.UUID, str]
    owners: dict[uuid.UUID, str]


async def _names(uow: UnitOfWork, actor: CrmActor, account_ids: set[Any], stage_ids: set[Any],
                 owner_ids: set[Any]) -> Names:
    names = Names({}, {}, {})
    account_ids.discard(None)
    stage_ids.discard(None)
    owner_ids.discard(None)
    if account_ids:
        query = select(Account.id, Account.name, Account.owner_user_id, Account.is_shared).where(
            Account.id.in_(account_ids))
        names.accounts = {r.id: r.name for r in await uow.session.execute(query)
                          if can_see(actor, r.owner_user_id, r.is_shared)}
    if stage_ids:
        stages = select(PipelineStage.id, PipelineStage.name).where(PipelineStage.id.in_(stage_ids))
        names.stages = {r.id: r.name for r in await uow.session.execute(stages)}
    if owner_ids:
        found = await uow.session.execute(select(User.id, User.email).where(User.id.in_(owner_ids)))
        names.owners = {r.id: r.email for r in found}
    return names


def _account_row(a: Account, n: Names) -> list[Any]:
    return [a.id, a.name, a.kind, a.status, n.accounts.get(a.parent_id) if a.parent_id else None, a.parent_id,
            n.owners.get(a.owner_user_id) if a.owner_user_id else None, a.is_shared, list(a.tags or []),
            a.source_channel, a.website, a.notes, a.created_at, a.updated_at, a.archived_at]


def _contact_row(c: Contact, n: Names) -> list[Any]:
    return [c.id, c.full_name, c.job_title, n.accounts.get(c.account_id) if c.account_id else None, c.account_id,
            c.email, c.phone, list(c.roles or []), n.owners.get(c.owner_user_id) if c.owner_user_id else None,
            c.email_consent, c.email_consent_at, c.email_consent_source, c.sms_consent, c.sms_consent_at,
            c.sms_consent_source, c.created_at, c.updated_at, c.archived_at]


def _deal_row(d: Deal, n: Names) -> list[Any]:
    return [d.id, d.title, n.accounts.get(d.account_id), d.account_id, n.stages.get(d.stage_id), d.amount,
            d.currency, d.probability, d.expected_close_date, d.next_action, d.next_action_due, d.source_channel,
            n.owners.get(d.owner_user_id) if d.owner_user_id else None, d.won_at, d.lost_at, d.lost_reason,
            d.created_at, d.updated_at, d.archived_at]


Lister = Callable[..., Awaitable[PageOf[Any]]]
LISTERS: dict[str, Lister] = {"accounts": accounts.list_accounts, "contacts": contacts.list_contacts,
                              "deals": deals.list_deals}


async def batch(uow: UnitOfWork, actor: CrmActor, entity: str, filters: dict[str, Any],
                cursor: str | None) -> tuple[list[list[str]], str | None]:
    """One keyset page of the list as CSV cells, and the cursor of the next page."""
    page = await LISTERS[entity](uow, actor, **filters, cursor=cursor, limit=BATCH)
    items = page.items
    owners = {getattr(i, "owner_user_id", None) for i in items}
    if entity == "accounts":
        names = await _names(uow, actor, {a.parent_id for a in items}, set(), owners)
        rows = [_account_row(a, names) for a in items]
    elif entity == "contacts":
        names = await _names(uow, actor, {c.account_id for c in items}, set(), owners)
        rows = [_contact_row(c, names) for c in items]
    else:
        names = await _names(uow, actor, {d.account_id for d in items}, {d.stage_id for d in items}, owners)
        rows = [_deal_row(d, names) for d in items]
    return [[cell(v) for v in row] for row in rows], page.next_cursor


def encode(rows: list[list[str]], *, first: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return ((BOM if first else "") + buffer.getvalue()).encode("utf-8")


@dataclass
class Prepared:
    entity: str
    filters: dict[str, Any]
    first: bytes
    cursor: str | None
    rows: int


async def prepare(uow: UnitOfWork, actor: CrmActor, entity: str, filters: dict[str, Any]) -> Prepared:
    """Read the first page (bad filters raise here) and audit the export in the request's transaction."""
    rows, cursor = await batch(uow, actor, entity, filters, None)
    plain = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in filters.items() if v is not None}
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), "export", entity, "export",
                       {"format": [None, "csv"], "filters": [None, plain]})
    log.info("crm export of %s by user %s / key %s, filters %s", entity, actor.user_id, actor.api_key_id, plain)
    return Prepared(entity, filters, encode([HEADERS[entity], *rows], first=True), cursor, len(rows))


async def chunks(prepared: Prepared, actor: CrmActor,
                 open_scope: Callable[[], AbstractAsyncContextManager[UnitOfWork]]) -> AsyncIterator[bytes]:
    """The file in pieces: the prepared first page, then one fresh transaction per further page."""
    yield prepared.first
    cursor, total = prepared.cursor, prepared.rows
    while cursor is not None:
        async with open_scope() as uow:
            rows, cursor = await batch(uow, actor, prepared.entity, prepared.filters, cursor)
        total += len(rows)
        yield encode(rows)
    log.info("crm export of %s finished: %d rows", prepared.entity, total)
