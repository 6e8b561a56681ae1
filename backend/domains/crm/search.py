"""One search box over accounts, legal entities and contacts: full-text + fuzzy, ranked, visibility-aware.

Two passes, both on GIN indexes (revisions t0004 and t0009), so the cost follows the number of matches looked at,
not the size of the tenant:

1. **precise**: a substring (ILIKE on trigram indexes), the words in any order (``to_tsvector('simple', …) @@
   websearch_to_tsquery``), an e-mail fragment, the digits of a phone or tax id;
2. **fuzzy**, only when the precise pass found fewer hits than asked for and the text has letters: each word typed
   is replaced by its closest words in the tenant's dictionary of name words (``search_words``: pg_trgm similarity
   over a small table), and names holding those words are found through the full-text indexes ("hanbt tradng"
   becomes ``(hanbit) & (trading | tradings)`` and finds "Hanbit Trading").

Each pass takes at most ``CANDIDATES`` rows per record kind (in index order) and ranks those: exact name first,
then full-text rank, substring and trigram similarity. A very broad term ("Trading" among 200,000 accounts) thus
returns well-matching rows quickly instead of ranking every match. Each kind is searched under the same
visibility rule as its list, and the hits are merged by score.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, false, func, literal, literal_column, or_, select, text

from backend.db.keyset import contains_pattern
from backend.db.uow import UnitOfWork
from backend.domains.crm import contacts, search_words
from backend.domains.crm.models import TAX_DIGITS, Account, Contact, LegalEntity
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.kit.errors import FieldError, Invalid

KINDS = ("account", "legal_entity", "contact")
CANDIDATES = 200
MIN_DIGITS = 4


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    id: uuid.UUID
    title: str
    subtitle: str | None
    account_id: uuid.UUID | None
    score: float


@dataclass(frozen=True, slots=True)
class Term:
    """The search text and its derived forms; ``corrected`` is the fuzzy pass's tsquery (dictionary words)."""

    q: str
    fuzzy: bool
    corrected: str = ""

    @property
    def pattern(self) -> str:
        return contains_pattern(self.q)

    @property
    def digits(self) -> str:
        return "".join(ch for ch in self.q if ch.isalnum() and ch.isascii())

    @property
    def has_digits(self) -> bool:
        return sum(ch.isdigit() for ch in self.q) >= MIN_DIGITS


def _words(column: Any) -> Any:
    return func.to_tsvector(text("'simple'::regconfig"), column)


def _query(q: str) -> Any:
    return func.websearch_to_tsquery(text("'simple'::regconfig"), q)


def _name_match(column: Any, term: Term) -> Any:
    """Index-backed condition on a name column for the current pass."""
    if term.fuzzy:
        return _words(column).op("@@")(func.to_tsquery(text("'simple'::regconfig"), term.corrected))
    return or_(column.ilike(term.pattern, escape="\\"), _words(column).op("@@")(_query(term.q)))


async def _correct(uow: UnitOfWork, q: str) -> str:
    """A tsquery of the words of ``q``: each word the dictionary does not know is replaced by its closest dictionary
    words, known words stay; words with digits, and unknown words without any close word, are left out. '' when
    no word needs correcting (the precise pass already saw them all) or none can be."""
    options = await search_words.corrections(uow, q)
    if not any(options.values()):
        return ""
    lexemes = (await uow.session.execute(select(func.unnest(func.tsvector_to_array(
        func.to_tsvector(text("'simple'::regconfig"), q)))))).scalars()
    groups: list[str] = []
    for word in lexemes:
        if word in options:
            if options[word]:
                groups.append("(" + " | ".join(w for w in options[word] if w.isalnum()) + ")")
        elif word.isalnum() and not any(ch.isdigit() for ch in word):
            groups.append(word)
    return " & ".join(g for g in groups if g != "()")


def _name_score(column: Any, q: str) -> Any:
    return (
        func.greatest(func.similarity(column, q), func.word_similarity(q, column))
        + case((column.ilike(contains_pattern(q), escape="\\"), 0.5), else_=0.0)
        + case((func.lower(column) == q.lower(), 1.0), else_=0.0)
        + func.ts_rank(_words(column), _query(q))
    )


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
    arms: dict[str, Callable[[UnitOfWork, CrmActor, Term, set[uuid.UUID]], Awaitable[list[Hit]]]] = {
        "account": _accounts, "legal_entity": _legal_entities, "contact": _contacts}
    hits: list[Hit] = []
    seen: set[uuid.UUID] = set()
    for fuzzy in (False, True):
        corrected = ""
        if fuzzy:
            if len(hits) >= limit or "@" in q or not any(ch.isalpha() for ch in q):
                break
            corrected = await _correct(uow, q)
            if not corrected:
                break
        term = Term(q, fuzzy, corrected)
        found: list[Hit] = []
        for kind in kinds:
            found += await arms[kind](uow, actor, term, seen)
        seen.update(h.id for h in found)
        # every precise hit ranks above every fuzzy one
        hits += sorted(found, key=lambda h: (-h.score, h.title.lower(), str(h.id)))
    return hits[:limit]


