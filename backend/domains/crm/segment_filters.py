"""The segment filter language, validated and compiled to one SQL query (EXISTS subqueries, no Python filtering).

A filter is a group: ``{"all": [...]}`` (every item matches) or ``{"any": [...]}`` (at least one does). Items are
groups again (at most 4 levels in all) or conditions ``{"field": ..., "op": ..., "value": ...}``; a filter holds
at most 50 conditions. ``{"all": []}`` matches every record, ``{"any": []}`` none.

Fields of accounts (entity ``account``):

* ``status`` (lead, prospect, customer, churned), ``kind`` (person, organization, group): eq, ne, in, not_in;
* ``owner_user_id``: eq, ne, in, not_in (a user id or ``"me"``: whoever evaluates the segment), is_null (true:
  unowned, false: owned);
* ``is_shared``: eq (true/false);
* ``tags``: has_any, has_all (a list of tags);
* ``source_channel`` (text), ``marketing_event_id`` (an id): eq, ne, in, not_in, is_null;
* ``created_at``: before, after (a day ``YYYY-MM-DD``, UTC, or an ISO time with its offset), between
  (``[from, to]``, both days included);
* ``custom.<key>``: by the custom field's type — text: eq, ne, contains, is_null; number: eq, ne, gt, gte, lt, lte,
  between, is_null; date: eq, ne, before, after, between, is_null; bool: eq, is_null; choice: eq, ne, in, not_in,
  is_null. Values as for writing the field (numbers as ``"12.5"`` or a JSON number, dates ``YYYY-MM-DD``);
* ``last_interaction_days``: gt N (the last interaction was more than N days ago), lt N (an interaction within
  the last N days), none (no interaction ever; no value). Only unarchived interactions that already happened count;
* ``deal_stage``: eq, in (a pipeline stage id): has an unarchived deal now in that stage;
* ``deal_status``: eq, in (open, won, lost): has an unarchived deal with that outcome. Deals are those the caller
  may see.

Fields of contacts (entity ``contact``): ``roles`` (has_any, has_all: decision_maker, payer, user, influencer,
other), ``email_consent``, ``sms_consent``, ``has_email``, ``has_phone`` (eq true/false), ``owner_user_id``,
``created_at``, ``custom.<key>`` (contact custom fields), ``last_interaction_days`` (interactions with this
contact) and ``account.<field>`` for every account field above (only contacts with an account match those).

``ne`` and ``not_in`` also match records without a value. Archived records never match, and the caller's CRM
visibility always applies (crm/visibility.py): a rep's count leaves out other reps' private records.
Every problem is reported at once as a 422 ``invalid_filter`` problem naming its path, e.g.
``filter.all[2].value``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Numeric, Select, and_, bindparam, cast, exists, false, func, not_, or_, select, true

from backend.db.keyset import contains_pattern
from backend.db.uow import UnitOfWork
from backend.domains.crm import custom_fields
from backend.domains.crm import deals as deal_service
from backend.domains.crm.activity_models import Interaction
from backend.domains.crm.activity_recency import AccountLastInteraction, ContactLastInteraction
from backend.domains.crm.custom_fields_models import CustomField
from backend.domains.crm.deals_models import Deal, PipelineStage
from backend.domains.crm.models import ACCOUNT_KINDS, CONTACT_ROLES, LIFECYCLE, Account, Contact
from backend.domains.crm.segments_models import SEGMENT_ENTITIES
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.kit.errors import Invalid

MAX_DEPTH = 4
MAX_CONDITIONS = 50
MAX_VALUES = 100
MAX_DAYS = 36_500
DEAL_STATUSES = ("open", "won", "lost")

EQ_OPS = ("eq", "ne", "in", "not_in")
NULLABLE_OPS = (*EQ_OPS, "is_null")
TIME_OPS = ("before", "after", "between")
SET_OPS = ("has_any", "has_all")
CUSTOM_OPS = {"text": ("eq", "ne", "contains", "is_null"),
              "number": ("eq", "ne", "gt", "gte", "lt", "lte", "between", "is_null"),
              "date": ("eq", "ne", "before", "after", "between", "is_null"),
              "bool": ("eq", "is_null"),
              "choice": ("eq", "ne", "in", "not_in", "is_null")}


@dataclass(frozen=True, slots=True)
class Spec:
    """One filterable field: its operators, how its value reads (``kind``) and its column."""

    ops: tuple[str, ...]
    kind: str
    column: Any = None
    options: tuple[str, ...] = ()


def _account_fields() -> dict[str, Spec]:
    return {
        "status": Spec(EQ_OPS, "enum", Account.status, LIFECYCLE),
        "kind": Spec(EQ_OPS, "enum", Account.kind, ACCOUNT_KINDS),
        "owner_user_id": Spec(NULLABLE_OPS, "owner", Account.owner_user_id),
        "is_shared": Spec(("eq",), "bool", Account.is_shared),
        "tags": Spec(SET_OPS, "tags", Account.tags),
        "source_channel": Spec(NULLABLE_OPS, "text", Account.source_channel),
        "marketing_event_id": Spec(NULLABLE_OPS, "id", Account.marketing_event_id),
        "created_at": Spec(TIME_OPS, "time", Account.created_at),
        "last_interaction_days": Spec(("gt", "lt", "none"), "interaction", "account"),
        "deal_stage": Spec(("eq", "in"), "deal_stage"),
        "deal_status": Spec(("eq", "in"), "deal_status", None, DEAL_STATUSES),
    }


def _contact_fields() -> dict[str, Spec]:
    return {
        "roles": Spec(SET_OPS, "roles", Contact.roles, CONTACT_ROLES),
        "email_consent": Spec(("eq",), "bool", Contact.email_consent),
        "sms_consent": Spec(("eq",), "bool", Contact.sms_consent),
        "has_email": Spec(("eq",), "present", Contact.email),
        "has_phone": Spec(("eq",), "present", Contact.phone),
        "owner_user_id": Spec(NULLABLE_OPS, "owner", Contact.owner_user_id),
        "created_at": Spec(TIME_OPS, "time", Contact.created_at),
        "last_interaction_days": Spec(("gt", "lt", "none"), "interaction", "contact"),
    }


FIELDS: dict[str, dict[str, Spec]] = {"account": _account_fields(), "contact": _contact_fields()}


@dataclass(frozen=True, slots=True)
class Compiled:
    """A checked filter: the WHERE clause over the entity's table."""

    entity: str
    clause: Any


