"""CRM pages: accounts list (live search, filters, pages), new account, account card (with its timeline and the
log-an-interaction and add-task forms, which post to crm_activity)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.audit import service as audit
from backend.domains.crm import accounts, contacts, legal_entities
from backend.domains.crm.marketing_models import MarketingEvent
from backend.domains.crm.models import ACCOUNT_KINDS, LIFECYCLE, Account
from backend.domains.crm.visibility import CrmActor
from backend.domains.identity.roles import EVERYONE
from backend.kit.errors import DomainError
from backend.kit.modules import NavItem, add_nav
from web import custom_inputs, i18n
from web.context import MODULE_OPT, ROLES_OPT, Page, tenant_page
from web.history import ACCOUNT_FIELDS, history_rows
from web.pages import activity_views as views
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]
CRM_PAGE = {ROLES_OPT: EVERYONE, MODULE_OPT: "crm"}
add_nav("crm", NavItem("Accounts", "accounts"))


def crm_actor(pg: Page) -> CrmActor:
    """The signed-in member as the CRM services see them (role + user)."""
    assert pg.role is not None
    return CrmActor(role=pg.role, user_id=pg.user.id if pg.user else None)


class AccountPages(Controller):
    path = "/t/{tenant_slug:str}/accounts"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def index(
        self, pg: NamedDependency[Page],
        q: FromQuery[str] = Parameter(default="", max_length=200),
        status: FromQuery[str] = "",
        sort: FromQuery[str] = "name",
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
    ) -> Template:
        error = None
        try:
            page = await accounts.list_accounts(pg.uow, crm_actor(pg), q=q or None, status=status or None,
                                                sort=sort, cursor=cursor, limit=50)
        except DomainError as exc:  # a stale cursor or a hand-edited URL: show the first page with a note
            error = i18n.gettext(exc.detail)
            page = await accounts.list_accounts(pg.uow, crm_actor(pg), limit=50)
        template = "crm/_account_rows.html" if pg.request.headers.get("hx-request") else "crm/accounts.html"
        return render(pg, template, rows=page.items, next_cursor=page.next_cursor, q=q, status_filter=status, sort=sort,
                      statuses=LIFECYCLE, error=error, may_write=crm_actor(pg).may_write)

    @get("/new", opt=CRM_PAGE)
    async def new(self, pg: NamedDependency[Page]) -> Template:
        return render(pg, "crm/account_form.html", values={"kind": "organization", "status": "lead"}, errors={},
                      kinds=ACCOUNT_KINDS, statuses=LIFECYCLE,
                      custom_definitions=await custom_inputs.active_definitions(pg.uow, "account"))

    @post("/new", opt=CRM_PAGE)
    async def create(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        values = {k: str(v) for k, v in data.items() if k != "_csrf_token"}
        body: dict[str, Any] = {k: values.get(k, "") for k in ("name", "kind", "status", "source_channel", "website")}
        body["tags"] = [t for t in values.get("tags", "").split(",") if t.strip()]
        body["is_shared"] = values.get("is_shared") == "on"
        definitions = await custom_inputs.active_definitions(pg.uow, "account")
        body["custom"] = custom_inputs.submitted(values, definitions, create=True)
        created, error = await attempt(pg, lambda: accounts.create(pg.uow, crm_actor(pg), body))
        if error is not None or created is None:
            assert error is not None
            return render(pg, "crm/account_form.html", status=error.status, values=values,
                          errors=field_errors(error), kinds=ACCOUNT_KINDS, statuses=LIFECYCLE,
                          custom_definitions=definitions)
        return redirect(f"{pg.base}/accounts/{created.id}", i18n.gettext("Account created."))

    @get("/{account_id:uuid}", opt=CRM_PAGE)
    async def card(
        self, pg: NamedDependency[Page], account_id: FromPath[uuid.UUID],
        timeline_cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
    ) -> Template | Redirect:
        actor = crm_actor(pg)
        account = await accounts.get(pg.uow, actor, account_id)
        if account.merged_into_id is not None:  # old links lead to the account it was merged into
            return redirect(f"{pg.base}/accounts/{account.merged_into_id}",
                            i18n.gettext("That account was merged into this one."), "info")
        return render(pg, "crm/account_card.html", **await card_context(pg, actor, account, timeline_cursor))


async def card_context(pg: Page, actor: CrmActor, account: Account, timeline_cursor: str | None = None,
                       **forms: Any) -> dict[str, Any]:
    """Everything the account card shows; ``forms`` overrides the activity forms' values and errors."""
    entities = await legal_entities.list_entities(pg.uow, actor, account_id=account.id, limit=50)
    people = await contacts.list_contacts(pg.uow, actor, account_id=account.id, limit=50)
    history = await audit.history(pg.uow, "account", str(account.id), limit=20)
    assert pg.tenant is not None
    rows = await history_rows(pg.uow, pg.tenant.id, actor, history.items, ACCOUNT_FIELDS)
    context: dict[str, Any] = {
        "account": account, "entities": entities.items, "people": people.items, "history": rows,
        "may_write": actor.may_write and account.archived_at is None,
        "custom_shown": await custom_inputs.shown_values(pg.uow, "account", account.custom),
        "marketing_event": await pg.uow.session.get(MarketingEvent, account.marketing_event_id)
        if account.marketing_event_id else None,
        **await views.timeline_context(pg, actor, account.id, timeline_cursor),
    }
    if context["may_write"]:
        context |= {
            "kind_options": views.kind_options(), "direction_options": views.direction_options(),
            "contact_options": [("", i18n.gettext("No contact"))] + [(str(c.id), c.full_name) for c in people.items],
            "assignee_options": await views.assignee_options(pg, actor),
            "interaction_values": {"kind": "call"}, "interaction_errors": {},
            "task_values": {"assignee_user_id": str(actor.user_id or "")}, "task_errors": {},
        }
    return context | forms
