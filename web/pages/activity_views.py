"""What the activity pages show and read: the account timeline as rows, the log-an-interaction and add-task forms
(form values → service input, in the reader's time zone), and task rows with their linked records.

Times typed into forms (``datetime-local``, ``date`` + ``time``) are local to the reader: the profile's zone, else
the company's (``caller_zone``) — the same zone the tasks service computes "today" in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates
from sqlalchemy import select

from backend.domains.crm import timeline
from backend.domains.crm.activity_models import DIRECTIONS, INTERACTION_KINDS, Task
from backend.domains.crm.activity_time import caller_zone
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.visibility import CrmActor, can_see
from backend.domains.identity import access
from backend.kit.clock import utcnow
from backend.kit.errors import FieldError, Invalid
from web import i18n
from web.context import Page
from web.templating import label

FEED_PAGE = 20
ICONS = {
    "meeting": "👥", "call": "📞", "sms": "💬", "email": "✉️", "visit": "📍", "note": "📝",
    "deal_created": "✨", "deal_moved": "➡️", "deal_won": "🏆", "deal_lost": "✖️", "deal_reopened": "↩️",
    "task_created": "☐", "task_done": "☑",
}
PAGE_OF = {"deal": "deals", "contact": "contacts", "account": "accounts"}
INTERACTION_FIELDS = ("kind", "occurred_at", "subject", "body", "contact_id", "direction", "duration_minutes",
                      "address")
TASK_FIELDS = ("title", "due_date", "due_time", "assignee_user_id")
CHECK = "Please correct the highlighted fields."


async def zone_of(pg: Page) -> ZoneInfo:
    return await caller_zone(pg.uow, pg.user.timezone if pg.user else None)


def relative(when: datetime, now: datetime | None = None) -> str:
    """"3 hours ago" in the reader's language."""
    return dates.format_timedelta(when - (now or utcnow()), add_direction=True, threshold=1.1,
                                  locale=i18n.current_locale.get())


# --- timeline ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FeedLink:
    type: str
    href: str | None
    text: str


@dataclass(frozen=True, slots=True)
class FeedRow:
    item: timeline.FeedItem
    icon: str
    relative: str
    links: list[FeedLink]
    extra: str


async def _link_names(pg: Page, actor: CrmActor, items: Iterable[timeline.FeedItem]) -> dict[str, str]:
    """Titles of the deals and names of the contacts the items link to, when the reader may see them."""
    wanted: dict[str, set[uuid.UUID]] = {"deal": set(), "contact": set()}
    for item in items:
        for link in item.links:
            if link.type in wanted:
                wanted[link.type].add(uuid.UUID(link.id))
    names: dict[str, str] = {}
    if wanted["deal"]:
        for deal_id, title, owner in (await pg.uow.session.execute(
                select(Deal.id, Deal.title, Deal.owner_user_id).where(Deal.id.in_(wanted["deal"])))).all():
            if can_see(actor, owner):
                names[str(deal_id)] = title
    if wanted["contact"]:
        for contact_id, name, owner in (await pg.uow.session.execute(
                select(Contact.id, Contact.full_name, Contact.owner_user_id)
                .where(Contact.id.in_(wanted["contact"])))).all():
            if can_see(actor, owner):
                names[str(contact_id)] = name
    return names


def _extra(item: timeline.FeedItem) -> str:
    """Kind-specific facts: call direction and duration, visit address."""
    parts: list[str] = []
    direction = item.detail.get("direction")
    if direction in DIRECTIONS:
        parts.append(i18n.gettext("Inbound") if direction == "inbound" else i18n.gettext("Outbound"))
    seconds = item.detail.get("duration_seconds")
    if isinstance(seconds, int) and seconds > 0:
        parts.append(dates.format_timedelta(seconds, threshold=10, locale=i18n.current_locale.get()))
    if item.detail.get("address"):
        parts.append(str(item.detail["address"]))
    return " · ".join(parts)


