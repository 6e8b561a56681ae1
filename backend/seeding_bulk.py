"""`tandem seed --size large`: benchmark volumes written set-based in SQL (INSERT … SELECT generate_series).

The demo sizes go through the services one record at a time; a million contacts that way would take hours, so
the large size writes the same tables directly, batch by batch, each batch in its own transaction with progress
output. The data keeps the rules the services enforce (E.164 phones, one tax id per legal entity, stage history
for every deal, won/lost deals with their timestamps and reasons) and is deterministic for a given ``--seed``:
row ``i`` of a table is a pure function of ``(seed, i)``; ids are ``md5(seed-table-i)`` so rows can reference one
another without joins. It writes no audit rows (it is not user activity).

Volumes at scale 1.0: 200,000 accounts, 180,000 legal entities (none for persons), 1,000,000 contacts, 200,000
deals with their stage history, and 2,000,000 interactions when the tenant schema has that table.
"""

# ruff: noqa: RUF001 - demo names are Korean, Japanese and Russian (the SQL is built from constants only)
from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from backend.db.uow import UnitOfWork
from backend.domains.crm import search_words

Scope = Callable[[], Any]  # an async context manager factory yielding a tenant UnitOfWork
Progress = Callable[[str], None]

VOLUMES = {"accounts": 200_000, "contacts": 1_000_000, "deals": 200_000, "interactions": 2_000_000}
BATCH = 50_000
# Markets by i % 4: 0 Korea, 1 Japan, 2 Russia, 3 United States.
MARKETS = ("KR", "JP", "RU", "US")


def _arr(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


SYLLABLES = {
    "KR": ("한", "빛", "대", "푸", "른", "새", "솔", "미", "래", "동", "방", "청", "운", "우", "리", "성", "진", "해",
           "온", "누", "가", "람", "도", "현", "세", "영", "태", "광", "명", "수"),
    "JP": ("山", "田", "東", "都", "日", "出", "北", "斗", "桜", "井", "大", "和", "明", "星", "富", "士", "川", "島",
           "中", "野", "松", "本", "青", "木", "石", "原", "丸", "高", "森", "光"),
    "RU": ("вол", "гор", "дон", "ка", "ле", "ми", "нор", "про", "ра", "сиб", "тех", "ур", "фин", "хим", "цен", "ян",
           "бал", "вест", "град", "ком", "лин", "мет", "нев", "ост", "пром", "рус", "стан", "тор", "юг", "зар"),
    "US": ("ka", "lo", "ri", "ven", "tor", "mar", "sel", "dan", "vi", "ro", "nex", "tal", "mo", "ra", "zen", "bel",
           "cor", "fin", "gal", "hol", "kin", "lux", "nor", "pax", "quin", "sol", "tri", "ul", "vor", "wex"),
}
SUFFIXES = {
    "KR": ("무역", "물산", "테크", "식품", "건설", "전자", "유통", "산업"),
    "JP": ("商事", "工業", "物産", "電機", "食品", "運輸", "製作所", "産業"),
    "RU": ("Металл", "Трейд", "Логистик", "Строй", "Агро", "Снаб", "Энерго", "Пром"),
    "US": ("Trading", "Logistics", "Foods", "Systems", "Supply", "Industries", "Partners", "Group"),
}
FIRST = {
    "KR": ("민지", "서준", "지훈", "수아", "하윤", "도윤", "서연", "예준", "지우", "하은", "시우", "지민", "유진",
           "현우", "채원", "준호", "은비", "태민", "소연", "재원"),
    "JP": ("健", "花子", "大輔", "美咲", "翔", "結衣", "蓮", "陽菜", "悠真", "葵", "拓海", "さくら", "大和", "凛",
           "湊", "芽依", "陸", "美月", "蒼", "彩"),
    "RU": ("Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Анна", "Сергей", "Елена", "Андрей", "Наталья",
           "Михаил", "Татьяна", "Николай", "Ирина", "Павел", "Светлана", "Егор", "Юлия", "Артём", "Дарья"),
    "US": ("Emily", "James", "Olivia", "Noah", "Ava", "Liam", "Sophia", "Mason", "Isabella", "Ethan", "Mia",
           "Lucas", "Harper", "Logan", "Amelia", "Elijah", "Evelyn", "Owen", "Abigail", "Henry"),
}
LAST = {
    "KR": ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송",
           "류", "홍"),
    "JP": ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木",
           "山口", "松本", "井上", "木村", "林", "清水", "斎藤"),
    "RU": ("Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Волков", "Морозов", "Лебедев", "Новиков",
           "Козлов", "Егоров", "Павлов", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Белов",
           "Фролов"),
    "US": ("Carter", "Wilson", "Brown", "Davis", "Miller", "Moore", "Taylor", "Anderson", "Thomas", "Jackson",
           "White", "Harris", "Martin", "Thompson", "Garcia", "Martinez", "Robinson", "Clark", "Lewis", "Walker"),
}
DOMAINS = {"KR": "example.kr", "JP": "example.jp", "RU": "example.ru", "US": "example.com"}
PHONES = {"KR": ("+8210", 8), "JP": ("+8190", 8), "RU": ("+7912", 7), "US": ("+1415", 7)}
LEGAL_FORM = {"KR": "'주식회사 ' || {n}", "JP": "{n} || '株式会社'", "RU": "'ООО «' || {n} || '»'",
              "US": "{n} || ' LLC'"}
