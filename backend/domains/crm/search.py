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

Each pass is one statement (a UNION ALL of the kinds) built once per *shape* (kinds, pass, which matchers apply,
the caller's visibility) with bind parameters, so SQLAlchemy compiles it once and PostgreSQL sees one round trip.
Text shaped like an address or a handle ("amelia.moore.3", "contact123") gets no fuzzy pass: its words are not
names, and "corrections" of them would only match thousands of unrelated people.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    Uuid,
    all_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from backend.db.keyset import contains_pattern, like_escaped
from backend.db.uow import UnitOfWork
from backend.domains.crm import contacts, search_words
from backend.domains.crm.models import TAX_DIGITS, Account, Contact, LegalEntity
from backend.domains.crm.visibility import CrmActor, visible_clause
from backend.kit.errors import FieldError, Invalid

KINDS = ("account", "legal_entity", "contact")
CANDIDATES = 200
MIN_DIGITS = 4
MIN_WORD = 3  # trigram indexes serve substrings of 3 characters or more
HANDLE = re.compile(r"\w[._@]\w|[0-9][^\W\d_]|[^\W\d_][0-9]")  # an address, a login, a code

# bind parameters of the search statements (see ``_values``)
Q = bindparam("q", type_=String())
PATTERN = bindparam("pattern", type_=String())  # q anywhere in a name
LOWER_PATTERN = bindparam("lower_pattern", type_=String())
WORDS = bindparam("words", type_=String())  # tsquery text of the fuzzy pass (dictionary words)
DIGITS = bindparam("digits", type_=String())  # the letters and digits of q, anywhere in a tax id
PHONE = bindparam("phone", type_=String())  # the digits of q, anywhere in a phone
EMAIL_PREFIX = bindparam("email_prefix", type_=String())
EMAIL_DOMAIN = bindparam("email_domain", type_=String())
SEEN = bindparam("seen", type_=ARRAY(Uuid()))
ME = bindparam("me", type_=Uuid())
_SOMEONE = uuid.UUID(int=0)  # stands for the caller while a statement is built (the value binds as ``ME``)


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    id: uuid.UUID
    title: str
    subtitle: str | None
    account_id: uuid.UUID | None
    score: float


@dataclass(frozen=True, slots=True)
class Shape:
    """What a search statement depends on besides the bound values."""

    kinds: tuple[str, ...]
    fuzzy: bool
    digits: bool  # q has enough digits to look for phones and tax ids
    email: str  # "" (fuzzy pass), "contains" (q has '@' or '.'), "prefix" (q has digits), "prefix_or_domain"
    role: str
    has_user: bool
    has_seen: bool
    short: bool = False  # a word under 3 characters: trigrams cannot serve it, names match by word prefixes

    @property
    def actor(self) -> CrmActor:
        return CrmActor(self.role, _SOMEONE if self.has_user else None)


def _values(q: str, corrected: str, seen: set[uuid.UUID], actor: CrmActor) -> dict[str, Any]:
    word = like_escaped(q.lower())
    return {"q": q, "pattern": contains_pattern(q), "lower_pattern": contains_pattern(q.lower()),
            "words": corrected, "digits": contains_pattern("".join(ch for ch in q if ch.isalnum() and ch.isascii())),
            "phone": contains_pattern("".join(ch for ch in q if ch.isdigit())), "email_prefix": word + "%",
            "email_domain": "%@" + word + "%", "seen": sorted(seen), "me": actor.user_id or _SOMEONE}


def _words(column: Any) -> Any:
    return func.to_tsvector(text("'simple'::regconfig"), column)


def _query(q: Any) -> Any:
    return func.websearch_to_tsquery(text("'simple'::regconfig"), q)


def _prefix_query() -> Any:
    """A tsquery of every word of ``q`` as a prefix ('김민':* & 'ji':*), parsed by PostgreSQL (one InitPlan)."""
    lexeme = func.unnest(func.tsvector_to_array(_words(Q))).column_valued("lexeme")
    joined = func.string_agg(func.quote_literal(lexeme).concat(":*"), literal(" & "))
    return select(func.to_tsquery(text("'simple'::regconfig"), joined)).scalar_subquery()


def _name_match(column: Any, shape: Shape) -> Any:
    """Index-backed condition on a name column for the pass."""
    if shape.fuzzy:
        return _words(column).op("@@")(func.to_tsquery(text("'simple'::regconfig"), WORDS))
    if shape.short:  # "佐藤", "김민", "Li Wei": whole words or their beginnings, through the full-text index
        return _words(column).op("@@")(_prefix_query())
    return or_(column.ilike(PATTERN, escape="\\"), _words(column).op("@@")(_query(Q)))


def _name_score(column: Any) -> Any:
    return (
        func.greatest(func.similarity(column, Q), func.word_similarity(Q, column))
        + case((column.ilike(PATTERN, escape="\\"), 0.5), else_=0.0)
        + case((func.lower(column) == func.lower(Q), 1.0), else_=0.0)
        + func.ts_rank(_words(column), _query(Q))
    )


def _not_seen(column: Any, shape: Shape) -> Any:
    return column != all_(SEEN) if shape.has_seen else literal(True)


def _visible(shape: Shape, owner: Any, shared: Any | None = None) -> Any:
    return visible_clause(shape.actor, owner, shared, user=ME)


async def _correct(uow: UnitOfWork, q: str) -> str:
    """A tsquery of the words of ``q``: each word the dictionary does not know is replaced by its closest dictionary
    words, known words stay; words with digits, and unknown words without any close word, are left out. '' when
    no word needs correcting (the precise pass already saw them all) or none can be."""
    words = await search_words.corrections(uow, q)
    if not any(options for _, options in words):
        return ""
    groups: list[str] = []
    for word, options in words:
        if options is not None:
            alternatives = [w for w in options if w.isalnum()]
            if alternatives:
                groups.append("(" + " | ".join(alternatives) + ")")
        elif word.isalnum() and not any(ch.isdigit() for ch in word):
            groups.append(word)
    return " & ".join(groups)


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
    kinds = tuple(k for k in KINDS if k in kinds)
    digits = sum(ch.isdigit() for ch in q) >= MIN_DIGITS
    email = "contains" if "@" in q or "." in q else ("prefix" if any(ch.isdigit() for ch in q) else "prefix_or_domain")
    hits: list[Hit] = []
    seen: set[uuid.UUID] = set()
    for fuzzy in (False, True):
        corrected = ""
        if fuzzy:
            if len(hits) >= limit or "@" in q or not any(ch.isalpha() for ch in q) or HANDLE.search(q):
                break
            corrected = await _correct(uow, q)
            if not corrected:
                break
        shape = Shape(kinds, fuzzy, digits and not fuzzy, "" if fuzzy else email, actor.role, actor.user_id is not None,
                      bool(seen), short=not fuzzy and any(len(word) < MIN_WORD for word in q.split()))
        rows = await uow.session.execute(statement(shape), _values(q, corrected, seen, actor))
        found = [Hit(r.kind, r.id, r.title, r.subtitle, r.account_id, float(r.score)) for r in rows]
        seen.update(h.id for h in found)
        # every precise hit ranks above every fuzzy one
        hits += sorted(found, key=lambda h: (-h.score, h.title.lower(), str(h.id)))
    return hits[:limit]


@lru_cache(maxsize=128)
def statement(shape: Shape) -> Any:
    """The pass's one statement: each kind's candidates (at most ``CANDIDATES``, in index order) ranked."""
    arms = {"account": _accounts, "legal_entity": _legal_entities, "contact": _contacts}
    parts = [arms[kind](shape) for kind in shape.kinds]
    return union_all(*parts) if len(parts) > 1 else parts[0]


def _hits(kind: str, candidates: Select[*tuple[Any, ...]], title: str, subtitle: str, account: str,
          score: Any) -> Select[Any]:
    sub = candidates.limit(CANDIDATES).subquery()
    return select(literal(kind, String()).label("kind"), sub.c.id.label("id"), sub.c[title].label("title"),
                  sub.c[subtitle].label("subtitle"), sub.c[account].label("account_id"),
                  cast(score(sub.c), Float()).label("score"))


def _accounts(shape: Shape) -> Select[Any]:
    query = select(Account.id, Account.name, Account.status).where(
        _name_match(Account.name, shape), Account.archived_at.is_(None), _not_seen(Account.id, shape))
    if (limit_to := _visible(shape, Account.owner_user_id, Account.is_shared)) is not None:
        query = query.where(limit_to)
    return _hits("account", query, "name", "status", "id", lambda c: _name_score(c.name))


def _legal_entities(shape: Shape) -> Select[Any]:
    tax_digits: ColumnElement[str] = literal_column(TAX_DIGITS.replace("tax_id", "legal_entities.tax_id"))
    by_tax = tax_digits.like(DIGITS) if shape.digits else false()
    query = (
        select(LegalEntity.id, LegalEntity.registered_name, LegalEntity.tax_id, LegalEntity.account_id,
               case((by_tax, 1.5), else_=0.0).label("tax_hit"))
        .join(Account, Account.id == LegalEntity.account_id)
        .where(or_(_name_match(LegalEntity.registered_name, shape), by_tax), LegalEntity.archived_at.is_(None),
               _not_seen(LegalEntity.id, shape))
    )
    if (limit_to := _visible(shape, Account.owner_user_id, Account.is_shared)) is not None:
        query = query.where(limit_to)
    return _hits("legal_entity", query, "registered_name", "tax_id", "account_id",
                 lambda c: c.tax_hit + _name_score(c.registered_name))


def _email_match(shape: Shape) -> Any:
    """A fragment with '@' or '.' anywhere in the address (trigrams); a bare word as the start of the address
    (btree range) or, without digits, of its domain."""
    if shape.email == "contains":
        return Contact.email.ilike(LOWER_PATTERN, escape="\\")
    prefix = func.lower(Contact.email).like(EMAIL_PREFIX, escape="\\")
    if shape.email == "prefix" or shape.short:  # "contact1234": a mailbox; "김민": too short for a domain search
        return prefix
    return or_(prefix, Contact.email.ilike(EMAIL_DOMAIN, escape="\\"))


def _contacts(shape: Shape) -> Select[Any]:
    by_email = _email_match(shape) if shape.email else false()
    by_phone = Contact.phone.like(PHONE) if shape.digits else false()
    query = (
        select(Contact.id, Contact.full_name, Contact.email, Contact.account_id,
               case((by_phone, 0.8), else_=0.0).label("phone_hit"))
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(or_(_name_match(Contact.full_name, shape), by_email, by_phone), Contact.archived_at.is_(None),
               _not_seen(Contact.id, shape))
    )
    if (limit_to := contacts.visible(shape.actor, user=ME)) is not None:
        query = query.where(limit_to)

    def score(c: Any) -> Any:
        email = func.coalesce(c.email, "")
        by_mail = func.greatest(func.similarity(email, func.lower(Q)),
                                case((email.ilike(LOWER_PATTERN, escape="\\"), 0.9), else_=0.0))
        return func.greatest(_name_score(c.full_name), by_mail, c.phone_hit)

    return _hits("contact", query, "full_name", "email", "account_id", score)