async def timeline_rows(pg: Page, actor: CrmActor, items: list[timeline.FeedItem]) -> list[FeedRow]:
    names = await _link_names(pg, actor, items)
    now = utcnow()
    rows = []
    for item in items:
        links = []
        for link in item.links:
            if link.type in ("deal", "contact"):
                name = names.get(link.id)
                href = f"{pg.base}/{PAGE_OF[link.type]}/{link.id}" if name else None
                links.append(FeedLink(link.type, href, name or i18n.gettext("Hidden record")))
        rows.append(FeedRow(item, ICONS.get(item.event, "•"), relative(item.occurred_at, now), links, _extra(item)))
    return rows


async def timeline_context(pg: Page, actor: CrmActor, account_id: uuid.UUID, cursor: str | None) -> dict[str, Any]:
    """The feed page after ``cursor`` (a bad cursor shows the newest page with a note)."""
    error = None
    try:
        page = await timeline.feed(pg.uow, actor, account_id, cursor=cursor, limit=FEED_PAGE)
    except Invalid as exc:
        error = i18n.gettext(exc.detail)
        page = await timeline.feed(pg.uow, actor, account_id, limit=FEED_PAGE)
    return {"feed": await timeline_rows(pg, actor, page.items), "feed_next": page.next_cursor,
            "feed_error": error, "feed_older": cursor is not None and error is None}


# --- forms -------------------------------------------------------------------------------------------------------

def one(data: Mapping[str, Any], name: str) -> str:
    raw = data.get(name, "")
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    return str(raw).strip()


