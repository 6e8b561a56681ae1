"""The tenant's dictionary of words that occur in searchable names (accounts, legal entities, contacts).

Typo tolerance works on this small table rather than on millions of names: the fuzzy pass of ``search`` looks up
the words closest to each word the user typed (pg_trgm similarity over ``search_words``, GIN index) and then finds
names containing those words through the full-text indexes. Trigram similarity straight over a million names
reads every name sharing a common trigram ("ov " in half the Russian surnames) and takes seconds.

The services add the words of every name they write (``remember``); the bulk seed and the migration that created
the table fill it from the existing names. Words are never removed — a stale word only finds nothing — except by
``forget`` when a person's data is erased (crm/privacy.py): the words of the erased names that no name holds any more.
"""

from __future__ import annotations

from sqlalchemy import Index, String, delete, exists, func, literal, or_, select, table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import column

from backend.db.base import TenantBase
from backend.db.uow import UnitOfWork

MAX_WORD = 100
# Names whose words the dictionary holds (table, column); the migration and the bulk seed fill it from these.
SOURCES = (("accounts", "name"), ("legal_entities", "registered_name"), ("contacts", "full_name"))


class SearchWord(TenantBase):
    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(MAX_WORD), primary_key=True)

    __table_args__ = (
        Index("ix_search_words_word_trgm", "word", postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"}),
    )


async def remember(uow: UnitOfWork, *names: str | None) -> None:
    """Add the words of ``names`` (written in the caller's transaction)."""
    words = await _tsvector_words(uow, names)
    if words:
        await uow.session.execute(insert(SearchWord).values([{"word": w} for w in sorted(words)])
                                  .on_conflict_do_nothing())


async def _tsvector_words(uow: UnitOfWork, names: tuple[str | None, ...]) -> set[str]:
    """The lexemes PostgreSQL itself makes of the names, so the dictionary matches the full-text indexes."""
    present = [n for n in names if n]
    if not present:
        return set()
    query = select(func.unnest(func.tsvector_to_array(func.to_tsvector(text("'simple'::regconfig"),
                                                                        " ".join(present)))))
    return {w for w in (await uow.session.execute(query)).scalars() if _kept(w)}


def _kept(word: str) -> bool:
    """Words with digits (numbers, codes) are matched exactly, never corrected: they stay out."""
    return 1 < len(word) <= MAX_WORD and not any(ch.isdigit() for ch in word)


def fill_sql() -> str:
    """SQL that adds the words of every existing name (migration backfill and bulk seed)."""
    parts = " UNION ".join(
        f"SELECT unnest(tsvector_to_array(to_tsvector('simple'::regconfig, {column}::text))) AS word FROM {table}"
        for table, column in SOURCES)
    return (f"INSERT INTO search_words (word) SELECT word FROM ({parts}) AS w "
            f"WHERE length(word) BETWEEN 2 AND {MAX_WORD} AND word !~ '[0-9]' ON CONFLICT DO NOTHING")


async def corrections(uow: UnitOfWork, q: str, *, per_word: int = 4,
                      threshold: float = 0.3) -> list[tuple[str, list[str] | None]]:
    """Every word of ``q`` (as the full-text parser splits it, in order) with its closest dictionary words, or None
    for a word left as typed: known words, words with digits and words under 3 characters (one round trip)."""
    rows = await uow.session.execute(text(f"""
        SELECT q.w, CASE WHEN length(q.w) >= 3 AND q.w !~ '[0-9]'
                          AND NOT EXISTS (SELECT 1 FROM search_words k WHERE k.word = q.w)
                    THEN ARRAY(SELECT s.word FROM search_words s WHERE s.word % q.w AND similarity(s.word, q.w) >= :t
                               ORDER BY similarity(s.word, q.w) DESC, s.word LIMIT {int(per_word)}) END AS options
        FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, :q))) AS q(w)
        """), {"q": q, "t": threshold})
    return [(r.w, None if r.options is None else list(r.options)) for r in rows]


async def forget(uow: UnitOfWork, *names: str | None) -> None:
    """Remove the words of ``names`` that no searchable name holds any more (after those names were overwritten)."""
    for word in sorted(await _tsvector_words(uow, names)):
        query = func.plainto_tsquery(text("'simple'::regconfig"), literal(word))
        still = or_(*(exists().select_from(table(name)).where(
            func.to_tsvector(text("'simple'::regconfig"), column(field)).op("@@")(query)) for name, field in SOURCES))
        await uow.session.execute(delete(SearchWord).where(SearchWord.word == word, ~still))
