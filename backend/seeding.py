"""`tandem seed`: realistic, deterministic CRM demo data, written through the real services.

Accounts in four markets (Korea, Japan, Russia, the US) with their legal entities, contacts and deals
spread over the pipeline (some won, some lost with a reason), then a year of interactions and a few tasks per
account (backend/seeding_activities.py), so a first-time user sees a living product.
Everything goes through the domain services, so seeded data obeys every validation rule and is audited.
"""

# ruff: noqa: RUF001 - demo names are Korean, Japanese and Russian on purpose
from __future__ import annotations

import random
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from backend.db.uow import UnitOfWork
from backend.domains.crm import accounts, contacts, deals, legal_entities, pipelines
from backend.domains.crm.deals_models import PipelineStage
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor
from backend.kit.clock import utcnow
from backend.kit.errors import DomainError
from backend.seeding_activities import seed_activities

SIZES = {"tiny": 12, "small": 200, "medium": 1_000}
LOST_REASONS = ("Price too high", "Chose a competitor", "Budget frozen", "No decision maker", "Timing")
PRODUCTS = ("Annual supply contract", "Pilot order", "Service agreement", "Spare parts", "Framework deal")


@dataclass(frozen=True)
class Market:
    country: str
    currency: str
    companies: tuple[tuple[str, ...], tuple[str, ...]]
    legal_form: Callable[[str], str]
    people: tuple[str, ...]
    phone: Callable[[random.Random], str]
    tax_id: Callable[[random.Random], str]
    domain: str


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


MARKETS = (
    Market("KR", "KRW", (("한빛", "대한", "푸른", "새솔", "미래", "동방", "청운", "우리"),
                         ("무역", "물산", "테크", "식품", "건설", "전자", "유통")),
           lambda n: f"주식회사 {n}", ("김민지", "이서준", "박지훈", "최수아", "정하윤", "강도윤", "윤서연"),
           lambda r: f"+82 10-{_digits(r, 4)}-{_digits(r, 4)}",
           lambda r: f"{_digits(r, 3)}-{_digits(r, 2)}-{_digits(r, 5)}", "example.kr"),
    Market("JP", "JPY", (("山田", "東都", "日之出", "北斗", "桜井", "大和", "明星"),
                         ("商事", "工業", "物産", "電機", "食品", "運輸")),
           lambda n: f"{n}株式会社", ("佐藤 健", "鈴木 花子", "高橋 大輔", "田中 美咲", "伊藤 翔", "渡辺 結衣"),
           lambda r: f"+81 90-{_digits(r, 4)}-{_digits(r, 4)}", lambda r: _digits(r, 13), "example.jp"),
    Market("RU", "RUB", (("Северный", "Волжский", "Уральский", "Балтийский", "Сибирский", "Южный"),
                         ("Металл", "Трейд", "Логистик", "Строй", "Агро", "Снаб")),
           lambda n: f"ООО «{n}»", ("Иван Петров", "Мария Смирнова", "Алексей Кузнецов", "Ольга Попова",
                                     "Дмитрий Соколов", "Анна Волкова"),
           lambda r: f"+7 912 {_digits(r, 3)}-{_digits(r, 2)}-{_digits(r, 2)}", lambda r: _digits(r, 10),
           "example.ru"),
    Market("US", "USD", (("Blue Harbor", "Summit", "Pioneer", "Evergreen", "Atlas", "Northwind", "Cobalt"),
                         ("Trading", "Logistics", "Foods", "Systems", "Supply", "Industries")),
           lambda n: f"{n} LLC", ("Emily Carter", "James Wilson", "Olivia Brown", "Noah Davis", "Ava Miller"),
           lambda r: f"+1 415-{rng_area(r)}-{_digits(r, 4)}", lambda r: f"{_digits(r, 2)}-{_digits(r, 7)}",
           "example.com"),
)


def rng_area(rng: random.Random) -> str:
    return str(rng.randint(200, 899))


@dataclass
class SeedReport:
    accounts: int = 0
    legal_entities: int = 0
    contacts: int = 0
    deals: int = 0
    won: int = 0
    lost: int = 0
    interactions: int = 0
    tasks: int = 0
    skipped: list[str] = field(default_factory=list)


async def existing_accounts(uow: UnitOfWork) -> int:
    return int((await uow.session.execute(select(func.count()).select_from(Account))).scalar_one())