def _local_instant(value: str, zone: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` value (2026-05-01T14:30) read in ``zone``; None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def interaction_input(values: Mapping[str, str], account_id: uuid.UUID, zone: ZoneInfo) -> dict[str, Any]:
    """The form as the interactions service's input; only filled fields are sent (the service checks which
    fields a kind may carry). Field names of errors are the form's."""
    errors: list[FieldError] = []
    body: dict[str, Any] = {"kind": values.get("kind", ""), "account_id": account_id, "source": "web"}
    for name in ("subject", "body", "address", "direction", "contact_id"):
        if values.get(name):
            body[name] = values[name]
    if values.get("occurred_at"):
        when = _local_instant(values["occurred_at"], zone)
        if when is None:
            errors.append(FieldError("occurred_at", "a date and time"))
        else:
            body["occurred_at"] = when
    if values.get("duration_minutes"):
        minutes = values["duration_minutes"]
        if not minutes.isdigit() or len(minutes) > 5:
            errors.append(FieldError("duration_minutes", "whole minutes"))
        else:
            body["duration_seconds"] = int(minutes) * 60
    if errors:
        raise Invalid(CHECK, errors)
    return body


def interaction_errors(errors: dict[str, str]) -> dict[str, str]:
    """Service field names → the form's."""
    if "duration_seconds" in errors:
        errors["duration_minutes"] = errors.pop("duration_seconds")
    if "account_id" in errors:  # e.g. archived: the form has no account field, say it at the top
        errors["__all__"] = f'{errors.get("__all__", "")} {errors.pop("account_id")}'.strip()
    return errors


def task_input(values: Mapping[str, str], zone: ZoneInfo, *, link: tuple[str, uuid.UUID] | None,
               may_assign: bool) -> dict[str, Any]:
    """A task form as the tasks service's input: a day alone is ``due_date``, a day and a time ``due_at``."""
    errors: list[FieldError] = []
    body: dict[str, Any] = {"title": values.get("title", "")}
    day_text, time_text = values.get("due_date", ""), values.get("due_time", "")
    due_day: date | None = None
    if day_text:
        try:
            due_day = date.fromisoformat(day_text)
        except ValueError:
            errors.append(FieldError("due_date", "a date such as 2026-12-31"))
    if time_text:
        try:
            due_time = time.fromisoformat(time_text)
        except ValueError:
            errors.append(FieldError("due_time", "a time such as 14:30"))
        else:
            if not day_text:
                errors.append(FieldError("due_date", "give the day too"))
            elif due_day is not None:
                body["due_at"] = datetime.combine(due_day, due_time.replace(tzinfo=None), tzinfo=zone)
    if due_day is not None and "due_at" not in body and not time_text:
        body["due_date"] = due_day
    if may_assign and "assignee_user_id" in values:
        body["assignee_user_id"] = values["assignee_user_id"] or None
    if link is not None:
        body["link_type"], body["link_id"] = link
    if errors:
        raise Invalid(CHECK, errors)
    return body


def task_errors(errors: dict[str, str]) -> dict[str, str]:
    if "due_at" in errors:
        errors["due_time"] = errors.pop("due_at")
    if "link_id" in errors or "link_type" in errors:
        reason = errors.pop("link_id", None) or errors.pop("link_type", "")
        errors["__all__"] = f'{errors.get("__all__", "")} {reason}'.strip()
    return errors


def kind_options() -> list[tuple[str, str]]:
    return [(kind, label(kind)) for kind in INTERACTION_KINDS]


def direction_options() -> list[tuple[str, str]]:
    return [("", "—"), ("inbound", i18n.gettext("Inbound")), ("outbound", i18n.gettext("Outbound"))]


async def assignee_options(pg: Page, actor: CrmActor) -> list[tuple[str, str]] | None:
    """Members to assign a task to (managers); None for reps, whose tasks are their own."""
    if not actor.edits_all:
        return None
    assert pg.tenant is not None
    return [(str(u.id), u.full_name or u.email) for _, u in await access.list_members(pg.uow, pg.tenant.id,
                                                                                          limit=200)]


# --- task rows ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TaskRow:
    task: Task
    link_text: str | None
    link_href: str | None
    assignee: str | None
    overdue: bool


async def task_rows(pg: Page, actor: CrmActor, found: list[Task], zone: ZoneInfo) -> list[TaskRow]:
    """Tasks with the name of their linked record (a link when the reader may see it) and the assignee's name."""
    account_ids = {t.account_id for t in found if t.account_id and not t.contact_id and not t.deal_id}
    contact_ids = {t.contact_id for t in found if t.contact_id}
    deal_ids = {t.deal_id for t in found if t.deal_id}
    names: dict[uuid.UUID, tuple[str, str]] = {}
    if account_ids:
        for a_id, a_name, a_owner, shared in (await pg.uow.session.execute(
                select(Account.id, Account.name, Account.owner_user_id, Account.is_shared)
                .where(Account.id.in_(account_ids)))).all():
            if can_see(actor, a_owner, shared):
                names[a_id] = (a_name, f"{pg.base}/accounts/{a_id}")
    if contact_ids:
        for c_id, c_name, c_owner in (await pg.uow.session.execute(
                select(Contact.id, Contact.full_name, Contact.owner_user_id).where(Contact.id.in_(contact_ids)))).all():
            if can_see(actor, c_owner):
                names[c_id] = (c_name, f"{pg.base}/contacts/{c_id}")
    if deal_ids:
        for d_id, d_title, d_owner in (await pg.uow.session.execute(
                select(Deal.id, Deal.title, Deal.owner_user_id).where(Deal.id.in_(deal_ids)))).all():
            if can_see(actor, d_owner):
                names[d_id] = (d_title, f"{pg.base}/deals/{d_id}")
    assert pg.tenant is not None
    people = await access.member_names(pg.uow, pg.tenant.id, {t.assignee_user_id for t in found})
    now = utcnow()
    today = now.astimezone(zone).date()
    rows = []
    for t in found:
        linked = t.deal_id or t.contact_id or t.account_id
        text, href = names.get(linked, (None, None)) if linked else (None, None)
        if linked and text is None:
            text = i18n.gettext("Hidden record")
        overdue = t.done_at is None and ((t.due_at is not None and t.due_at.astimezone(zone).date() < today)
                                         or (t.due_date is not None and t.due_date < today))
        rows.append(TaskRow(t, text, href, people.get(t.assignee_user_id) if t.assignee_user_id else None,
                            overdue))
    return rows
