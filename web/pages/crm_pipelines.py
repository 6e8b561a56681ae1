"""Pipelines settings: the list of pipelines, a new pipeline, and an editor per pipeline (rename, make default,
archive or restore, and its ordered stages: change, add, move up or down, remove an unused one).

Every member of a company with the CRM may look (the service lists pipelines for everyone); owners, admins and
managers change them (``pipelines.require_manage``): the changing routes answer the forbidden page to the others.
One service call per post; on a refusal nothing is written and the form comes back with the errors next to the
fields and rows they concern (see ``pipeline_rows``). The editor carries the pipeline's ``version``: a change made
by someone else meanwhile is not overwritten, the reader gets a clear message and the current state instead.
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import pipelines
from backend.domains.crm.deals_models import STAGE_KINDS
from backend.domains.crm.visibility import MANAGE_ALL
from backend.kit.errors import DomainError
from web import i18n
from web.context import MODULE_OPT, ROLES_OPT, Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.pages.pipeline_rows import EditorForm, StageRow, requirable_options
from web.render import attempt, field_errors, form_version, redirect, render

MultiForm = URLEncodedBody[dict[str, str | list[str]]]
PIPELINE_MANAGERS = {ROLES_OPT: MANAGE_ALL, MODULE_OPT: "crm"}
# The default stages' names, offered (translated) on the new-pipeline form.
STAGE_NAMES = {"Qualification": i18n.lazy("Qualification"), "Proposal": i18n.lazy("Proposal"),
               "Negotiation": i18n.lazy("Negotiation"), "Won": i18n.lazy("Won"), "Lost": i18n.lazy("Lost")}
STALE = i18n.lazy("This pipeline was changed by someone else meanwhile. The page now shows its current state; "
                  "your changes were not saved.")
DONE = {"save": i18n.lazy("Pipeline saved."), "add": i18n.lazy("Stage added."), "up": i18n.lazy("Stage moved."),
        "down": i18n.lazy("Stage moved."), "remove": i18n.lazy("Stage removed.")}


class PipelinePages(Controller):
    path = "/t/{tenant_slug:str}/pipelines"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def index(self, pg: NamedDependency[Page], archived: FromQuery[bool] = False) -> Template:
        actor = crm_actor(pg)
        views = await pipelines.list_pipelines(pg.uow, actor, include_archived=archived)
        return render(pg, "crm/pipelines.html", views=views, archived=archived, may_manage=actor.edits_all)

    @get("/new", opt=PIPELINE_MANAGERS)
    async def new(self, pg: NamedDependency[Page]) -> Template:
        rows = [StageRow(name=i18n.gettext(STAGE_NAMES.get(name, name)), kind=kind, probability=probability)
                for name, probability, kind in pipelines.DEFAULT_STAGES]
        return _editor(pg, None, EditorForm(rows=rows))

    @post("/new", opt=PIPELINE_MANAGERS)
    async def create(self, pg: NamedDependency[Page], data: MultiForm) -> Template | Redirect:
        form = EditorForm.posted(data)
        if form.action != "save":  # rows are moved, added or removed on the form; nothing exists yet
            return _editor(pg, None, form.after())
        view, error = await attempt(pg, lambda: pipelines.create(pg.uow, crm_actor(pg), form.data()))
        if error is not None or view is None:
            assert error is not None
            _reraise_access(error)
            form.show_errors(error)
            return _editor(pg, None, form, status=error.status)
        return redirect(f"{pg.base}/pipelines/{view.pipeline.id}", i18n.gettext("Pipeline created."))

    @get("/{pipeline_id:uuid}", opt=CRM_PAGE)
    async def editor(self, pg: NamedDependency[Page], pipeline_id: FromPath[uuid.UUID]) -> Template:
        view = await pipelines.get(pg.uow, crm_actor(pg), pipeline_id)
        return _editor(pg, view, EditorForm.of(view.pipeline.name, view.pipeline.is_default, view.stages))

    @post("/{pipeline_id:uuid}", opt=PIPELINE_MANAGERS)
    async def save(self, pg: NamedDependency[Page], pipeline_id: FromPath[uuid.UUID],
                   data: MultiForm) -> Template | Redirect:
        actor = crm_actor(pg)
        form = EditorForm.posted(data)
        version = form_version(data)
        view, error = await attempt(pg, lambda: pipelines.update_pipeline(pg.uow, actor, pipeline_id, form.data(),
                                                                          version))
        if error is None and view is not None:
            here = f"{pg.base}/pipelines/{pipeline_id}"
            if version is not None and view.pipeline.version == version:
                return redirect(here, i18n.gettext("Nothing to change."), "info")
            moved = form.moved
            anchor = f"#stage-{moved.id}" if form.action in ("up", "down") and moved and moved.id else ""
            return redirect(here + anchor, i18n.gettext(DONE[form.action]))
        assert error is not None
        return await _refused(pg, pipeline_id, error, form)

    @post("/{pipeline_id:uuid}/archive", opt=PIPELINE_MANAGERS)
    async def archive(self, pg: NamedDependency[Page], pipeline_id: FromPath[uuid.UUID],
                      data: MultiForm) -> Template | Redirect:
        archived = data.get("archived") == "1"
        change = {"archived": archived}
        _, error = await attempt(pg, lambda: pipelines.update_pipeline(pg.uow, crm_actor(pg), pipeline_id, change,
                                                                       form_version(data)))
        if error is None:
            done = i18n.gettext("Pipeline archived.") if archived else i18n.gettext("Pipeline restored.")
            return redirect(f"{pg.base}/pipelines/{pipeline_id}", done)
        return await _refused(pg, pipeline_id, error, None)


def _reraise_access(error: DomainError) -> None:
    """Not found and not allowed are answered with the error page (403/404), not a form shown again."""
    if error.status in (403, 404):
        raise error


async def _refused(pg: Page, pipeline_id: uuid.UUID, error: DomainError, form: EditorForm | None) -> Template:
    """The editor again after a refused change: the reader's input with the errors, or the stored state."""
    _reraise_access(error)
    current = await pipelines.get(pg.uow, crm_actor(pg), pipeline_id)
    stored = EditorForm.of(current.pipeline.name, current.pipeline.is_default, current.stages)
    if error.code == "version_conflict":
        stored.errors = {"__all__": i18n.gettext(STALE)}
        return _editor(pg, current, stored, status=error.status)
    if form is None:
        stored.errors = field_errors(error)
        return _editor(pg, current, stored, status=error.status)
    form.show_errors(error)
    return _editor(pg, current, form, status=error.status)


def _editor(pg: Page, view: pipelines.PipelineView | None, form: EditorForm, status: int = 200) -> Template:
    return render(pg, "crm/pipeline_form.html", status=status, view=view, form=form, kinds=STAGE_KINDS,
                  requirable=requirable_options(), may_manage=crm_actor(pg).edits_all)
