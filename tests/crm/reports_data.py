"""A hand-built CRM dataset for the report tests: every timestamp chosen, so every figure can be worked out by hand.

Written straight into one fresh tenant (real tables, real Postgres) because reports read history: the services
stamp ``now()``, and a year of stage moves cannot be made through them in a test.

Members: ``rita`` and ``sam`` (reps), ``maya`` (manager), ``vic`` (viewer); the company owner owns nothing.
Pipelines: the default "Sales" one (Qualification 10 %, Proposal 40 %, Negotiation 60 %, Won, Lost) and "Tenders"
(Lead, Won, Lost) that holds the revenue deals, so the funnel and the rep KPIs of "Sales" stay small.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from backend.domains.crm import pipelines
from backend.domains.crm.deals_models import Deal, DealStageMove, PipelineStage
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor
from tenants.scope import tenant_scope
from tests.api.helpers import Member, add_member, execute
from tests.conftest import Company


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class Dataset:
    company: Company
    members: dict[str, Member]
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    deals: dict[str, uuid.UUID] = field(default_factory=dict)
    sales: uuid.UUID | None = None
    tenders: uuid.UUID | None = None
    stages: dict[str, uuid.UUID] = field(default_factory=dict)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def auth(self, who: str) -> dict[str, str]:
        return self.company.auth if who == "owner" else self.members[who].auth

    def user(self, who: str) -> uuid.UUID:
        return self.company.user_id if who == "owner" else self.members[who].user_id


async def build(company: Company) -> Dataset:
    members = {}
    for key, role, name in (("rita", "rep", "Rita Rep"), ("sam", "rep", "Sam Seller"),
                            ("maya", "manager", "Maya Manager"), ("vic", "viewer", "Vic Viewer")):
        members[key] = await add_member(company.tenant.id, role)
        await execute("UPDATE shared.users SET full_name = :n WHERE id = :i", n=name, i=members[key].user_id)
    data = Dataset(company, members)
    async with tenant_scope(company.tenant) as uow:
        owner = CrmActor("owner", company.user_id)
        sales = await pipelines.ensure_default(uow)
        tenders = await pipelines.create(uow, owner, {"name": "Tenders", "stages": [
            {"name": "Lead", "probability": "20"}, {"name": "Signed", "kind": "won"},
            {"name": "Dropped", "kind": "lost"}]})
        data.sales, data.tenders = sales.id, tenders.pipeline.id
        every_stage = list((await uow.session.execute(select(PipelineStage))).scalars())
        data.stages = {s.name: s.id for s in every_stage}
        kinds = {s.id: s for s in every_stage}

        def account(key: str, name: str, owner_key: str | None, shared: bool = False, archived: bool = False) -> None:
            account_id = uuid.uuid4()
            data.accounts[key] = account_id
            uow.session.add(Account(id=account_id, name=name, owner_user_id=data.user(owner_key) if owner_key else None,
                                    is_shared=shared, status="customer", tags=[], version=1,
                                    archived_at=at("2025-01-02") if archived else None))

        account("A1", "Alpha Steel", "rita")
        account("A2", "Beta Foods", "sam")
        account("A3", "Gamma Tech", "sam", shared=True)
        account("A4", "Delta Retail", None)
        account("A5", "Epsilon <b>&Co</b>", "rita")
        account("A6", "Zeta Mills", "sam")
        account("A7", "Archived Co", "rita", archived=True)
        await uow.flush()

        def deal(key: str, account_key: str, owner_key: str | None, moves: list[tuple[str, datetime]], *,
                 amount: str | None = None, currency: str | None = "USD", probability: str | None = None,
                 expected: date | None = None, archived: bool = False, pipeline: uuid.UUID | None = None) -> None:
            deal_id = uuid.uuid4()
            data.deals[key] = deal_id
            last = kinds[data.stages[moves[-1][0]]]
            closed_at = moves[-1][1]
            uow.session.add(Deal(
                id=deal_id, pipeline_id=pipeline or data.sales, stage_id=last.id,
                account_id=data.accounts[account_key], title=f"Deal {key}",
                amount=Decimal(amount) if amount is not None else None, currency=currency,
                probability=Decimal(probability) if probability is not None else last.probability,
                expected_close_date=expected, owner_user_id=data.user(owner_key) if owner_key else None,
                won_at=closed_at if last.kind == "won" else None, lost_at=closed_at if last.kind == "lost" else None,
                lost_reason="Price" if last.kind == "lost" else None, created_at=moves[0][1],
                updated_at=closed_at, archived_at=at("2025-12-01") if archived else None, version=1))
            previous = None
            for stage_name, moved_at in moves:
                uow.session.add(DealStageMove(deal_id=deal_id, from_stage_id=previous, to_stage_id=data.stages[
                    stage_name], moved_at=moved_at, moved_by_user_id=data.user(owner_key) if owner_key else None))
                previous = data.stages[stage_name]

        today = data.today
        next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        # --- the "Sales" funnel cohort of 2025 (D1-D5, D7, D8) and deals outside it --------------------------------
        deal("D1", "A1", "rita", [("Qualification", at("2025-02-01")), ("Proposal", at("2025-02-10")),
                                  ("Negotiation", at("2025-03-01")), ("Won", at("2025-03-15", 21))])
        deal("D2", "A1", "rita", [("Qualification", at("2025-03-01")), ("Lost", at("2025-03-20"))])
        deal("D3", "A2", "sam", [("Proposal", at("2025-04-01")), ("Won", at("2025-05-01"))])
        deal("D4", "A3", "sam", [("Qualification", at("2025-05-01")), ("Negotiation", at("2025-06-01")),
                                 ("Lost", at("2025-07-01"))])
        deal("D5", "A4", None, [("Qualification", at("2025-06-01"))], amount="1000.00", expected=today)
        deal("D6", "A1", "rita", [("Qualification", at("2024-12-15")), ("Proposal", at("2025-01-10")),
                                  ("Won", at("2025-02-01"))])
        deal("D7", "A2", "sam", [("Qualification", at("2025-11-01")), ("Proposal", at("2026-01-05"))],
             amount="333.33", probability="10", expected=next_month)
        deal("D8", "A1", "rita", [("Qualification", at("2025-07-01")), ("Won", at("2025-08-01")),
                                  ("Proposal", at("2025-09-01"))], amount="500.00", currency="EUR", expected=next_month)
        deal("D9", "A1", "rita", [("Qualification", at("2025-03-01"))], amount="999.00", expected=today,
             archived=True)
        # --- open deals made before 2025: the forecast and the open pipeline ---------------------------------------
        deal("D11", "A2", "sam", [("Qualification", at("2024-05-01")), ("Negotiation", at("2024-06-01"))],
             amount="250.05", expected=next_month)
        deal("D12", "A1", "rita", [("Qualification", at("2024-05-01"))], amount="100.00", probability="25",
             expected=today - timedelta(days=1))
        deal("D13", "A3", "sam", [("Qualification", at("2024-05-01"))], amount="80.00", probability="33.33")
        deal("D14", "A4", None, [("Qualification", at("2024-05-01"))], amount="1000.00", probability="50",
             expected=today + timedelta(days=400))
        deal("D15", "A4", None, [("Qualification", at("2024-05-01"))], expected=today)  # no amount
        deal("D16", "A2", "sam", [("Qualification", at("2024-05-01"))], amount="10.00", currency=None,
             probability="50", expected=next_month)
        deal("D18", "A4", None, [("Qualification", at("2024-12-01")), ("Won", at("2025-01-01"))])
        # --- "Tenders": an open deal and the won revenue (ABC/XYZ, BCG) ---------------------------------------------
        deal("D10", "A2", "sam", [("Lead", at("2024-05-01"))], amount="70.00", expected=today, pipeline=data.tenders)

        def won(key: str, account_key: str, owner_key: str | None, day: str, amount: str, currency: str = "USD",
                archived: bool = False) -> None:
            deal(key, account_key, owner_key, [("Lead", at("2024-01-02")), ("Signed", at(day))], amount=amount,
                 currency=currency, pipeline=data.tenders, archived=archived)

        for month in range(1, 13):
            won(f"R1-{month}", "A1", "rita", f"2025-{month:02d}-15", "500.00")
        for month in range(1, 7):
            won(f"R2-{month}", "A2", "sam", f"2025-{month:02d}-15", "400.00")
        won("R3", "A3", "sam", "2025-12-15", "1200.00")
        won("R4", "A4", None, "2025-07-15", "200.00")
        won("R5", "A5", "rita", "2025-08-15", "200.00")
        won("P1", "A1", "rita", "2024-06-15", "5000.00")
        won("P2", "A2", "sam", "2024-06-15", "3000.00")
        won("P4", "A4", None, "2024-06-15", "190.00")
        won("P6", "A6", "sam", "2024-06-15", "100.00")
        won("E2", "A2", "sam", "2025-03-15", "999.00", currency="EUR")
        won("X7", "A7", "rita", "2025-03-15", "777.00")  # archived account
        won("X1", "A1", "rita", "2025-03-15", "888.00", archived=True)  # archived deal
        won("F1", "A1", "rita", "2026-01-15", "50.00")  # after the range
    return data
