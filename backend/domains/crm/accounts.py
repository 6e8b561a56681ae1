"""Accounts: create, read, list (filter, sort, keyset pages), update with optimistic locking, archive."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, func, literal, select

from backend.db.keyset import as_text, as_timestamp, contains_pattern, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import attribution, custom_fields, search_words
from backend.domains.crm.common import mark_archived
from backend.domains.crm.models import ACCOUNT_KINDS, LIFECYCLE, Account
from backend.domains.crm.validate import Fields, is_member
from backend.domains.crm.visibility import CrmActor, can_see, require_create, require_edit, visible_clause
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "account"
EDITABLE = ("name", "kind", "status", "parent_id", "owner_user_id", "is_shared", "tags", "source_channel",
            "website", "notes", "marketing_event_id")
INPUT = (*EDITABLE, "custom")
SORTS = {"name": (Account.name, False), "-name": (Account.name, True),
         "created": (Account.created_at, False), "-created": (Account.created_at, True)}


def snapshot(account: Account) -> dict[str, Any]:
    return {field: getattr(account, field) for field in EDITABLE} | custom_fields.audited(account.custom)


async def _validated(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any], *, partial: bool,
                     current: Account | None = None) -> dict[str, Any]:
    unknown = sorted(set(data) - set(INPUT))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of an account") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = check.text(data, "name", required=True)
    for field, options in (("kind", ACCOUNT_KINDS), ("status", LIFECYCLE)):
        if field in data:
            clean[field] = check.choice(data, field, options)
    for field, size in (("source_channel", 64), ("website", 255)):
        if field in data:
            clean[field] = check.text(data, field, max_len=size)
    if "notes" in data:
        clean["notes"] = check.text(data, "notes", max_len=10_000, multiline=True)
    if "tags" in data:
        clean["tags"] = check.tags(data) or []
    if "is_shared" in data:
        clean["is_shared"] = bool(check.flag(data, "is_shared"))
    if "owner_user_id" in data:
        clean["owner_user_id"] = check.uuid(data, "owner_user_id")
    elif not partial:
        clean["owner_user_id"] = actor.user_id
    if "parent_id" in data:
        clean["parent_id"] = check.uuid(data, "parent_id")
    if "marketing_event_id" in data:
        clean["marketing_event_id"] = check.uuid(data, "marketing_event_id")
    if not partial or "custom" in data:
        clean["custom"] = await custom_fields.validate_values(uow, "account", data.get("custom"), check=check,
                                                              current=current.custom if current else None)
    check.done()
    await _check_relations(uow, actor, clean, current, check)
    check.done()
    return clean


async def _check_relations(uow: UnitOfWork, actor: CrmActor, clean: dict[str, Any], current: Account | None,
                           check: Fields) -> None:
    owner = clean.get("owner_user_id")
    if "owner_user_id" in clean and owner is not None:
        if not actor.edits_all and owner != actor.user_id:
            check.fail("owner_user_id", "reps can only assign records to themselves")
        elif not await is_member(uow, owner):
            check.fail("owner_user_id", "not a member of this company")
    parent_id = clean.get("parent_id")
    if parent_id is not None:
        if current is not None and parent_id == current.id:
            check.fail("parent_id", "an account cannot be its own group")
        else:
            parent = await uow.session.get(Account, parent_id)
            if parent is None or parent.archived_at is not None or not can_see(actor, parent.owner_user_id,
                                                                               parent.is_shared):
                check.fail("parent_id", "no such account")
            elif parent.kind != "group":
                check.fail("parent_id", "must be an account of kind group")
    kind = clean.get("kind", current.kind if current else "organization")
    if kind == "group" and parent_id is not None:
        check.fail("parent_id", "a group cannot belong to another group")
    if "marketing_event_id" in clean:
        await attribution.check_event(uow, check, clean["marketing_event_id"],
                                      current.marketing_event_id if current else None)


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Account:
    require_create(actor)
    clean = await _validated(uow, actor, data, partial=False)
    account = Account(id=uuid.uuid4(), created_by=actor.user_id, version=1, **clean)
    uow.session.add(account)
    await uow.flush()
    await search_words.remember(uow, account.name)
    await uow.session.refresh(account)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, account.id, "create",
                       audit.diff({}, snapshot(account)))
    return account


async def get(uow: UnitOfWork, actor: CrmActor, account_id: uuid.UUID, *, for_update: bool = False) -> Account:
    query = select(Account).where(Account.id == account_id)
    if for_update:
        query = query.with_for_update()
    account = (await uow.session.execute(query)).scalar_one_or_none()
    if account is None or not can_see(actor, account.owner_user_id, account.is_shared):
        raise NotFound("No such account.", "account_not_found")
    return account


async def list_accounts(
    uow: UnitOfWork, actor: CrmActor, *, q: str | None = None, status: str | None = None,
    owner_user_id: uuid.UUID | None = None, tag: str | None = None, include_archived: bool = False,
    sort: str = "name", cursor: str | None = None, limit: int = 50, custom: Sequence[tuple[str, str]] = (),
    marketing_event_id: uuid.UUID | None = None,
) -> PageOf[Account]:
    """``custom``: ``(cf.<key>[.gte|.lte], value)`` filters (see custom_fields.filter_clauses);
    ``marketing_event_id``: the accounts attributed to that event."""
    limit = clamp_limit(limit)
    if sort not in SORTS:
        raise Invalid("Unknown sort.", [FieldError("sort", "one of: " + ", ".join(SORTS))])
    column, descending = SORTS[sort]
    query = select(Account)
    limit_to = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    if limit_to is not None:
        query = query.where(limit_to)
    if not include_archived:
        query = query.where(Account.archived_at.is_(None))
    if q:
        query = query.where(Account.name.ilike(contains_pattern(q.strip()), escape="\\"))
    if status:
        if status not in LIFECYCLE:
            raise Invalid("Unknown status.", [FieldError("status", "one of: " + ", ".join(LIFECYCLE))])
        query = query.where(Account.status == status)
    if owner_user_id:
        query = query.where(Account.owner_user_id == owner_user_id)
    if marketing_event_id:
        query = query.where(Account.marketing_event_id == marketing_event_id)
    if tag:
        query = query.where(literal(tag.strip().lower()) == any_(Account.tags))
    for clause in await custom_fields.filter_clauses(uow, "account", Account.custom, custom):
        query = query.where(clause)
    by_name = sort.lstrip("-") == "name"
    return await keyset_page(
        uow.session, query, sort_column=column, id_column=Account.id, descending=descending, cursor=cursor,
        limit=limit, value_of=(lambda a: a.name) if by_name else (lambda a: a.created_at),
        parse_value=as_text if by_name else as_timestamp,
    )


def check_version(current: int, expected: int | None, record: str = "account") -> None:
    if expected is not None and expected != current:
        raise Conflict(f"This {record} was changed by someone else; reload it and try again.", "version_conflict")


async def update(uow: UnitOfWork, actor: CrmActor, account_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> Account:
    account = await get(uow, actor, account_id, for_update=True)
    require_edit(actor, account.owner_user_id, account.is_shared)
    check_version(account.version, expected_version)
    clean = await _validated(uow, actor, data, partial=True, current=account)
    before = snapshot(account)
    for field, value in clean.items():
        setattr(account, field, value)
    changes = custom_fields.changes(before, snapshot(account))
    if changes:
        account.version += 1
        account.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, account.id, "update", changes)
    await uow.flush()
    if "name" in changes:
        await search_words.remember(uow, account.name)
    return account


async def archive(uow: UnitOfWork, actor: CrmActor, account_id: uuid.UUID,
                  expected_version: int | None = None) -> Account:
    """Accounts are archived, never deleted: documents and the ledger keep pointing at them."""
    account = await get(uow, actor, account_id, for_update=True)
    require_edit(actor, account.owner_user_id, account.is_shared)
    check_version(account.version, expected_version)
    await mark_archived(uow, actor, account, RECORD)
    return account


async def count(uow: UnitOfWork) -> int:
    return int((await uow.session.execute(select(func.count()).select_from(Account))).scalar_one())