async def seed_crm(uow: UnitOfWork, owner_user_id: uuid.UUID, *, size: str = "small", seed: int = 7,
                   progress: Callable[[str], None] | None = None, now: datetime | None = None) -> SeedReport:
    """Accounts with legal entities, contacts and deals, then a year of interactions and tasks up to ``now``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    rng = random.Random(seed)  # noqa: S311 - deterministic demo data, not secrets
    actor = CrmActor(role="owner", user_id=owner_user_id)
    report = SeedReport()
    pipeline = await pipelines.ensure_default(uow)
    stages = list((await uow.session.execute(
        select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id).order_by(PipelineStage.position)
    )).scalars())
    open_stages = [s for s in stages if s.kind == "open"]
    total = SIZES[size]
    for index in range(total):
        market = MARKETS[index % len(MARKETS)]
        await _one_account(uow, actor, rng, market, index, open_stages, report)
        if progress and (index + 1) % 50 == 0:
            progress(f"{index + 1}/{total} accounts")
    activities = await seed_activities(uow, actor, seed=seed, now=now or utcnow(), progress=progress)
    report.interactions, report.tasks = activities.interactions, activities.tasks
    report.skipped += activities.skipped
    return report


async def _attempt(uow: UnitOfWork, report: SeedReport, what: str, call: Callable[[], Any]) -> Any:
    try:
        async with uow.savepoint():
            return await call()
    except DomainError as exc:
        report.skipped.append(f"{what}: {exc.detail}")
        return None


async def _one_account(uow: UnitOfWork, actor: CrmActor, rng: random.Random, market: Market, index: int,
                       open_stages: list[PipelineStage], report: SeedReport) -> None:
    first, second = rng.choice(market.companies[0]), rng.choice(market.companies[1])
    name = f"{first} {second}" if market.country in {"RU", "US"} else f"{first}{second}"
    status = rng.choices(("lead", "prospect", "customer", "churned"), weights=(3, 3, 5, 1))[0]
    account = await _attempt(uow, report, "account", lambda: accounts.create(uow, actor, {
        "name": f"{name} #{index + 1}", "status": status, "tags": [market.country.lower()],
        "source_channel": rng.choice(("exhibition", "referral", "website", "cold call", "seminar")),
        "is_shared": rng.random() < 0.3}))
    if account is None:
        return
    report.accounts += 1
    entity = await _attempt(uow, report, "legal entity", lambda: legal_entities.create(uow, actor, {
        "account_id": account.id, "registered_name": market.legal_form(name), "tax_id": market.tax_id(rng),
        "country": market.country}))
    report.legal_entities += entity is not None
    for person in rng.sample(market.people, k=rng.randint(1, 3)):
        local = f"contact{index}.{rng.randint(100, 999)}"
        body = {"account_id": account.id, "full_name": person, "email": f"{local}@{market.domain}",
                "phone": market.phone(rng), "roles": [rng.choice(("decision_maker", "payer", "user"))]}
        made = await _attempt(uow, report, "contact", _creator(uow, actor, dict(body)))
        if made is None:  # a generated phone the validator rejects: keep the person without it
            body.pop("phone")
            made = await _attempt(uow, report, "contact", _creator(uow, actor, body))
        report.contacts += made is not None
    if rng.random() < 0.6 and open_stages:
        await _one_deal(uow, actor, rng, market, account, open_stages, report)


def _creator(uow: UnitOfWork, actor: CrmActor, body: dict[str, Any]) -> Callable[[], Any]:
    async def create() -> Any:
        return await contacts.create(uow, actor, body)

    return create


async def _one_deal(uow: UnitOfWork, actor: CrmActor, rng: random.Random, market: Market, account: Account,
                    open_stages: list[PipelineStage], report: SeedReport) -> None:
    scale = {"KRW": 1_000_000, "JPY": 100_000, "RUB": 100_000, "USD": 1_000}[market.currency]
    amount = Decimal(rng.randint(5, 500) * scale).quantize(Decimal("0.01"))
    deal = await _attempt(uow, report, "deal", lambda: deals.create(uow, actor, {
        "account_id": account.id, "title": rng.choice(PRODUCTS), "amount": amount, "currency": market.currency,
        "stage_id": rng.choice(open_stages).id,
        "expected_close_date": date(2027, 1, 1) + timedelta(days=rng.randint(0, 300))}))
    if deal is None:
        return
    report.deals += 1
    outcome = rng.random()
    if outcome < 0.15 and await _attempt(uow, report, "win", lambda: deals.win(uow, actor, deal.id)) is not None:
        report.won += 1
    elif 0.15 <= outcome < 0.25 and await _attempt(
            uow, report, "lose", lambda: deals.lose(uow, actor, deal.id, rng.choice(LOST_REASONS))) is not None:
        report.lost += 1


def print_progress(message: str) -> None:
    print(f"  seeding: {message}", file=sys.stderr, flush=True)
