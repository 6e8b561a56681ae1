"""Tasks: a title, notes, a due time (``due_at``) or day (``due_date``), an assignee and at most one linked record.

Rules:
* The assignee must be a member of the company; reps may only assign tasks to themselves. New tasks default to
  their creator.
* The link is an account, a contact or a deal (``link_type`` + ``link_id``), visible to the caller and not
  archived. ``account_id`` also records the account of a linked contact or deal (as it was when linked), which
  puts the task on that account's timeline.
* Visibility: the assignee sees their tasks; others see a task through its linked record (account rule for the
  account, the owner rule for a contact or deal); unassigned, unlinked tasks are visible to all; owner, admin,
  manager, accountant, support and viewer see everything.
* Editing follows crm/visibility (reps edit what they see, read-only roles nothing), except that the assignee may
  always mark their own task done or undone.
* "Today", "overdue" and "upcoming" are local days in the caller's time zone: overdue = due before today (and not
  done), today = due during today, upcoming = after today.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Select, and_, cast, func, or_, select
from sqlalchemy.orm import aliased

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import contacts, deals
from backend.domains.crm.accounts import check_version
from backend.domains.crm.activity_models import Task
from backend.domains.crm.activity_time import day, day_bounds, instant
from backend.domains.crm.common import mark_archived
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.validate import Fields, is_member
from backend.domains.crm.visibility import OWN_ONLY, CrmActor, can_see, require_create
from backend.kit.clock import utcnow
from backend.kit.errors import FieldError, Forbidden, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit, decode_cursor, encode_cursor

RECORD = "task"
INPUT = ("title", "notes", "due_at", "due_date", "assignee_user_id", "link_type", "link_id")
STORED = ("title", "notes", "due_at", "due_date", "assignee_user_id", "account_id", "contact_id", "deal_id",
          "done_at")
LINK_TYPES = ("account", "contact", "deal")
DUE_FILTERS = ("all", "today", "overdue", "upcoming", "none")
SORTS = ("due", "created", "-created")

_LinkedAccount = aliased(Account, name="linked_account")


def snapshot(task: Task) -> dict[str, Any]:
    return {f: getattr(task, f) for f in STORED}


def link_of(task: Task) -> tuple[str | None, uuid.UUID | None]:
    """The one linked record: (type, id), or (None, None)."""
    if task.deal_id is not None:
        return "deal", task.deal_id
    if task.contact_id is not None:
        return "contact", task.contact_id
    if task.account_id is not None:
        return "account", task.account_id
    return None, None


# --- validation --------------------------------------------------------------------------------------------------

def _validated(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - set(INPUT))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of a task") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "title" in data:
        clean["title"] = check.text(data, "title", required=True, max_len=200)
    if "notes" in data:
        clean["notes"] = check.text(data, "notes", max_len=10_000, multiline=True)
    if "due_at" in data:
        clean["due_at"] = instant(check, data, "due_at")
    if "due_date" in data:
        clean["due_date"] = day(check, data, "due_date")
    if clean.get("due_at") is not None and clean.get("due_date") is not None:
        check.fail("due_date", "give due_at or due_date, not both")
    if "assignee_user_id" in data:
        clean["assignee_user_id"] = check.uuid(data, "assignee_user_id")
    if "link_type" in data or "link_id" in data:
        link_type = data.get("link_type")
        link_id = check.uuid(data, "link_id")
        if link_type is None and link_id is None:
            clean["link"] = None
        elif link_type not in LINK_TYPES:
            check.fail("link_type", "one of: " + ", ".join(LINK_TYPES))
        elif link_id is None and not any(e.field == "link_id" for e in check.errors):
            check.fail("link_id", "required with link_type")
        else:
            clean["link"] = (link_type, link_id)
    check.done()
    return clean


async def _resolve_link(uow: UnitOfWork, actor: CrmActor, link: tuple[str, uuid.UUID] | None,
                        check: Fields) -> dict[str, uuid.UUID | None]:
    """The link columns for a (type, id) link, after checking the record is visible and not archived."""
    columns: dict[str, uuid.UUID | None] = {"account_id": None, "contact_id": None, "deal_id": None}
    if link is None:
        return columns
    link_type, link_id = link
    archived = False
    if link_type == "account":
        account = await uow.session.get(Account, link_id)
        if account is None or not can_see(actor, account.owner_user_id, account.is_shared):
            check.fail("link_id", "no such account")
            return columns
        archived, columns["account_id"] = account.archived_at is not None, account.id
    elif link_type == "contact":
        try:
            contact = await contacts.get(uow, actor, link_id)
        except NotFound:
            check.fail("link_id", "no such contact")
            return columns
        archived, columns["contact_id"], columns["account_id"] = (contact.archived_at is not None, contact.id,
                                                                  contact.account_id)
    else:
        try:
            deal = await deals.get(uow, actor, link_id)
        except NotFound:
            check.fail("link_id", "no such deal")
            return columns
        archived, columns["deal_id"], columns["account_id"] = deal.archived_at is not None, deal.id, deal.account_id
    if archived:
        check.fail("link_id", "the linked record is archived")
    return columns


async def _check_assignee(uow: UnitOfWork, actor: CrmActor, assignee: uuid.UUID | None, check: Fields) -> None:
    if assignee is None:  # unassigned: managers' choice, and all a key can do (keys are nobody)
        if not actor.edits_all and actor.user_id is not None:
            check.fail("assignee_user_id", "reps can only assign tasks to themselves")
        return
    if not actor.edits_all and assignee != actor.user_id:
        check.fail("assignee_user_id", "reps can only assign tasks to themselves")
    elif not await is_member(uow, assignee):
        check.fail("assignee_user_id", "not a member of this company")


# --- visibility --------------------------------------------------------------------------------------------------

def visible(actor: CrmActor) -> Any:
    """WHERE clause over ``tasks LEFT JOIN linked accounts, contacts, deals`` (see ``joined``); None: no limit."""
    if actor.sees_all:
        return None
    me = actor.user_id

    def owned(owner: Any) -> Any:
        return owner.is_(None) if me is None else or_(owner.is_(None), owner == me)

    parts = [
        and_(Task.account_id.is_not(None), or_(owned(_LinkedAccount.owner_user_id), _LinkedAccount.is_shared)),
        and_(Task.contact_id.is_not(None), owned(Contact.owner_user_id)),
        and_(Task.deal_id.is_not(None), owned(Deal.owner_user_id)),
        and_(Task.account_id.is_(None), Task.contact_id.is_(None), Task.deal_id.is_(None),
             Task.assignee_user_id.is_(None)),
    ]
    if me is not None:
        parts.insert(0, Task.assignee_user_id == me)
    return or_(*parts)


def joined(query: Select[Any]) -> Select[Any]:
    return (query.outerjoin(_LinkedAccount, _LinkedAccount.id == Task.account_id)
            .outerjoin(Contact, Contact.id == Task.contact_id)
            .outerjoin(Deal, Deal.id == Task.deal_id))


def visible_tasks(actor: CrmActor) -> Select[Any]:
    query = select(Task)
    limit_to = visible(actor)
    return query if limit_to is None else joined(query).where(limit_to)


async def _load(uow: UnitOfWork, actor: CrmActor, task_id: uuid.UUID, *, for_update: bool = False) -> Task:
    query = visible_tasks(actor).where(Task.id == task_id)
    if for_update:
        query = query.with_for_update(of=Task)
    task: Task | None = (await uow.session.execute(query)).scalar_one_or_none()
    if task is None:
        raise NotFound("No such task.", "task_not_found")
    return task


def _require_edit(actor: CrmActor) -> None:
    """The task is visible (``_load``); reps edit what they see, managers everything, the rest nothing."""
    if not (actor.edits_all or actor.role in OWN_ONLY):
        raise Forbidden("Your role cannot change this record.", "crm_read_only")


async def get(uow: UnitOfWork, actor: CrmActor, task_id: uuid.UUID) -> Task:
    """One task, if visible to ``actor`` (404 otherwise)."""
    return await _load(uow, actor, task_id)


# --- writes ------------------------------------------------------------------------------------------------------

async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Task:
    require_create(actor)
    clean = _validated(data, partial=False)
    check = Fields()
    if "assignee_user_id" not in clean:
        clean["assignee_user_id"] = actor.user_id
    await _check_assignee(uow, actor, clean["assignee_user_id"], check)
    columns = await _resolve_link(uow, actor, clean.pop("link", None), check)
    check.done()
    task = Task(id=uuid.uuid4(), version=1, created_by_user_id=actor.user_id, created_by_api_key_id=actor.api_key_id,
                **clean, **columns)
    uow.session.add(task)
    await uow.flush()
    await uow.session.refresh(task)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, task.id, "create",
                       audit.diff({}, snapshot(task)))
    return task


async def update(uow: UnitOfWork, actor: CrmActor, task_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> Task:
    """PATCH semantics. Setting one of due_at / due_date clears the other."""
    task = await _load(uow, actor, task_id, for_update=True)
    _require_edit(actor)
    check_version(task.version, expected_version, "task")
    clean = _validated(data, partial=True)
    check = Fields()
    if "assignee_user_id" in clean and clean["assignee_user_id"] != task.assignee_user_id:
        await _check_assignee(uow, actor, clean["assignee_user_id"], check)
    if "link" in clean:
        link = clean.pop("link")
        if link != link_of(task):
            clean.update(await _resolve_link(uow, actor, link, check))
    check.done()
    if clean.get("due_at") is not None and "due_date" not in clean:
        clean["due_date"] = None
    if clean.get("due_date") is not None and "due_at" not in clean:
        clean["due_at"] = None
    before = snapshot(task)
    for name, value in clean.items():
        setattr(task, name, value)
    return await _finish(uow, actor, task, before, "update")


async def set_done(uow: UnitOfWork, actor: CrmActor, task_id: uuid.UUID, done: bool,
                   expected_version: int | None = None) -> Task:
    """Mark done (stamps who and when) or undone; repeating either changes nothing."""
    task = await _load(uow, actor, task_id, for_update=True)
    if actor.user_id is None or task.assignee_user_id != actor.user_id:
        _require_edit(actor)
    check_version(task.version, expected_version, "task")
    if (task.done_at is not None) == done:
        return task
    before = snapshot(task)
    task.done_at = utcnow() if done else None
    task.done_by_user_id = actor.user_id if done else None
    task.done_by_api_key_id = actor.api_key_id if done else None
    return await _finish(uow, actor, task, before, "done" if done else "undone")


async def _finish(uow: UnitOfWork, actor: CrmActor, task: Task, before: dict[str, Any], action: str) -> Task:
    changes = audit.diff(before, snapshot(task))
    if changes:
        task.version += 1
        task.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, task.id, action, changes)
    await uow.flush()
    return task


async def archive(uow: UnitOfWork, actor: CrmActor, task_id: uuid.UUID, expected_version: int | None = None) -> Task:
    task = await _load(uow, actor, task_id, for_update=True)
    _require_edit(actor)
    check_version(task.version, expected_version, "task")
    await mark_archived(uow, actor, task, RECORD)
    return task


# --- lists -------------------------------------------------------------------------------------------------------

def due_key(zone: ZoneInfo) -> Any:
    """When a task is due, as an instant: ``due_at``, or local midnight of ``due_date``; NULL when neither."""
    return func.coalesce(Task.due_at, func.timezone(zone.key, cast(Task.due_date, DateTime())))


def _due_filter(query: Select[Any], due: str, zone: ZoneInfo, now: datetime) -> Select[Any]:
    today = now.astimezone(zone).date()
    start, end = day_bounds(today, zone)
    if due == "today":
        return query.where(or_(and_(Task.due_at >= start, Task.due_at < end), Task.due_date == today))
    if due == "overdue":
        return query.where(or_(Task.due_at < start, Task.due_date < today), Task.done_at.is_(None))
    if due == "upcoming":
        return query.where(or_(Task.due_at >= end, Task.due_date > today))
    if due == "none":
        return query.where(Task.due_at.is_(None), Task.due_date.is_(None))
    return query


def _bad_cursor() -> Invalid:
    return Invalid("Invalid cursor.", [FieldError("cursor", "not a cursor from this list")])


def _after(query: Select[Any], key: Any, descending: bool, cursor: str | None) -> Select[Any]:
    """Rows after the cursor in ``key`` (NULLs last), then id, order."""
    after = decode_cursor(cursor, 2)
    if after is None:
        return query
    try:
        value = None if after[0] is None else datetime.fromisoformat(str(after[0]))
        last_id = uuid.UUID(str(after[1]))
    except ValueError as exc:
        raise _bad_cursor() from exc
    if value is None:
        return query.where(key.is_(None), Task.id < last_id if descending else Task.id > last_id)
    beyond = key < value if descending else key > value
    tie = and_(key == value, Task.id < last_id if descending else Task.id > last_id)
    return query.where(or_(beyond, tie, key.is_(None)))


async def list_tasks(
    uow: UnitOfWork, actor: CrmActor, zone: ZoneInfo, *, mine: bool = False, assignee_user_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None, contact_id: uuid.UUID | None = None, deal_id: uuid.UUID | None = None,
    due: str = "all", done: bool | None = None, include_archived: bool = False, sort: str = "due",
    cursor: str | None = None, limit: int = 50, now: datetime | None = None,
) -> PageOf[Task]:
    """Tasks ``actor`` may see; ``mine`` = assigned to the caller. ``due`` days are local days in ``zone``
    (today is the day ``now``, default the current time, falls on there).

    Sorted by due time (no due last) or by creation; keyset pages."""
    limit = clamp_limit(limit)
    check = Fields()
    if due not in DUE_FILTERS:
        check.fail("due", "one of: " + ", ".join(DUE_FILTERS))
    if sort not in SORTS:
        check.fail("sort", "one of: " + ", ".join(SORTS))
    if mine and actor.user_id is None:
        check.fail("mine", "only for users, not API keys")
    check.done()
    query = visible_tasks(actor)
    if not include_archived:
        query = query.where(Task.archived_at.is_(None))
    if mine:
        query = query.where(Task.assignee_user_id == actor.user_id)
    for column, value in ((Task.assignee_user_id, assignee_user_id), (Task.account_id, account_id),
                          (Task.contact_id, contact_id), (Task.deal_id, deal_id)):
        if value is not None:
            query = query.where(column == value)
    if done is not None:
        query = query.where(Task.done_at.is_not(None) if done else Task.done_at.is_(None))
    query = _due_filter(query, due, zone, now or utcnow())
    key = due_key(zone) if sort == "due" else Task.created_at
    descending = sort == "-created"
    query = _after(query, key, descending, cursor)
    order = (key.desc(), Task.id.desc()) if descending else (key.asc().nulls_last(), Task.id.asc())
    rows = list((await uow.session.execute(query.add_columns(key).order_by(*order).limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = None
    if more and rows:
        last_key = rows[-1][1]
        next_cursor = encode_cursor([None if last_key is None else last_key.isoformat(), str(rows[-1][0].id)])
    return PageOf([row[0] for row in rows], next_cursor)
