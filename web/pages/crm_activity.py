"""The account card's activity: older timeline pages (an htmx fragment; a plain link opens the card at that page),
logging an interaction and adding a task linked to the account. Forms post with CSRF; bad input shows the card
again with the reasons next to the fields and nothing written (the service call runs in a savepoint)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import accounts, interactions, tasks
from backend.kit.errors import DomainError, Forbidden, Invalid
from web import i18n
from web.context import Page, tenant_page
from web.pages import activity_views as views
from web.pages.crm_accounts import CRM_PAGE, card_context, crm_actor
from web.render import attempt, field_errors, redirect, render

MultiForm = URLEncodedBody[dict[str, str | list[str]]]


def require_write(pg: Page) -> None:
    if not crm_actor(pg).may_write:
        raise Forbidden("Your role cannot change this record.", "crm_read_only")


class AccountActivityPages(Controller):
    path = "/t/{tenant_slug:str}/accounts/{account_id:uuid}"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/timeline", opt=CRM_PAGE)
    async def older(
        self, pg: NamedDependency[Page], account_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
    ) -> Template | Redirect:
        """htmx: the next page of the feed plus the next "older" link; a plain visit: the card at that page."""
        if not pg.request.headers.get("hx-request"):
            query = f"?timeline_cursor={quote(cursor, safe='')}" if cursor else ""
            return Redirect(path=f"{pg.base}/accounts/{account_id}{query}#timeline", status_code=303)
        actor = crm_actor(pg)
        account = await accounts.get(pg.uow, actor, account_id)
        context = await views.timeline_context(pg, actor, account.id, cursor)
        return render(pg, "crm/_timeline.html", account=account, **context)

    @post("/interactions", opt=CRM_PAGE)
    async def log_interaction(self, pg: NamedDependency[Page], account_id: FromPath[uuid.UUID],
                              data: MultiForm) -> Template | Redirect:
        require_write(pg)
        actor = crm_actor(pg)
        account = await accounts.get(pg.uow, actor, account_id)
        values = {name: views.one(data, name) for name in views.INTERACTION_FIELDS}
        zone = await views.zone_of(pg)
        error: DomainError | None
        try:
            body = views.interaction_input(values, account.id, zone)
        except Invalid as exc:
            error = exc
        else:
            _, error = await attempt(pg, lambda: interactions.create(pg.uow, actor, body))
        if error is None:
            return redirect(f"{pg.base}/accounts/{account.id}#timeline", i18n.gettext("Interaction logged."))
        if error.status in (403, 404):
            raise error
        context = await card_context(pg, actor, account, interaction_values=values,
                                     interaction_errors=views.interaction_errors(field_errors(error)))
        return render(pg, "crm/account_card.html", status=error.status, **context)

    @post("/tasks", opt=CRM_PAGE)
    async def add_task(self, pg: NamedDependency[Page], account_id: FromPath[uuid.UUID],
                       data: MultiForm) -> Template | Redirect:
        require_write(pg)
        actor = crm_actor(pg)
        account = await accounts.get(pg.uow, actor, account_id)
        values = {name: views.one(data, name) for name in views.TASK_FIELDS if name in data}
        zone = await views.zone_of(pg)
        error: DomainError | None
        try:
            body = views.task_input(values, zone, link=("account", account.id), may_assign=actor.edits_all)
        except Invalid as exc:
            error = exc
        else:
            _, error = await attempt(pg, lambda: tasks.create(pg.uow, actor, body))
        if error is None:
            return redirect(f"{pg.base}/accounts/{account.id}#timeline", i18n.gettext("Task added."))
        if error.status in (403, 404):
            raise error
        context = await card_context(pg, actor, account, task_values=values,
                                     task_errors=views.task_errors(field_errors(error)))
        return render(pg, "crm/account_card.html", status=error.status, **context)