CHANNELS = ("exhibition", "referral", "website", "cold call", "seminar")
LOST_REASONS = ("Price too high", "Chose a competitor", "Budget frozen", "No decision maker", "Timing")


def _h(i: str, salt: int) -> str:
    """A deterministic non-negative pseudo-random integer for row ``i`` (SQL)."""
    return f"(hashint8(({i})::bigint * 7919 + {salt}) & 2147483647)"


def _pick(values: tuple[str, ...], i: str, salt: int) -> str:
    return f"({_arr(values)})[1 + {_h(i, salt)} % {len(values)}]"


def _per_market(i: str, build: Callable[[str], str]) -> str:
    """CASE over the market of row ``i`` (i % 4)."""
    arms = " ".join(f"WHEN {n} THEN {build(m)}" for n, m in enumerate(MARKETS))
    return f"(CASE ({i}) % 4 {arms} END)"


def _account_name(i: str, s: int) -> str:
    def build(m: str) -> str:
        a, b, c = (_pick(SYLLABLES[m], i, s + k) for k in (1, 2, 3))
        word = f"initcap({a} || {b} || {c})" if m in {"RU", "US"} else f"({a} || {b} || {c})"
        sep = "' '" if m in {"RU", "US"} else "''"
        return f"({word} || {sep} || {_pick(SUFFIXES[m], i, s + 4)})"

    return _per_market(i, build)


def _full_name(i: str, s: int) -> str:
    def build(m: str) -> str:
        first, last = _pick(FIRST[m], i, s + 11), _pick(LAST[m], i, s + 12)
        if m == "KR":
            return f"({last} || {first})"
        if m == "JP":
            return f"({last} || ' ' || {first})"
        return f"({first} || ' ' || {last})"

    return _per_market(i, build)


def _id(seed: int, table: str, i: str) -> str:
    return f"md5('{seed}-{table}-' || ({i}))::uuid"


def row_id(seed: int, table: str, i: int) -> uuid.UUID:
    """The id the generator gives row ``i`` of ``table`` (same formula as the SQL)."""
    import hashlib

    return uuid.UUID(hashlib.md5(f"{seed}-{table}-{i}".encode()).hexdigest())  # noqa: S324 - ids, not security


@dataclass
class BulkReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


DERIVED = ("deal_funnel", "contact_last_interaction", "account_last_interaction")  # filled by triggers


@dataclass(frozen=True)
class Plan:
    seed: int
    accounts: int
    contacts: int
    deals: int
    interactions: int
    owners: tuple[uuid.UUID, ...]

    @classmethod
    def at_scale(cls, scale: float, seed: int, owners: tuple[uuid.UUID, ...]) -> Plan:
        if not 0 < scale <= 5:
            raise ValueError("scale must be in (0, 5]")
        if not owners:
            raise ValueError("at least one owner is needed")
        n = {k: max(4, int(v * scale)) for k, v in VOLUMES.items()}
        return cls(seed, n["accounts"], n["contacts"], n["deals"], n["interactions"], owners)

    def owner(self, i: str, salt: int) -> str:
        """Owner of row ``i``: one of the members, one row in 8 unowned."""
        listed = "ARRAY[" + ", ".join(f"'{o}'::uuid" for o in self.owners) + "]"
        pick = f"({listed})[1 + {_h(i, salt + 1)} % {len(self.owners)}]"
        return f"(CASE WHEN {_h(i, salt)} % 8 = 0 THEN NULL ELSE {pick} END)"


