"""CRM pages: accounts list (live search, filters, pages), new account, account card (with its timeline and the
log-an-interaction and add-task forms, which post to crm_activity), and the account's edit form.

The edit form carries the account's ``version`` (If-Match semantics): a change made meanwhile is not overwritten,
the form comes back with a note and the stored version instead. Only changed fields are sent (PATCH semantics)."""

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
from backend.kit.errors import DomainError, Forbidden
from backend.kit.modules import NavItem, add_nav
from web import custom_inputs, i18n
from web.context import MODULE_OPT, ROLES_OPT, Page, tenant_page
from web.event_choice import event_options
from web.history import ACCOUNT_FIELDS, history_rows
from web.pages import activity_views as views
from web.render import attempt, field_errors, form_version, redirect, render

Form = URLEncodedBody[dict[str, str]]
CRM_PAGE = {ROLES_OPT: EVERYONE, MODULE_OPT: "crm"}
add_nav("crm", NavItem("Accounts", "accounts"))
TEXT_FIELDS = ("name", "kind", "status", "source_channel", "website", "marketing_event_id")
STALE = i18n.lazy("This account was changed by someone else meanwhile. The page now shows its current state; "
                  "try again if you still want to.")


def crm_actor(pg: Page) -> CrmActor:
    """The signed-in member as the CRM services see them (role + user)."""
    assert pg.role is not None
    return CrmActor(role=pg.role, user_id=pg.user.id if pg.user else None)


def _tags(text: str) -> list[str]:
    return [t for t in text.split(",") if t.strip()]


def current_values(account: Account) -> dict[str, str]:
    """The account as its edit form shows it."""
    values = {name: "" if getattr(account, name) is None else str(getattr(account, name)) for name in TEXT_FIELDS}
    values |= {"tags": ", ".join(account.tags or []), "is_shared": "on" if account.is_shared else ""}
    return values | custom_inputs.form_values(account.custom)


def changes_for(account: Account, form: dict[str, str]) -> dict[str, Any]:
    """What the edit form changes, in the service's terms (a field missing from the post keeps its value; an unticked
    box is off)."""
    now = current_values(account)
    changes: dict[str, Any] = {name: form[name].strip() for name in TEXT_FIELDS
                               if name in form and form[name].strip() != now[name]}
    if "tags" in form:
        tags = _tags(form["tags"])
        if sorted({t.strip().lower() for t in tags}) != sorted(account.tags or []):
            changes["tags"] = tags
    if (form.get("is_shared") == "on") != account.is_shared:
        changes["is_shared"] = form.get("is_shared") == "on"
    return changes


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
                      kinds=ACCOUNT_KINDS, statuses=LIFECYCLE, event_options=await event_options(pg, crm_actor(pg)),
                      custom_definitions=await custom_inputs.active_definitions(pg.uow, "account"))

    @post("/new", opt=CRM_PAGE)
    async def create(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        values = {k: str(v) for k, v in data.items() if k != "_csrf_token"}
        body: dict[str, Any] = {k: values.get(k, "") for k in TEXT_FIELDS}
        body["tags"] = _tags(values.get("tags", ""))
        body["is_shared"] = values.get("is_shared") == "on"
        definitions = await custom_inputs.active_definitions(pg.uow, "account")
        body["custom"] = custom_inputs.submitted(values, definitions, create=True)
        created, error = await attempt(pg, lambda: accounts.create(pg.uow, crm_actor(pg), body))
        if error is not None or created is None:
            assert error is not None
            return render(pg, "crm/account_form.html", status=error.status, values=values,
                          errors=field_errors(error), kinds=ACCOUNT_KINDS, statuses=LIFECYCLE,
                          event_options=await event_options(pg, crm_actor(pg), values.get("marketing_event_id")),
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

    @get("/{account_id:uuid}/edit", opt=CRM_PAGE)
    async def edit_form(self, pg: NamedDependency[Page], account_id: FromPath[uuid.UUID]) -> Template:
        actor = _writer(pg)
        account = await accounts.get(pg.uow, actor, account_id)
        return await _edit_page(pg, actor, account, current_values(account), {})

    @post("/{account_id:uuid}/edit", opt=CRM_PAGE)
    async def edit(self, pg: NamedDependency[Page], account_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        actor = _writer(pg)
        account = await accounts.get(pg.uow, actor, account_id)
        form = {k: str(v) for k, v in data.items() if k != "_csrf_token"}
        changes = changes_for(account, form)
        definitions = await custom_inputs.active_definitions(pg.uow, "account")
        custom = custom_inputs.changed(custom_inputs.submitted(form, definitions, create=False), account.custom)
        if custom:
            changes["custom"] = custom
        card = f"{pg.base}/accounts/{account_id}"
        if not changes:
            return redirect(card, i18n.gettext("Nothing to change."), "info")
        _, error = await attempt(pg, lambda: accounts.update(pg.uow, actor, account_id, changes, form_version(form)))
        if error is None:
            return redirect(card, i18n.gettext("Account saved."))
        if error.status in (403, 404):
            raise error
        account = await accounts.get(pg.uow, actor, account_id)  # as stored: the savepoint kept nothing
        errors = {"__all__": i18n.gettext(STALE)} if error.code == "version_conflict" else field_errors(error)
        values = current_values(account) | {k: v for k, v in form.items() if k != "version"}
        values["is_shared"] = "on" if form.get("is_shared") == "on" else ""
        return await _edit_page(pg, actor, account, values, errors, error.status)


def _writer(pg: Page) -> CrmActor:
    actor = crm_actor(pg)
    if not actor.may_write:
        raise Forbidden("Your role cannot change this record.", "crm_read_only")
    return actor


async def _edit_page(pg: Page, actor: CrmActor, account: Account, values: dict[str, str], errors: dict[str, str],
                     status: int = 200) -> Template:
    """The account form for ``account`` (its stored ``version`` goes with it)."""
    return render(pg, "crm/account_form.html", status=status, account=account, values=values, errors=errors,
                  kinds=ACCOUNT_KINDS, statuses=LIFECYCLE,
                  event_options=await event_options(pg, actor, account.marketing_event_id,
                                                    values.get("marketing_event_id")),
                  custom_definitions=await custom_inputs.active_definitions(pg.uow, "account"))

async def card_context(pg: Page, actor: CrmActor, account: Account, timeline_cursor: str | None = None,
                       **forms: Any) -> dict[str, Any]:
    """Everything the account card shows; ``forms`` overrides the activity forms' values and errors."""
    entities = await legal_entities.list_entities(pg.uow, actor, account_id=account.id, limit=50)
    people = await contacts.list_contacts(pg.uow, actor, account_id=account.id, limit=50)
    history = await audit.history(pg.uow, "account", str(account.id), limit=20)
    assert pg.tenant is not None
    rows = await history_rows(pg.uow, pg.tenant.id, actor, history.items, ACCOUNT_FIELDS, "account")
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