async def _ranked(uow: UnitOfWork, candidates: Select[*tuple[Any, ...]], score: Callable[[Any], Any],
                  limit: int = CANDIDATES) -> list[Any]:
    """Rank at most ``limit`` candidate rows (taken in index order) by ``score`` over the subquery's columns."""
    sub = candidates.limit(limit).subquery()
    rows = await uow.session.execute(select(sub, score(sub.c).label("score")).order_by(text("score DESC")))
    return list(rows.all())


def _not_seen(column: Any, seen: set[uuid.UUID]) -> Any:
    return column.not_in(seen) if seen else literal(True)


async def _accounts(uow: UnitOfWork, actor: CrmActor, term: Term, seen: set[uuid.UUID]) -> list[Hit]:
    query = select(Account.id, Account.name, Account.status).where(
        _name_match(Account.name, term), Account.archived_at.is_(None), _not_seen(Account.id, seen))
    if (limit_to := visible_clause(actor, Account.owner_user_id, Account.is_shared)) is not None:
        query = query.where(limit_to)
    rows = await _ranked(uow, query, lambda c: _name_score(c.name, term.q))
    return [Hit("account", r.id, r.name, r.status, r.id, float(r.score)) for r in rows]


async def _legal_entities(uow: UnitOfWork, actor: CrmActor, term: Term, seen: set[uuid.UUID]) -> list[Hit]:
    tax_digits: ColumnElement[str] = literal_column(TAX_DIGITS.replace("tax_id", "legal_entities.tax_id"))
    by_tax = (tax_digits.like(contains_pattern(term.digits)) if term.has_digits and not term.fuzzy
              else false())
    query = (
        select(LegalEntity.id, LegalEntity.registered_name, LegalEntity.tax_id, LegalEntity.account_id,
               case((by_tax, 1.5), else_=0.0).label("tax_hit"))
        .join(Account, Account.id == LegalEntity.account_id)
        .where(or_(_name_match(LegalEntity.registered_name, term), by_tax), LegalEntity.archived_at.is_(None),
               _not_seen(LegalEntity.id, seen))
    )
    if (limit_to := visible_clause(actor, Account.owner_user_id, Account.is_shared)) is not None:
        query = query.where(limit_to)
    rows = await _ranked(uow, query, lambda c: c.tax_hit + _name_score(c.registered_name, term.q))
    return [Hit("legal_entity", r.id, r.registered_name, r.tax_id, r.account_id, float(r.score)) for r in rows]


def _email_match(q: str) -> Any:
    """A fragment with '@' or '.' anywhere in the address (trigrams); a bare word as the start of the address
    (btree range) or, without digits, of its domain."""
    if "@" in q or "." in q:
        return Contact.email.ilike(contains_pattern(q.lower()), escape="\\")
    word = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    prefix = func.lower(Contact.email).like(word + "%", escape="\\")
    if any(ch.isdigit() for ch in q):  # "contact1234": a mailbox, not a domain
        return prefix
    return or_(prefix, Contact.email.ilike("%@" + word + "%", escape="\\"))


async def _contacts(uow: UnitOfWork, actor: CrmActor, term: Term, seen: set[uuid.UUID]) -> list[Hit]:
    by_email = false() if term.fuzzy else _email_match(term.q)
    phone_digits = "".join(ch for ch in term.q if ch.isdigit())
    by_phone = (Contact.phone.like(contains_pattern(phone_digits)) if term.has_digits and not term.fuzzy
                else false())
    query = (
        select(Contact.id, Contact.full_name, Contact.email, Contact.account_id,
               case((by_phone, 0.8), else_=0.0).label("phone_hit"))
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(or_(_name_match(Contact.full_name, term), by_email, by_phone), Contact.archived_at.is_(None),
               _not_seen(Contact.id, seen))
    )
    if (limit_to := contacts.visible(actor)) is not None:
        query = query.where(limit_to)

    def score(c: Any) -> Any:
        email = func.coalesce(c.email, "")
        by_mail = func.greatest(func.similarity(email, term.q.lower()),
                                case((email.ilike(contains_pattern(term.q.lower()), escape="\\"), 0.9), else_=0.0))
        return func.greatest(_name_score(c.full_name, term.q), by_mail, c.phone_hit)

    rows = await _ranked(uow, query, score)
    return [Hit("contact", r.id, r.full_name, r.email, r.account_id, float(r.score)) for r in rows]

