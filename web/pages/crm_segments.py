"""CRM pages: segments list, the builder with a live count and preview, a segment's view (static list editing).

The builder posts its form: with htmx on every change to ``/segments/count`` (a fragment with the count and the
first 20 matches); without JavaScript the "Count" button posts to ``/segments/new`` and the whole page comes back.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import segments
from backend.domains.crm.segments_models import SEGMENT_ENTITIES
from backend.kit.errors import DomainError
from backend.kit.modules import NavItem, add_nav
from web import i18n
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.pages.segment_builder import Builder, catalog, read
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]
add_nav("crm", NavItem("Segments", "segments"))
PREVIEW_ROWS = 20
SNAPSHOT_MAX = segments.MAX_MEMBERS_PER_CALL


async def _builder_context(pg: Page, builder: Builder, *, evaluate: bool) -> dict[str, Any]:
    """The builder's fields and, when asked, its count and first matches (or the filter's errors by row)."""
    fields = await catalog(pg.uow, builder.entity)
    kinds = {f["name"]: f["kind"] for f in fields}
    result: segments.Preview | None = None
    if evaluate:
        found, error = await attempt(pg, lambda: segments.preview(pg.uow, crm_actor(pg), builder.entity,
                                                                  builder.filter(kinds), PREVIEW_ROWS))
        if error is not None:
            builder.attach(error)
        result = found
    ops = {f["name"]: f["ops"] for f in fields}
    return {"builder": builder, "fields": fields, "ops": ops, "result": result, "entities": SEGMENT_ENTITIES,
            "may_write": crm_actor(pg).may_write}


class SegmentPages(Controller):
    path = "/t/{tenant_slug:str}/segments"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def index(self, pg: NamedDependency[Page],
                    cursor: FromQuery[str | None] = Parameter(default=None, max_length=500)) -> Template:
        error = None
        try:
            page = await segments.list_segments(pg.uow, crm_actor(pg), cursor=cursor, limit=50)
        except DomainError as exc:
            error = i18n.gettext(exc.detail)
            page = await segments.list_segments(pg.uow, crm_actor(pg), limit=50)
        return render(pg, "crm/segments.html", rows=page.items, next_cursor=page.next_cursor, error=error,
                      may_write=crm_actor(pg).may_write)

    @get("/new", opt=CRM_PAGE)
    async def new(self, pg: NamedDependency[Page],
                  entity: FromQuery[str] = Parameter(default="contact", max_length=16)) -> Template:
        builder = read({"entity": entity})
        return render(pg, "crm/segments_builder.html", values={}, errors={},
                      **await _builder_context(pg, builder, evaluate=True))

    @post("/count", opt=CRM_PAGE)
    async def count(self, pg: NamedDependency[Page], data: Form) -> Template:
        """The live count: a fragment with the count and the first matches (or the errors)."""
        builder = read(dict(data))
        return render(pg, "crm/segments_count.html", **await _builder_context(pg, builder, evaluate=True))

    @post("/new", opt=CRM_PAGE)
    async def build(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        """Add or remove a row, count (no JavaScript), or save as a dynamic segment or a static list."""
        values = {k: str(v) for k, v in data.items() if k != "_csrf_token"}
        builder = read(values)
        if values.get("action") != "save":
            return render(pg, "crm/segments_builder.html", values=values, errors={},
                          **await _builder_context(pg, builder, evaluate=values.get("action") == "count"))
        context = await _builder_context(pg, builder, evaluate=False)
        kinds = {f["name"]: f["kind"] for f in context["fields"]}
        static = values.get("kind") == "static"
        body: dict[str, Any] = {"name": values.get("name", ""), "entity": builder.entity,
                                "kind": "static" if static else "dynamic", "is_shared": values.get("is_shared") == "on"}
        if not static:
            body["filter"] = builder.filter(kinds)
        actor = crm_actor(pg)

        async def save() -> Any:
            made = await segments.create(pg.uow, actor, body)
            if static:  # a snapshot of the current matches
                found = await segments.preview(pg.uow, actor, builder.entity, builder.filter(kinds), SNAPSHOT_MAX)
                if found.items:
                    await segments.add_members(pg.uow, actor, made.id, [str(r.id) for r in found.items])
            return made

        created, error = await attempt(pg, save)
        if error is not None or created is None:
            assert error is not None
            errors = field_errors(error)
            if any(e.field.startswith("filter.") for e in error.errors):
                builder.attach(error)
            return render(pg, "crm/segments_builder.html", status=error.status, values=values, errors=errors,
                          **{**context, "builder": builder})
        return redirect(f"{pg.base}/segments/{created.id}", i18n.gettext("Segment saved."))

    @get("/{segment_id:uuid}", opt=CRM_PAGE)
    async def view(self, pg: NamedDependency[Page], segment_id: FromPath[uuid.UUID],
                   cursor: FromQuery[str | None] = Parameter(default=None, max_length=500)) -> Template:
        actor = crm_actor(pg)
        segment, page = await segments.members(pg.uow, actor, segment_id, cursor=cursor, limit=50)
        total = await segments.count(pg.uow, actor, segment_id)
        return render(pg, "crm/segments_view.html", segment=segment, rows=page.items, next_cursor=page.next_cursor,
                      total=total, may_edit=segments.may_edit(actor, segment))

    @post("/{segment_id:uuid}/remove", opt=CRM_PAGE)
    async def remove(self, pg: NamedDependency[Page], segment_id: FromPath[uuid.UUID], data: Form) -> Redirect:
        record = str(data.get("record_id", ""))
        _, error = await attempt(pg, lambda: segments.remove_members(pg.uow, crm_actor(pg), segment_id, [record]))
        if error is not None:
            return redirect(f"{pg.base}/segments/{segment_id}", i18n.gettext(error.detail), "error")
        return redirect(f"{pg.base}/segments/{segment_id}", i18n.gettext("Removed from the list."))

    @post("/{segment_id:uuid}/archive", opt=CRM_PAGE)
    async def archive(self, pg: NamedDependency[Page], segment_id: FromPath[uuid.UUID]) -> Redirect:
        _, error = await attempt(pg, lambda: segments.archive(pg.uow, crm_actor(pg), segment_id))
        if error is not None:
            return redirect(f"{pg.base}/segments/{segment_id}", i18n.gettext(error.detail), "error")
        return redirect(f"{pg.base}/segments/", i18n.gettext("Segment archived."))