def accounts_sql(p: Plan) -> str:
    s = p.seed * 100
    return f"""
INSERT INTO accounts (id, name, kind, status, owner_user_id, is_shared, tags, source_channel, created_at, updated_at)
SELECT {_id(p.seed, 'account', 'i')}, {_account_name('i', s)} || ' ' || (i % 997),
       CASE WHEN i % 10 = 9 THEN 'person' ELSE 'organization' END,
       (ARRAY['lead', 'prospect', 'customer', 'customer', 'churned'])[1 + {_h('i', s + 5)} % 5],
       {p.owner('i', s + 6)}, {_h('i', s + 8)} % 10 < 3,
       ARRAY[lower((ARRAY['KR', 'JP', 'RU', 'US'])[1 + i % 4])]::varchar[],
       {_pick(CHANNELS, 'i', s + 9)},
       now() - make_interval(days => {_h('i', s + 10)} % 1095), now()
FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS i"""


def legal_entities_sql(p: Plan) -> str:
    s = p.seed * 100
    name = _account_name("i", s) + " || ' ' || (i % 997)"
    form = _per_market("i", lambda m: LEGAL_FORM[m].format(n=f"({name})"))
    return f"""
INSERT INTO legal_entities (id, account_id, registered_name, tax_id, country, created_at, updated_at)
SELECT {_id(p.seed, 'legal_entity', 'i')}, {_id(p.seed, 'account', 'i')}, {form},
       lpad((1000000000 + i)::text, 10, '0'), (ARRAY['KR', 'JP', 'RU', 'US'])[1 + i % 4], now(), now()
FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS i WHERE i % 10 <> 9"""


def contacts_sql(p: Plan) -> str:
    s = p.seed * 100
    account = f"(i % {p.accounts})"

    def phone(m: str) -> str:
        prefix, digits = PHONES[m]
        return f"'{prefix}' || lpad(((i * 7) % {10 ** digits})::text, {digits}, '0')"

    def email(m: str) -> str:
        if m == "US":
            return (f"lower({_pick(FIRST['US'], 'i', s + 11)} || '.' || {_pick(LAST['US'], 'i', s + 12)})"
                    f" || '.' || i || '@{DOMAINS[m]}'")
        return f"'contact' || i || '@{DOMAINS[m]}'"

    return f"""
INSERT INTO contacts (id, account_id, full_name, job_title, email, phone, roles, email_consent, email_consent_at,
                      email_consent_source, sms_consent, owner_user_id, created_at, updated_at)
SELECT {_id(p.seed, 'contact', 'i')}, {_id(p.seed, 'account', account)}, {_full_name(account, s)},
       NULL, {_per_market(account, email)}, {_per_market(account, phone)},
       ARRAY[(ARRAY['decision_maker', 'payer', 'user'])[1 + {_h('i', s + 13)} % 3]]::varchar[],
       {_h('i', s + 14)} % 10 < 4,
       CASE WHEN {_h('i', s + 14)} % 10 < 4 THEN now() - interval '200 days' END,
       CASE WHEN {_h('i', s + 14)} % 10 < 4 THEN 'import' END, false,
       {p.owner(account, s + 6)}, now() - make_interval(days => {_h('i', s + 15)} % 1095), now()
FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS i"""


