"""CSV import wizard (staff app): upload → choose the columns → check (every bad row listed) → import → result.

Plain forms with the CSRF token, no JavaScript needed; each step is a page of its own (POST, then redirect to a
GET), so reloading never repeats an action. A bad file can be fixed and uploaded again from the report: the new
upload reuses the columns chosen for the previous one when its header is the same.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from backend.domains.crm import csvfile, imports
from backend.domains.crm import import_fields as fields
from backend.domains.crm.deals_models import Deal
from backend.domains.crm.imports_models import ENTITIES, CsvImport
from backend.domains.crm.models import Account, Contact
from web import i18n
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]
MAX_BODY = csvfile.MAX_BYTES + 64 * 1024
ENTITY_LABELS = {"accounts": fields.lazy("Accounts"), "contacts": fields.lazy("Contacts"),
                 "deals": fields.lazy("Deals")}
SHOWN_ERRORS = 500  # rows of the bad-rows table (the count says how many there are in all)
LINKED = 50


def _entities() -> list[tuple[str, str]]:
    return [(e, i18n.gettext(ENTITY_LABELS[e])) for e in ENTITIES]


def _samples(job: CsvImport) -> list[list[str]]:
    """Up to three example values per column, for the mapping step."""
    rows = imports.preview(job, 3)
    return [[row[n] for row in rows if row[n].strip()] for n in range(len(job.headers))]


def _upload_page(pg: Page, status: int = 200, errors: dict[str, str] | None = None, entity: str = "accounts",
                 previous: str | None = None) -> Template:
    return render(pg, "crm/import_upload.html", status=status, errors=errors or {}, entities=_entities(),
                  entity=entity, previous=previous, max_rows=csvfile.MAX_ROWS)


async def _mapping_page(pg: Page, job: CsvImport, status: int = 200, errors: dict[str, str] | None = None,
                        mapping: dict[str, Any] | None = None) -> Template:
    targets = await imports.targets(pg.uow, job.entity)
    missing = [(t, (errors or {}).get(f"mapping.{t.name}")) for t in targets if (errors or {}).get(f"mapping.{t.name}")]
    return render(pg, "crm/import_mapping.html", status=status, job=job, errors=errors or {},
                  mapping=job.mapping if mapping is None else mapping, targets=targets, missing=missing,
                  samples=_samples(job), entity_label=i18n.gettext(ENTITY_LABELS[job.entity]))


class ImportPages(Controller):
    path = "/t/{tenant_slug:str}/imports"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def start(self, pg: NamedDependency[Page],
                    entity: FromQuery[str] = Parameter(default="accounts", max_length=16),
                    previous: FromQuery[uuid.UUID | None] = None) -> Template:
        return _upload_page(pg, entity=entity if entity in ENTITIES else "accounts",
                            previous=str(previous) if previous else None)

    @post("/", opt=CRM_PAGE, request_max_body_size=MAX_BODY)
    async def upload(self, pg: NamedDependency[Page]) -> Template | Redirect:
        form = await pg.request.form()
        entity = str(form.get("entity") or "")
        previous = _uuid(form.get("previous"))
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            errors = {"file": i18n.gettext("Choose a CSV file."), "__all__": i18n.gettext("Choose a CSV file.")}
            return _upload_page(pg, 400, errors, entity, str(previous) if previous else None)
        content = await file.read()
        job, error = await attempt(pg, lambda: imports.upload(pg.uow, crm_actor(pg), entity, content, file.filename,
                                                              previous))
        if error is not None or job is None:
            assert error is not None
            if error.status == 403:
                raise error
            return _upload_page(pg, error.status, field_errors(error), entity, str(previous) if previous else None)
        return redirect(f"{pg.base}/imports/{job.id}", i18n.gettext("File uploaded. Now choose the columns."))

    @get("/{import_id:uuid}", opt=CRM_PAGE)
    async def columns(self, pg: NamedDependency[Page], import_id: FromPath[uuid.UUID]) -> Template:
        job = await imports.get(pg.uow, crm_actor(pg), import_id)
        if job.status == "committed":
            return await _result_page(pg, job)
        return await _mapping_page(pg, job)

    @post("/{import_id:uuid}/check", opt=CRM_PAGE)
    async def check(self, pg: NamedDependency[Page], import_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        job = await imports.get(pg.uow, crm_actor(pg), import_id)
        mapping = {header: data.get(f"map-{n}") or None for n, header in enumerate(job.headers)}
        _, error = await attempt(pg, lambda: imports.dry_run(pg.uow, crm_actor(pg), import_id, mapping))
        if error is not None:
            if error.code != "import_mapping":
                raise error
            return await _mapping_page(pg, job, error.status, field_errors(error), mapping)
        return redirect(f"{pg.base}/imports/{import_id}/report")

    @get("/{import_id:uuid}/report", opt=CRM_PAGE)
    async def report(self, pg: NamedDependency[Page], import_id: FromPath[uuid.UUID]) -> Template | Redirect:
        job = await imports.get(pg.uow, crm_actor(pg), import_id)
        if job.status != "checked":
            return redirect(f"{pg.base}/imports/{import_id}")
        found = job.report
        return render(pg, "crm/import_report.html", job=job, report=found,
                      errors=_translated(found["errors"][:SHOWN_ERRORS]),
                      warnings=_translated(found["warnings"][:SHOWN_ERRORS]),
                      entity_label=i18n.gettext(ENTITY_LABELS[job.entity]))

    @post("/{import_id:uuid}/commit", opt=CRM_PAGE)
    async def commit(self, pg: NamedDependency[Page], import_id: FromPath[uuid.UUID]) -> Redirect:
        _, error = await attempt(pg, lambda: imports.commit(pg.uow, crm_actor(pg), import_id))
        if error is None:
            return redirect(f"{pg.base}/imports/{import_id}", i18n.gettext("Import finished."))
        if error.code != "import_rejected":
            raise error
        # A row went bad since the check (e.g. an account was archived): check again, so the report shows it.
        await imports.dry_run(pg.uow, crm_actor(pg), import_id)
        return redirect(f"{pg.base}/imports/{import_id}/report", i18n.gettext(error.detail), "error")


def _translated(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's problems with their reasons in the reader's language. Translated here, not in the template: a
    reason can quote the file or a definition (a choice "50%"), which the template's gettext would format."""
    return [{**p, "reason": i18n.gettext(str(p.get("reason") or ""))} for p in problems]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def _result_page(pg: Page, job: CsvImport) -> Template:
    """What was imported, with links to the first records."""
    ids = [uuid.UUID(i) for i in job.report.get("created_ids", [])[:LINKED]]
    links: list[tuple[str, str | None]] = []
    if ids and job.entity == "accounts":
        found = await pg.uow.session.execute(select(Account.id, Account.name).where(Account.id.in_(ids)))
        links = [(r.name, f"{pg.base}/accounts/{r.id}") for r in found]
    elif ids and job.entity == "contacts":
        people = await pg.uow.session.execute(select(Contact.full_name, Contact.account_id).where(Contact.id.in_(ids)))
        links = [(r.full_name, f"{pg.base}/accounts/{r.account_id}" if r.account_id else None) for r in people]
    elif ids:
        deals = await pg.uow.session.execute(select(Deal.title).where(Deal.id.in_(ids)))
        links = [(r.title, f"{pg.base}/deals/") for r in deals]
    links.sort(key=lambda link: link[0])
    return render(pg, "crm/import_result.html", job=job, report=job.report, links=links,
                  entity_label=i18n.gettext(ENTITY_LABELS[job.entity]))


