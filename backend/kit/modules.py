"""The module registry: product areas a tenant switches on and off.

Later features register their navigation here; a route declares its module with
``opt={"module": "crm"}`` and answers 404 while the tenant has it switched off.
The enabled set is stored per tenant in ``company_settings.modules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str  # an English msgid, translated where it is shown
    path: str  # relative to the tenant root, e.g. "accounts"


@dataclass(frozen=True, slots=True)
class Module:
    key: str
    label: str
    description: str
    nav: tuple[NavItem, ...] = field(default=())


MODULES: dict[str, Module] = {}
DEFAULT_ENABLED: tuple[str, ...] = ("crm", "sales")


def register(module: Module) -> Module:
    MODULES[module.key] = module
    return module


def add_nav(key: str, item: NavItem) -> None:
    module = MODULES[key]
    MODULES[key] = Module(module.key, module.label, module.description, (*module.nav, item))


for _key, _label, _description in (
    ("crm", "CRM", "Accounts, contacts, deals, interactions and tasks"),
    ("sales", "Sales", "Products, quotes, orders, invoices and payments"),
    ("purchasing", "Purchasing", "Supplier orders and vendor bills"),
    ("inventory", "Inventory", "Warehouses, stock moves and valuation"),
    ("ledger", "Accounting", "Chart of accounts, journal, periods and closes"),
    ("support", "Support", "Tickets, SLAs and the customer portal"),
    ("marketing", "Marketing", "Email and SMS campaigns, consent and suppression"),
    ("bot", "Telegram bot", "Field reps log visits and check balances from Telegram"),
):
    register(Module(_key, _label, _description))


def validate(keys: list[str]) -> list[str]:
    unknown = sorted(set(keys) - set(MODULES))
    if unknown:
        raise ValueError(f"unknown modules: {', '.join(unknown)}")
    return [k for k in MODULES if k in set(keys)]