def deals_sql(p: Plan) -> str:
    s = p.seed * 100
    account = f"({_h('i', s + 20)} % {p.accounts})"
    created = f"(now() - make_interval(days => 30 + {_h('i', s + 21)} % 700))"
    return f"""
WITH st AS (SELECT array_agg(id ORDER BY position) AS ids, array_agg(probability ORDER BY position) AS probs,
                   array_agg(kind ORDER BY position) AS kinds
            FROM pipeline_stages WHERE pipeline_id = CAST(:pipeline AS uuid)),
     g AS (SELECT i, 1 + {_h('i', s + 22)} % 100 AS roll
           FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS i)
INSERT INTO deals (id, pipeline_id, stage_id, account_id, title, amount, currency, probability, expected_close_date,
                   owner_user_id, source_channel, lost_reason, won_at, lost_at, created_at, updated_at)
SELECT {_id(p.seed, "deal", "i")}, CAST(:pipeline AS uuid), st.ids[x.stage], {_id(p.seed, 'account', account)},
       {_pick(('Annual supply contract', 'Pilot order', 'Service agreement', 'Spare parts', 'Framework deal'),
              'i', s + 23)},
       ((1 + {_h('i', s + 24)} % 500) * (ARRAY[1000000, 100000, 100000, 1000])[1 + ({account}) % 4])::numeric(18, 2),
       (ARRAY['KRW', 'JPY', 'RUB', 'USD'])[1 + ({account}) % 4], st.probs[x.stage],
       ({created})::date + 30 + {_h('i', s + 25)} % 300,
       {p.owner(account, s + 6)}, {_pick(CHANNELS, 'i', s + 26)},
       CASE WHEN st.kinds[x.stage] = 'lost' THEN {_pick(LOST_REASONS, 'i', s + 27)} END,
       CASE WHEN st.kinds[x.stage] = 'won' THEN {created} + make_interval(days => 7 + {_h('i', s + 28)} % 25) END,
       CASE WHEN st.kinds[x.stage] = 'lost' THEN {created} + make_interval(days => 7 + {_h('i', s + 28)} % 25) END,
       {created}, now()
FROM g CROSS JOIN st
CROSS JOIN LATERAL (SELECT CASE WHEN g.roll <= 45 THEN 1 WHEN g.roll <= 60 THEN 2 WHEN g.roll <= 70 THEN 3
                                WHEN g.roll <= 85 THEN 4 ELSE 5 END AS stage) AS x"""


def history_sql(p: Plan) -> str:
    """Each deal entered every open stage up to the one it is in; a won deal passed all open stages, a lost one
    dropped out after one to three of them; ``from_stage_id`` is the previous row's stage."""
    s = p.seed * 100
    return f"""
INSERT INTO deal_stage_history (deal_id, from_stage_id, to_stage_id, moved_at, moved_by_user_id)
SELECT deal_id, lag(stage_id) OVER (PARTITION BY deal_id ORDER BY ord), stage_id, moved_at, owner
FROM (SELECT d.id AS deal_id, st.id AS stage_id, st.position AS ord, d.owner_user_id AS owner,
             CASE WHEN st.kind = 'open' THEN d.created_at + make_interval(days => 3 * st.position)
                  ELSE coalesce(d.won_at, d.lost_at) END AS moved_at
      FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS i
      JOIN deals d ON d.id = {_id(p.seed, 'deal', 'i')}
      JOIN pipeline_stages cur ON cur.id = d.stage_id
      JOIN pipeline_stages st ON st.pipeline_id = d.pipeline_id
      WHERE st.id = cur.id
         OR (st.kind = 'open' AND (cur.kind = 'won' OR (cur.kind = 'open' AND st.position < cur.position)
                                   OR (cur.kind = 'lost' AND st.position <= {_h('i', s + 29)} % 3)))) AS x"""


SUBJECTS = ("Intro call", "Quarterly review", "Price discussion", "Site visit", "Follow-up", "Demo",
            "Contract questions", "Delivery planning")
# Visits happen around Seoul, Tokyo, Moscow and New York (by the account's market).
CITIES = ((37.5665, 126.9780), (35.6762, 139.6503), (55.7558, 37.6173), (40.7128, -74.0060))


