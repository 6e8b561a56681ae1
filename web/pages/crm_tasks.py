"""Tasks page at /t/{slug}/tasks: "my tasks" in tabs (today, overdue, upcoming, all open, done) computed in the
reader's time zone by the tasks service; managers may look at another member's tasks. Each row marks done or
undone with a CSRF-protected POST (htmx swaps the row; without scripts the form posts and the page comes back),
and a quick form adds a task."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import tasks
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import DomainError, Invalid
from backend.kit.modules import NavItem, add_nav
from web import i18n
from web.context import Page, safe_next, tenant_page
from web.pages import activity_views as views
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.pages.crm_activity import require_write
from web.render import attempt, field_errors, redirect, render

MultiForm = URLEncodedBody[dict[str, str | list[str]]]
add_nav("crm", NavItem("Tasks", "tasks"))
# tab → (label, due filter, done filter)
TABS: dict[str, tuple[str, str, bool | None]] = {
    "today": ("Today", "today", False),
    "overdue": ("Overdue", "overdue", None),
    "upcoming": ("Upcoming", "upcoming", False),
    "open": ("All open", "all", False),
    "done": ("Done", "all", True),
}
PAGE_SIZE = 50


def _member(actor: CrmActor, raw: str) -> uuid.UUID | None:
    """The member a manager chose to look at (None: the reader themself)."""
    if not raw or not actor.edits_all:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class TaskPages(Controller):
    path = "/t/{tenant_slug:str}/tasks"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def index(
        self, pg: NamedDependency[Page],
        tab: FromQuery[str] = Parameter(default="today", max_length=16),
        member: FromQuery[str] = Parameter(default="", max_length=40),
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
    ) -> Template:
        return await _page(pg, tab, member, cursor, values={}, errors={})

    @post("/new", opt=CRM_PAGE)
    async def create(self, pg: NamedDependency[Page], data: MultiForm) -> Template | Redirect:
        require_write(pg)
        actor = crm_actor(pg)
        values = {name: views.one(data, name) for name in views.TASK_FIELDS if name in data}
        tab, member = views.one(data, "tab"), views.one(data, "member")
        zone = await views.zone_of(pg)
        error: DomainError | None
        try:
            body = views.task_input(values, zone, link=None, may_assign=actor.edits_all)
        except Invalid as exc:
            error = exc
        else:
            _, error = await attempt(pg, lambda: tasks.create(pg.uow, actor, body))
        if error is None:
            return redirect(_tab_url(pg, tab, member), i18n.gettext("Task added."))
        if error.status in (403, 404):
            raise error
        return await _page(pg, tab, member, None, values=values, errors=views.task_errors(field_errors(error)),
                           status=error.status)

    @post("/{task_id:uuid}/done", opt=CRM_PAGE)
    async def done(self, pg: NamedDependency[Page], task_id: FromPath[uuid.UUID],
                   data: MultiForm) -> Template | Redirect:
        return await _set_done(pg, task_id, data, True)

    @post("/{task_id:uuid}/undone", opt=CRM_PAGE)
    async def undone(self, pg: NamedDependency[Page], task_id: FromPath[uuid.UUID],
                     data: MultiForm) -> Template | Redirect:
        return await _set_done(pg, task_id, data, False)


def _tab_url(pg: Page, tab: str, member: str) -> str:
    tab = tab if tab in TABS else "today"
    query = f"?tab={tab}" + (f"&member={member}" if member else "")
    return f"{pg.base}/tasks/{query}"


async def _page(pg: Page, tab: str, member: str, cursor: str | None, *, values: dict[str, str],
                errors: dict[str, str], status: int = 200) -> Template:
    actor = crm_actor(pg)
    tab = tab if tab in TABS else "today"
    who = _member(actor, member)
    _, due, done = TABS[tab]
    zone = await views.zone_of(pg)
    note = None

    async def listing(after: str | None) -> Any:
        if who is not None:
            return await tasks.list_tasks(pg.uow, actor, zone, assignee_user_id=who, due=due, done=done,
                                          cursor=after, limit=PAGE_SIZE)
        return await tasks.list_tasks(pg.uow, actor, zone, mine=True, due=due, done=done, cursor=after,
                                      limit=PAGE_SIZE)

    try:
        found = await listing(cursor)
    except Invalid as exc:  # a stale or hand-edited cursor: the first page with a note
        note = i18n.gettext(exc.detail)
        found = await listing(None)
    options = await views.assignee_options(pg, actor)
    return render(
        pg, "crm/tasks.html", status=status, tabs=[(key, i18n.gettext(spec[0])) for key, spec in TABS.items()],
        tab=tab, member=str(who) if who else "", members=options, rows=await views.task_rows(pg, actor, found.items,
                                                                                              zone),
        next_cursor=found.next_cursor, note=note, may_write=actor.may_write, assignee_options=options,
        task_values=values or {"assignee_user_id": str(who or actor.user_id or "")}, task_errors=errors,
        return_to=_tab_url(pg, tab, str(who) if who else ""),
    )


async def _set_done(pg: Page, task_id: uuid.UUID, data: dict[str, Any], done: bool) -> Template | Redirect:
    actor = crm_actor(pg)
    back = safe_next(views.one(data, "return_to"), f"{pg.base}/tasks/")
    if not back.startswith(f"{pg.base}/"):
        back = f"{pg.base}/tasks/"
    task, error = await attempt(pg, lambda: tasks.set_done(pg.uow, actor, task_id, done))
    if error is not None:
        raise error  # not found, not allowed: the error page (htmx shows nothing is swapped)
    scripted = bool(pg.request.headers.get("hx-request"))
    message = i18n.gettext("Task done.") if done else i18n.gettext("Task open again.")
    if not scripted:
        return redirect(back, message)
    assert task is not None
    zone = await views.zone_of(pg)
    rows = await views.task_rows(pg, actor, [task], zone)
    return render(pg, "crm/_task_row.html", row=rows[0], may_write=actor.may_write, return_to=back,
                  message=message)
