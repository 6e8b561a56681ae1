"""What the CRM benchmark asks: search terms and records drawn from the seeded data (deterministic per seed)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import asyncpg

from backend.seeding_bulk import Plan, row_id


@dataclass(frozen=True)
class Workload:
    searches: list[tuple[str, str]]  # (kind of term, term)
    accounts: list[str]  # account ids for the card


def _typo(rng: random.Random, term: str) -> str:
    """Drop or swap one inner character (what a hurried user types)."""
    if len(term) < 5:
        return term
    at = rng.randint(1, len(term) - 3)
    if rng.random() < 0.5:
        return term[:at] + term[at + 1:]
    return term[:at] + term[at + 1] + term[at] + term[at + 2:]


async def draw(conn: asyncpg.Connection, schema: str, plan: Plan, samples: int, seed: int = 1) -> Workload:
    rng = random.Random(seed)
    quoted = '"' + schema.replace('"', '') + '"'

    async def one(sql: str, table: str, count: int) -> list[asyncpg.Record]:
        ids = [str(row_id(plan.seed, table, rng.randrange(count))) for _ in range(samples)]
        return list(await conn.fetch(sql.format(s=quoted), ids))

    contacts = await one("SELECT full_name, email, phone FROM {s}.contacts WHERE id = ANY($1::uuid[])",
                         "contact", plan.contacts)
    accounts = await one("SELECT id, name FROM {s}.accounts WHERE id = ANY($1::uuid[])", "account", plan.accounts)
    entities = await one("SELECT tax_id FROM {s}.legal_entities WHERE id = ANY($1::uuid[])", "legal_entity",
                         plan.accounts)
    terms: list[tuple[str, str]] = []
    for r in contacts:
        terms.append(("contact name", r["full_name"]))
        terms.append(("contact name, typo", _typo(rng, r["full_name"])))
        terms.append(("name beginning, 2 letters", r["full_name"][:2]))  # "김민", "佐藤", "Ol"
        terms.append(("email prefix", r["email"].split("@")[0]))
        terms.append(("phone digits", r["phone"][-8:]))
    for r in accounts:
        words = r["name"].split()
        terms.append(("account name", " ".join(words[:-1]) if len(words) > 2 else r["name"]))
        terms.append(("account word, typo", _typo(rng, words[0])))
    for r in entities:
        terms.append(("tax id", r["tax_id"]))
    rng.shuffle(terms)
    return Workload(terms[:samples], [str(r["id"]) for r in accounts])