def interactions_sql(p: Plan) -> str:
    """A year of interactions spread over the accounts; calls have a direction and duration, visits coordinates."""
    s = p.seed * 100
    account = f"({_h('i', s + 40)} % {p.accounts})"
    per_account = max(1, p.contacts // p.accounts)
    contact = f"({account} + {p.accounts} * ({_h('i', s + 41)} % {per_account}))"
    kind = _pick(("meeting", "call", "call", "email", "email", "sms", "visit", "note"), "i", s + 42)

    def coordinate(axis: int) -> str:
        arms = " ".join(f"WHEN {n} THEN {c[axis]}" for n, c in enumerate(CITIES))
        return f"(CASE {account} % 4 {arms} END + ({_h('i', s + 43 + axis)} % 2000 - 1000) / 10000.0)"

    return f"""
INSERT INTO interactions (id, account_id, contact_id, kind, occurred_at, subject, body, direction, duration_seconds,
                          latitude, longitude, source, author_user_id, created_at, updated_at)
SELECT id, account_id, contact_id, kind, occurred_at, subject,
       CASE WHEN kind = 'note' THEN 'Notes: ' || subject END,
       CASE WHEN kind = 'call' THEN (ARRAY['inbound', 'outbound'])[1 + i % 2] END,
       CASE WHEN kind = 'call' THEN 30 + i % 1800 END,
       CASE WHEN kind = 'visit' THEN lat END, CASE WHEN kind = 'visit' THEN lon END,
       'web', author, occurred_at, occurred_at
FROM (SELECT i, {_id(p.seed, 'interaction', 'i')} AS id, {_id(p.seed, 'account', account)} AS account_id,
             CASE WHEN {_h('i', s + 45)} % 3 = 0 OR {contact} >= {p.contacts} THEN NULL
                  ELSE {_id(p.seed, 'contact', contact)} END AS contact_id,
             {kind} AS kind, now() - make_interval(mins => {_h('i', s + 46)} % 525600) AS occurred_at,
             {_pick(SUBJECTS, 'i', s + 47)} AS subject, {p.owner(account, s + 6)} AS author,
             {coordinate(0)}::numeric(9, 6) AS lat, {coordinate(1)}::numeric(9, 6) AS lon
      FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS i) AS g"""


async def _interactions(scope: Scope, plan: Plan, report: BulkReport, progress: Progress) -> None:
    async with scope() as uow:
        if not await has_table(uow, "interactions"):
            progress("interactions: no such table in this schema, skipped")
            return
    await _batches(scope, "interactions", plan.interactions, interactions_sql(plan), {}, report, progress)


async def _batches(scope: Scope, name: str, total: int, sql: str, params: dict[str, Any], report: BulkReport,
                   progress: Progress) -> None:
    started = time.perf_counter()
    done = 0
    for lo in range(0, total, BATCH):
        hi = min(total, lo + BATCH) - 1
        async with scope() as uow:
            result = await uow.session.execute(text(sql), {**params, "lo": lo, "hi": hi})
            done += int(getattr(result, "rowcount", 0) or 0)
        progress(f"{name}: {done:,} rows ({time.perf_counter() - started:.1f} s)")
    report.counts[name] = done
    report.seconds[name] = round(time.perf_counter() - started, 1)


Extra = Callable[[Scope, Plan, BulkReport, Progress], Awaitable[None]]
# Generators of tables that may not exist in every schema yet; each checks for its table first.
EXTRA_TABLES: list[Extra] = [_interactions]


async def seed_bulk(scope: Scope, plan: Plan, pipeline_id: uuid.UUID, progress: Progress) -> BulkReport:
    report = BulkReport()
    await _batches(scope, "accounts", plan.accounts, accounts_sql(plan), {}, report, progress)
    await _batches(scope, "legal_entities", plan.accounts, legal_entities_sql(plan), {}, report, progress)
    await _batches(scope, "contacts", plan.contacts, contacts_sql(plan), {}, report, progress)
    await _batches(scope, "deals", plan.deals, deals_sql(plan), {"pipeline": pipeline_id}, report, progress)
    await _batches(scope, "deal_stage_history", plan.deals, history_sql(plan), {}, report, progress)
    for extra in EXTRA_TABLES:
        await extra(scope, plan, report, progress)
    async with scope() as uow:
        if await has_table(uow, "search_words"):
            started = time.perf_counter()
            result = await uow.session.execute(text(search_words.fill_sql()))
            report.counts["search_words"] = int(getattr(result, "rowcount", 0) or 0)
            report.seconds["search_words"] = round(time.perf_counter() - started, 1)
            progress(f"search_words: {report.counts['search_words']:,} new words")
    async with scope() as uow:  # with the summaries the database keeps from them (deal_funnel, *_last_interaction)
        for table in (*report.counts, *DERIVED):
            if table in report.counts or await has_table(uow, table):
                await uow.session.execute(text(f"ANALYZE {table}"))
    return report


async def has_table(uow: UnitOfWork, table: str) -> bool:
    found = await uow.session.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table})
    return bool(found.scalar_one())


async def seeded_with(uow: UnitOfWork, seed: int) -> bool:
    """Whether a bulk seed with ``seed`` already wrote this tenant's rows (ids would collide)."""
    found = await uow.session.execute(text("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = :id)"),
                                      {"id": row_id(seed, "account", 0)})
    return bool(found.scalar_one())
