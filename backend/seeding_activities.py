"""Demo interactions and tasks for `tandem seed`, written through the real services (validated and audited).

Every seeded account gets about a year of interactions (calls, emails, meetings, SMS, notes and visits with
coordinates around its market's city: Seoul, Tokyo, Moscow, New York) and a task or two: some overdue, some due
today, some upcoming, some done. The random stream is its own (derived from the seed), so adding activities did
not change the accounts, contacts and deals a seed produces; times are offsets from ``now``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from backend.db.uow import UnitOfWork
from backend.domains.crm import interactions, tasks
from backend.domains.crm.activity_time import caller_zone
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import DomainError

# (latitude, longitude, street) of each market's city: visits land within a few kilometres of it.
CITIES = {
    "kr": (Decimal("37.5665"), Decimal("126.9780"), ("Sejong-daero 110, Jung-gu, Seoul", "Teheran-ro 152, Seoul")),
    "jp": (Decimal("35.6762"), Decimal("139.6503"), ("2-8-1 Nishi-Shinjuku, Tokyo", "1-1 Marunouchi, Tokyo")),
    "ru": (Decimal("55.7558"), Decimal("37.6173"), ("Tverskaya ul. 13, Moscow", "Leningradsky pr. 39, Moscow")),
    "us": (Decimal("40.7128"), Decimal("-74.0060"), ("350 Fifth Avenue, New York", "1 Liberty Plaza, New York")),
}
KINDS = ("call", "email", "meeting", "visit", "sms", "note")
KIND_WEIGHTS = (30, 25, 15, 10, 10, 10)
SUBJECTS = {
    "call": ("Price check", "Delivery date", "Follow-up on the quote", "Payment reminder", "Intro call"),
    "email": ("Quote sent", "Catalogue", "Contract draft", "Invoice question", "Meeting notes"),
    "meeting": ("Kick-off", "Quarterly review", "Negotiation round", "Product demo"),
    "visit": ("Site visit", "Warehouse tour", "Plant audit", "Showroom visit"),
    "sms": ("Running late", "Confirmed the slot", "Delivery arrived"),
    "note": ("Decision maker changed", "Budget approved for Q3", "Prefers calls after 3 pm", "Competitor offer"),
}
BODIES = ("Agreed to talk again next week.", "Asked for a discount on volume.", "Happy with the last delivery.",
          "Needs the documents in two languages.", "Wants a trial order first.", "Raised a quality complaint.")
TASKS = ("Call back about the quote", "Send the contract draft", "Prepare the demo", "Chase the payment",
         "Book the site visit", "Update the price list", "Confirm delivery date")
# Task categories cycle, so even the tiny demo has every kind on the owner's "my tasks" page.
CATEGORIES = ("overdue", "today", "upcoming", "done", "undated", "today_timed")


@dataclass
class ActivityReport:
    interactions: int = 0
    tasks: int = 0
    skipped: list[str] = field(default_factory=list)


async def _attempt(uow: UnitOfWork, report: ActivityReport, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        async with uow.savepoint():
            return await call()
    except DomainError as exc:
        report.skipped.append(f"{what}: {exc.detail}")
        return None


def _near(rng: random.Random, centre: Decimal, spread: str = "0.05") -> Decimal:
    offset = Decimal(rng.randint(-10_000, 10_000)) / Decimal(10_000) * Decimal(spread)
    return (centre + offset).quantize(Decimal("0.000001"))


def _interaction(rng: random.Random, market: str, account: Account, people: list[uuid.UUID],
                 deal: uuid.UUID | None, when: datetime) -> dict[str, Any]:
    kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
    body: dict[str, Any] = {"kind": kind, "account_id": account.id, "occurred_at": when, "source": "web",
                            "subject": rng.choice(SUBJECTS[kind]), "body": rng.choice(BODIES)}
    if people and rng.random() < 0.7:
        body["contact_id"] = rng.choice(people)
    if deal is not None and rng.random() < 0.4:
        body["deal_id"] = deal
    if kind in ("call", "sms", "email"):
        body["direction"] = rng.choice(("inbound", "outbound"))
    if kind == "call":
        body["duration_seconds"] = rng.randint(20, 1800)
    if kind == "visit":
        lat, lon, streets = CITIES.get(market, CITIES["us"])
        body |= {"latitude": _near(rng, lat), "longitude": _near(rng, lon), "address": rng.choice(streets)}
    return body


def _task(rng: random.Random, category: str, account: Account, deal: uuid.UUID | None, now: datetime,
          today: Any, zone: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": rng.choice(TASKS)}
    if deal is not None and rng.random() < 0.5:
        body |= {"link_type": "deal", "link_id": deal}
    else:
        body |= {"link_type": "account", "link_id": account.id}
    if category == "overdue":
        body["due_date"] = today - timedelta(days=rng.randint(1, 20))
    elif category == "today":
        body["due_date"] = today
    elif category == "today_timed":
        body["due_at"] = datetime.combine(today, time(rng.choice((10, 14, 17))), tzinfo=zone)
    elif category in ("upcoming", "done"):
        body["due_at"] = now + timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
    return body


async def seed_activities(uow: UnitOfWork, actor: CrmActor, *, seed: int, now: datetime,
                          progress: Callable[[str], None] | None = None) -> ActivityReport:
    """Interactions and tasks for the accounts made in this transaction (in name order: same seed, same data)."""
    rng = random.Random(seed * 7919 + 1)  # noqa: S311 - deterministic demo data, not secrets
    report = ActivityReport()
    zone = await caller_zone(uow, None)
    today = now.astimezone(zone).date()
    made_now = Account.created_at == func.transaction_timestamp()  # not the accounts of an earlier seeding
    accounts = list((await uow.session.execute(select(Account).where(made_now).order_by(Account.name))).scalars())
    people: dict[uuid.UUID, list[uuid.UUID]] = {}
    linked = select(Contact).where(Contact.account_id.is_not(None)).order_by(Contact.full_name, Contact.email)
    for contact in (await uow.session.execute(linked)).scalars():
        if contact.account_id is not None:
            people.setdefault(contact.account_id, []).append(contact.id)
    deals: dict[uuid.UUID, uuid.UUID] = {}  # one deal per seeded account
    for account_id, deal_id in (await uow.session.execute(select(Deal.account_id, Deal.id))).all():
        deals.setdefault(account_id, deal_id)
    task_number = 0
    for index, account in enumerate(accounts):
        market = (account.tags or ["us"])[0]
        deal = deals.get(account.id)
        count = rng.randint(3, 12)
        moments = sorted(now - timedelta(minutes=rng.randint(30, 365 * 24 * 60)) for _ in range(count))
        for when in moments:
            body = _interaction(rng, market, account, people.get(account.id, []), deal, when)
            made = await _attempt(uow, report, "interaction", _call(interactions.create, uow, actor, body))
            report.interactions += made is not None
        for _ in range(rng.randint(1, 2)):
            category = CATEGORIES[task_number % len(CATEGORIES)]
            task_number += 1
            made = await _attempt(uow, report, "task", _call(tasks.create, uow, actor,
                                                            _task(rng, category, account, deal, now, today, zone)))
            if made is None:
                continue
            report.tasks += 1
            if category == "done":
                await _attempt(uow, report, "done", _call(tasks.set_done, uow, actor, made.id, True))
        if progress and (index + 1) % 50 == 0:
            progress(f"{index + 1}/{len(accounts)} accounts' activities")
    return report


def _call(fn: Callable[..., Awaitable[Any]], *args: Any) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return await fn(*args)

    return run