def invalid(errors: Fields) -> Invalid:
    return Invalid("The segment filter is not valid.", errors.errors, "invalid_filter")


class _Compiler:
    def __init__(self, uow: UnitOfWork, actor: CrmActor, entity: str) -> None:
        self.uow, self.actor, self.entity = uow, actor, entity
        self.check = Fields()
        self.conditions = 0
        self._definitions: dict[str, dict[str, CustomField]] = {}

    # --- structure -----------------------------------------------------------------------------------------------

    async def group(self, raw: Any, path: str, depth: int) -> Any:
        if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
            self.check.fail(path, 'a group: {"all": [...]} or {"any": [...]}')
            return None
        if depth > MAX_DEPTH:
            self.check.fail(path, "groups nested deeper than 4 levels")
            return None
        joiner, items = next(iter(raw.items()))
        if not isinstance(items, list):
            self.check.fail(f"{path}.{joiner}", "a list of conditions and groups")
            return None
        parts = []
        for index, item in enumerate(items):
            where = f"{path}.{joiner}[{index}]"
            if isinstance(item, dict) and ("all" in item or "any" in item):
                parts.append(await self.group(item, where, depth + 1))
            else:
                parts.append(await self.condition(item, where))
        if joiner == "all":
            return and_(true(), *parts)
        return or_(false(), *parts)

    async def condition(self, raw: Any, path: str) -> Any:
        self.conditions += 1
        if self.conditions == MAX_CONDITIONS + 1:
            self.check.fail("filter", "at most 50 conditions")
        if not isinstance(raw, dict) or not isinstance(raw.get("field"), str):
            self.check.fail(path, 'a condition {"field": ..., "op": ..., "value": ...} or a group')
            return None
        unknown = sorted(set(raw) - {"field", "op", "value"})
        if unknown:
            self.check.fail(f"{path}.{unknown[0]}", "a condition has only field, op and value")
            return None
        name: str = raw["field"]
        op, value = raw.get("op"), raw.get("value")
        on_account = False
        if self.entity == "contact" and name.startswith("account."):
            name, on_account = name[len("account."):], True
        table = "account" if on_account else self.entity
        if name.startswith("custom."):
            clause = await self.custom(table, name[len("custom."):], op, value, path)
        else:
            spec = FIELDS[table].get(name)
            if spec is None:
                self.check.fail(f"{path}.field", "unknown field; see the list of segment fields")
                return None
            if op not in spec.ops:
                self.check.fail(f"{path}.op", "one of: " + ", ".join(spec.ops))
                return None
            clause = await self.standard(spec, op, value, f"{path}.value")
        if clause is None or not on_account:
            return clause
        # the contact's account matches: a hashed IN (SELECT id FROM accounts ...) probe, no join of 1M contacts
        return Contact.account_id.in_(select(Account.id).where(clause))

    # --- values --------------------------------------------------------------------------------------------------

    def many(self, value: Any, path: str, one: Callable[[Any, str], Any]) -> list[Any] | None:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
            self.check.fail(path, "a list of 1-100 values")
            return None
        found = [one(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return None if any(item is None for item in found) else found

    def flag(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.check.fail(path, "true or false")
            return None
        return value

    def option(self, options: tuple[str, ...]) -> Callable[[Any, str], Any]:
        def one(value: Any, path: str) -> Any:
            if value not in options:
                self.check.fail(path, "one of: " + ", ".join(options))
                return None
            return value
        return one

    def an_id(self, value: Any, path: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(value)) if isinstance(value, str) else None
        except ValueError:
            pass
        self.check.fail(path, "an id")
        return None

    def owner(self, value: Any, path: str) -> Any:
        if value == "me":
            return "me"
        if not isinstance(value, str):
            self.check.fail(path, 'a user id or "me"')
            return None
        return self.an_id(value, path)

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            self.check.fail(path, "a text of 1-200 characters")
            return None
        return value.strip()

    def moment(self, value: Any, path: str, *, upper: bool) -> tuple[datetime, bool] | None:
        """A bound: a day (UTC, whole day: its start as a lower bound, the next day's start as an upper one)
        or an exact time with offset. Returns (instant, whether the instant itself is included)."""
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                day = None
            if day is not None:
                start = datetime.combine(day, time(), UTC)
                return (start + timedelta(days=1), False) if upper else (start, True)
        if isinstance(value, str):
            try:
                instant = datetime.fromisoformat(value.strip())
            except ValueError:
                instant = None
            if instant is not None and instant.tzinfo is not None:
                return instant, True
        self.check.fail(path, "a day such as 2026-12-31 or a time such as 2026-12-31T09:00:00+09:00")
        return None

    # --- standard fields -----------------------------------------------------------------------------------------

    async def standard(self, spec: Spec, op: str, value: Any, path: str) -> Any:
        kind, column = spec.kind, spec.column
        if kind == "bool":
            flag = self.flag(value, path)
            return None if flag is None else column.is_(flag)
        if kind == "present":
            flag = self.flag(value, path)
            return None if flag is None else (column.is_not(None) if flag else column.is_(None))
        if kind in ("tags", "roles"):
            return self.array(spec, op, value, path)
        if kind == "time":
            return self.time_range(column, op, value, path)
        if kind == "interaction":
            return self.interaction(spec.column, op, value, path)
        if kind == "deal_stage":
            return await self.deal_stage(op, value, path)
        if kind == "deal_status":
            statuses = [self.option(DEAL_STATUSES)(value, path)] if op == "eq" else \
                self.many(value, path, self.option(DEAL_STATUSES))
            if statuses is None or None in statuses:
                return None
            return self.has_deal(or_(*[_DEAL_STATUS[s]() for s in statuses]))
        if op == "is_null":
            flag = self.flag(value, path)
            return None if flag is None else (column.is_(None) if flag else column.is_not(None))
        one: Callable[[Any, str], Any] = {"enum": self.option(spec.options), "owner": self.owner,
                                          "text": self.text, "id": self.an_id}[kind]
        values = [one(value, path)] if op in ("eq", "ne") else self.many(value, path, one)
        if values is None or None in values:
            return None
        if kind == "owner":
            values = [self.actor.user_id if v == "me" else v for v in values]
            values = [v for v in values if v is not None]  # "me" without a user (an API key) is nobody
        matches = column.in_(values) if values else false()
        return matches if op in ("eq", "in") else or_(column.is_(None), not_(matches))

    def array(self, spec: Spec, op: str, value: Any, path: str) -> Any:
        if spec.kind == "roles":
            values = self.many(value, path, self.option(spec.options))
        else:
            def tag(item: Any, where: str) -> str | None:
                if not isinstance(item, str) or not item.strip() or len(item.strip()) > 40:
                    self.check.fail(where, "a tag of 1-40 characters")
                    return None
                return item.strip().lower()
            values = self.many(value, path, tag)
        if values is None:
            return None
        given = bindparam(None, values, type_=spec.column.type)
        return spec.column.op("&&" if op == "has_any" else "@>")(given)

    def time_range(self, column: Any, op: str, value: Any, path: str) -> Any:
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.check.fail(path, "[from, to]: two days or times")
                return None
            low = self.moment(value[0], f"{path}[0]", upper=False)
            high = self.moment(value[1], f"{path}[1]", upper=True)
            if low is None or high is None:
                return None
            if high[0] < low[0]:
                self.check.fail(f"{path}[1]", "not before the start")
                return None
            return and_(column >= low[0], column <= high[0] if high[1] else column < high[0])
        bound = self.moment(value, path, upper=op == "after")
        if bound is None:
            return None
        instant, included = bound
        if op == "before":
            return column < instant
        return column > instant if included else column >= instant

    def interaction(self, subject: str, op: str, value: Any, path: str) -> Any:
        """Through the last-interaction times the database keeps (crm/activity_recency.py), as EXISTS over that
        table: a semi- or anti-join when the condition stands alone, a hashed or indexed lookup inside ``any``. A
        record whose latest interaction lies ahead (a planned meeting) is decided from its interactions, as only
        those that already happened count."""
        if op == "none" and value is not None:
            self.check.fail(path, "no value for none")
            return None
        if op != "none" and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS):
            self.check.fail(path, "a whole number of days from 0 to 36500")
            return None
        linked: Any
        if subject == "account":
            record, last, key = Account.id, AccountLastInteraction.last_at, AccountLastInteraction.account_id
            linked = Interaction.account_id
        else:
            record, last, key = Contact.id, ContactLastInteraction.last_at, ContactLastInteraction.contact_id
            linked = Interaction.contact_id
        now = func.now()

        def kept(condition: Any) -> Any:
            return exists().where(key == record, condition)

        # the interactions that happened of the few records whose latest one lies ahead: uncorrelated, so hashed
        # once and the scan over the kept times stays parallel
        ahead = select(key).where(last > now)
        happened = select(linked).where(linked.in_(ahead), Interaction.archived_at.is_(None),
                                        Interaction.occurred_at <= now)
        if op == "none":
            return ~kept(or_(last <= now, key.in_(happened)))
        cutoff = now - timedelta(days=value)
        recent = happened.where(Interaction.occurred_at > cutoff)
        if op == "lt":
            return kept(or_(and_(last > cutoff, last <= now), and_(last > now, key.in_(recent))))
        return kept(or_(last <= cutoff, and_(last > now, key.in_(happened), key.not_in(recent))))

    def has_deal(self, condition: Any) -> Any:
        query = select(Deal.id).where(Deal.account_id == Account.id, Deal.archived_at.is_(None), condition)
        limit_to = deal_service.visible(self.actor)
        return exists(query if limit_to is None else query.where(limit_to))

    async def deal_stage(self, op: str, value: Any, path: str) -> Any:
        ids = [self.an_id(value, path)] if op == "eq" else self.many(value, path, self.an_id)
        if ids is None or None in ids:
            return None
        known = set((await self.uow.session.execute(
            select(PipelineStage.id).where(PipelineStage.id.in_(ids)))).scalars())
        missing = [i for i, stage in enumerate(ids) if stage not in known]
        if missing:
            self.check.fail(path if op == "eq" else f"{path}[{missing[0]}]", "no such pipeline stage")
            return None
        return self.has_deal(Deal.stage_id.in_(ids))

    # --- custom fields -------------------------------------------------------------------------------------------

    async def custom(self, table: str, key: str, op: Any, value: Any, path: str) -> Any:
        if table not in self._definitions:
            self._definitions[table] = await custom_fields.definitions(self.uow, table)
        definition = self._definitions[table].get(key)
        if definition is None:
            self.check.fail(f"{path}.field", "no such custom field")
            return None
        ops = CUSTOM_OPS[definition.type]
        if op not in ops:
            self.check.fail(f"{path}.op", "one of: " + ", ".join(ops))
            return None
        column = (Account if table == "account" else Contact).custom
        path = f"{path}.value"
        if op == "is_null":
            flag = self.flag(value, path)
            return None if flag is None else (~column.has_key(key) if flag else column.has_key(key))

        def one(item: Any, where: str) -> Any:
            failures = len(self.check.errors)
            stored = custom_fields.coerce(self.check, where, definition, item)
            if stored is None and len(self.check.errors) == failures:
                self.check.fail(where, "a value")
            return stored

        if op == "contains":
            text = self.text(value, path)
            return None if text is None else column[key].astext.ilike(contains_pattern(text), escape="\\")
        if op in ("eq", "ne", "in", "not_in"):
            values = [one(value, path)] if op in ("eq", "ne") else self.many(value, path, one)
            if values is None or None in values:
                return None
            matches = or_(*[column.contains({key: v}) for v in values])
            return matches if op in ("eq", "in") else not_(matches)
        typed = cast(column[key].astext, Numeric if definition.type == "number" else Date)

        def bound(item: Any, where: str) -> Any:
            stored = one(item, where)
            if stored is None:
                return None
            return Decimal(stored) if definition.type == "number" else date.fromisoformat(stored)

        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.check.fail(path, "[from, to]: two values")
                return None
            low, high = bound(value[0], f"{path}[0]"), bound(value[1], f"{path}[1]")
            if low is None or high is None:
                return None
            return and_(typed >= low, typed <= high)
        limit = bound(value, path)
        if limit is None:
            return None
        compare = {"gt": typed > limit, "gte": typed >= limit, "lt": typed < limit, "lte": typed <= limit,
                   "before": typed < limit, "after": typed > limit}
        return compare[op]


_DEAL_STATUS: dict[str, Callable[[], Any]] = {
    "won": lambda: Deal.won_at.is_not(None),
    "lost": lambda: Deal.lost_at.is_not(None),
    "open": lambda: and_(Deal.won_at.is_(None), Deal.lost_at.is_(None)),
}


def check_entity(entity: Any, field: str = "entity") -> str:
    if entity not in SEGMENT_ENTITIES:
        fields = Fields()
        fields.fail(field, "one of: account, contact")
        fields.done()
    return str(entity)


async def compile_filter(uow: UnitOfWork, actor: CrmActor, entity: str, raw: Any,
                         path: str = "filter") -> Compiled:
    """Check ``raw`` (every problem reported at once, 422 ``invalid_filter``) and build its WHERE clause."""
    compiler = _Compiler(uow, actor, entity)
    clause = await compiler.group(raw, path, 1)
    if compiler.check.errors:
        raise invalid(compiler.check)
    return Compiled(entity, clause)


def contacts_visible_by_account(actor: CrmActor) -> Any:
    """``contacts.visible`` (crm/contacts.py) in a form without a join: own or unowned contacts, or contacts whose
    account is visible (a hashed ``account_id IN (SELECT ...)`` probe instead of joining 1M contacts)."""
    by_owner = visible_clause(actor, Contact.owner_user_id)
    if by_owner is None:
        return None
    by_account = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    return or_(by_owner, Contact.account_id.in_(select(Account.id).where(by_account)))


def scoped(actor: CrmActor, entity: str, what: Any) -> Select[Any]:
    """``SELECT what`` over the entity's unarchived records ``actor`` may see (crm/visibility.py)."""
    if entity == "account":
        query = select(what).select_from(Account).where(Account.archived_at.is_(None))
        limit_to = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    else:
        query = select(what).select_from(Contact).where(Contact.archived_at.is_(None))
        limit_to = contacts_visible_by_account(actor)
    return query if limit_to is None else query.where(limit_to)


def matching(actor: CrmActor, compiled: Compiled, what: Any) -> Select[Any]:
    """``SELECT what`` over the records of a compiled filter that ``actor`` may see."""
    return scoped(actor, compiled.entity, what).where(compiled.clause)
