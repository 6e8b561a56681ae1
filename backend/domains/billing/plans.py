"""The plan catalog shown on the landing page and chosen at signup.

Prices are Decimal in the plan's currency. Stripe prices get attached by the
billing work; until then a plan is a label with limits and a trial length.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backend.kit.errors import FieldError, Invalid


@dataclass(frozen=True, slots=True)
class Plan:
    code: str
    name: str
    monthly_price: Decimal
    currency: str
    seats: int | None  # None: unlimited
    trial_days: int
    summary: str


PLANS: tuple[Plan, ...] = (
    Plan("starter", "Starter", Decimal("0.00"), "USD", 3, 0, "CRM and sales for a small team"),
    Plan("growth", "Growth", Decimal("29.00"), "USD", 25, 14, "Adds purchasing, inventory and accounting"),
    Plan("scale", "Scale", Decimal("79.00"), "USD", None, 14, "Every module, support portal and campaigns"),
)
DEFAULT_PLAN = "starter"


def plan(code: str | None) -> Plan:
    code = code or DEFAULT_PLAN
    for candidate in PLANS:
        if candidate.code == code:
            return candidate
    raise Invalid("Unknown plan.", [FieldError("plan", "one of: " + ", ".join(p.code for p in PLANS))],
                  "invalid_plan")
