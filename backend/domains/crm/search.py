"""One search box over accounts, legal entities and contacts: typo-tolerant, ranked, visibility-aware.

Matching uses pg_trgm (GIN trigram indexes from revision t0004): a substring match (ILIKE), trigram
similarity (``%``) and word similarity (``%>``, a whole word inside a longer name), so "hanbt" finds
"Hanbit Trading". Each kind is searched with its own query under the same visibility rules as its list,
and the hits are merged by score.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select

from backend.db.keyset import contains_pattern
from backend.db.uow import UnitOfWork
from backend.domains.crm import contacts
from backend.domains.crm.models import Account, Contact, LegalEntity
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.kit.errors import FieldError, Invalid

KINDS = ("account", "legal_entity", "contact")


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    id: uuid.UUID
    title: str
    subtitle: str | None
    account_id: uuid.UUID | None
    score: float


def _match(column: Any, q: str) -> tuple[Any, Any]:
    """(WHERE condition, score) for one text column."""
    pattern = contains_pattern(q)
    condition = or_(column.ilike(pattern, escape="\\"), column.op("%")(q), column.op("%>")(q))
    score = (
        func.greatest(func.similarity(column, q), func.word_similarity(q, column))
        + case((column.ilike(pattern, escape="\\"), 0.5), else_=0.0)
        + case((func.lower(column) == q.lower(), 1.0), else_=0.0)
    )
    return condition, score


async def search(uow: UnitOfWork, actor: CrmActor, q: str, *, kinds: tuple[str, ...] = KINDS,
                 limit: int = 20) -> list[Hit]:
    q = (q or "").strip()
    if not 2 <= len(q) <= 100:
        raise Invalid("Search needs 2-100 characters.", [FieldError("q", "2-100 characters")])
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise Invalid("Unknown record kinds.", [FieldError("kinds", "some of: account, legal_entity, contact")])
    if not 1 <= limit <= 50:
        raise Invalid("Invalid limit.", [FieldError("limit", "1-50")])
    hits: list[Hit] = []
    if "account" in kinds:
        hits += await _accounts(uow, actor, q, limit)
    if "legal_entity" in kinds:
        hits += await _legal_entities(uow, actor, q, limit)
    if "contact" in kinds:
        hits += await _contacts(uow, actor, q, limit)
    hits.sort(key=lambda h: (-h.score, h.title.lower(), str(h.id)))
    return hits[:limit]


async def _accounts(uow: UnitOfWork, actor: CrmActor, q: str, limit: int) -> list[Hit]:
    condition, score = _match(Account.name, q)
    query = select(Account.id, Account.name, Account.status, score.label("score")).where(
        condition, Account.archived_at.is_(None))
    if (limit_to := visible_clause(actor, Account.owner_user_id, Account.is_shared)) is not None:
        query = query.where(limit_to)
    rows = (await uow.session.execute(query.order_by(score.desc()).limit(limit))).all()
    return [Hit("account", r.id, r.name, r.status, r.id, float(r.score)) for r in rows]


async def _legal_entities(uow: UnitOfWork, actor: CrmActor, q: str, limit: int) -> list[Hit]:
    by_name, name_score = _match(LegalEntity.registered_name, q)
    by_tax, tax_score = _match(func.coalesce(LegalEntity.tax_id, ""), q.replace(" ", ""))
    score = func.greatest(name_score, tax_score)
    query = (
        select(LegalEntity.id, LegalEntity.registered_name, LegalEntity.tax_id, LegalEntity.account_id,
               score.label("score"))
        .join(Account, Account.id == LegalEntity.account_id)
        .where(or_(by_name, by_tax), LegalEntity.archived_at.is_(None))
    )
    if (limit_to := visible_clause(actor, Account.owner_user_id, Account.is_shared)) is not None:
        query = query.where(limit_to)
    rows = (await uow.session.execute(query.order_by(score.desc()).limit(limit))).all()
    return [Hit("legal_entity", r.id, r.registered_name, r.tax_id, r.account_id, float(r.score)) for r in rows]


async def _contacts(uow: UnitOfWork, actor: CrmActor, q: str, limit: int) -> list[Hit]:
    by_name, name_score = _match(Contact.full_name, q)
    by_email, email_score = _match(func.coalesce(Contact.email, ""), q.lower())
    by_phone = and_(literal(any(ch.isdigit() for ch in q)),
                    func.coalesce(Contact.phone, "").like(contains_pattern("".join(ch for ch in q if ch.isdigit()))))
    score = func.greatest(name_score, email_score, case((by_phone, 0.8), else_=0.0))
    query = (
        select(Contact.id, Contact.full_name, Contact.email, Contact.account_id, score.label("score"))
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(or_(by_name, by_email, by_phone), Contact.archived_at.is_(None))
    )
    if (limit_to := contacts.visible(actor)) is not None:
        query = query.where(limit_to)
    rows = (await uow.session.execute(query.order_by(score.desc()).limit(limit))).all()
    return [Hit("contact", r.id, r.full_name, r.email, r.account_id, float(r.score)) for r in rows]
