"""/api/v1/t/{slug}/imports: CSV import of accounts, contacts and deals (upload, mapping, dry run, commit)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.api.idempotency import idempotent
from backend.db.uow import UnitOfWork
from backend.domains.crm import csvfile, imports
from backend.domains.crm.imports_models import CsvImport
from backend.kit.errors import DomainError, FieldError

# Room for the multipart envelope around a file of the maximum size; the file itself is checked by the service.
MAX_BODY = csvfile.MAX_BYTES + 64 * 1024
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "text/tab-separated-values",
                       "application/vnd.ms-excel", "application/octet-stream"})


class FieldOut(msgspec.Struct):
    name: str
    label: str
    required: bool


class RowProblem(msgspec.Struct):
    row: int
    column: str | None
    field: str
    reason: str
    value: str | None = None


class RowWarning(msgspec.Struct):
    row: int
    column: str | None
    field: str
    reason: str
    existing_id: uuid.UUID | None = None


class ReportOut(msgspec.Struct):
    """``rows`` counts non-blank data rows; row numbers are as a spreadsheet shows them (the header is row 1)."""

    mode: str
    rows: int
    valid: int
    invalid: int
    errors: list[RowProblem]
    warnings: list[RowWarning]
    created: int
    created_ids: list[uuid.UUID]


class ImportOut(msgspec.Struct):
    id: uuid.UUID
    entity: str
    status: str
    filename: str | None
    encoding: str
    delimiter: str
    headers: list[str]
    row_count: int
    fields: list[FieldOut]
    suggested_mapping: dict[str, str | None]
    mapping: dict[str, str]
    preview: list[list[str]]
    report: ReportOut | None
    created_at: datetime
    expires_at: datetime
    committed_at: datetime | None
    version: int


class MappingIn(msgspec.Struct, forbid_unknown_fields=True):
    """``mapping``: {column header: field name, or null to skip the column}; omitted: the stored mapping."""

    mapping: dict[str, str | None] | None = None


def report_out(report: dict[str, Any]) -> ReportOut | None:
    return msgspec.convert(report, ReportOut) if report else None


async def out(uow: UnitOfWork, row: CsvImport) -> ImportOut:
    """The upload; ``fields`` lists the entity's active custom fields too (``cf.<key>``)."""
    return ImportOut(
        row.id, row.entity, row.status, row.filename, row.encoding, row.delimiter, list(row.headers), row.row_count,
        [FieldOut(t.name, t.label, t.required) for t in await imports.targets(uow, row.entity)],
        await imports.suggestion(uow, row), dict(row.mapping), imports.preview(row), report_out(row.report),
        row.created_at, row.expires_at, row.committed_at, row.version)


async def _file(request: Request[Any, Any, Any], entity: str | None) -> tuple[bytes, str | None, str | None]:
    """(content, filename, entity) from a multipart form (``file``, ``entity``) or a CSV body (``?entity=``)."""
    media_type = request.content_type[0]
    if media_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise DomainError("Attach the CSV file in the form field 'file'.", "import_no_file", 400,
                              [FieldError("file", "required")])
        chosen = form.get("entity")
        return await upload.read(), upload.filename, chosen if isinstance(chosen, str) and chosen else entity
    if media_type in CSV_TYPES:
        return await request.body(), None, entity
    raise DomainError("Send the CSV file as multipart/form-data (field 'file') or as a text/csv body.",
                      "unsupported_media_type", 415)


class ImportController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/imports"
    tags = ["crm: import"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED, request_max_body_size=MAX_BODY,
          summary="Upload a CSV file (multipart field 'file' + 'entity', or a text/csv body with ?entity=)",
          description="entity: accounts, contacts or deals. At most 5 MB and 20,000 rows; UTF-8 (BOM or not), "
                      "UTF-16 with BOM, EUC-KR/CP949, Shift_JIS and Windows-1251 are read; comma, semicolon or tab "
                      "separated. Answers the detected headers, a suggested mapping and the first rows. The file "
                      "is kept for 24 hours. Idempotency-Key supported.")
    async def upload(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     entity: FromQuery[str | None] = None) -> Response[ImportOut]:
        async def produce() -> Response[ImportOut]:
            content, filename, chosen = await _file(request, entity)
            row = await imports.upload(ctx.uow, crm_actor(ctx), chosen, content, filename)
            return Response(await out(ctx.uow, row), status_code=HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{import_id:uuid}", opt=CRM_ROUTE, summary="An upload: headers, suggested and current mapping, last report")
    async def one(self, ctx: NamedDependency[TenantContext], import_id: FromPath[uuid.UUID]) -> ImportOut:
        return await out(ctx.uow, await imports.get(ctx.uow, crm_actor(ctx), import_id))

    @post("/{import_id:uuid}/dry-run", opt=CRM_ROUTE, status_code=200,
          summary="Check every row with this mapping; nothing is written (the report lists every bad row)")
    async def dry_run(self, ctx: NamedDependency[TenantContext], import_id: FromPath[uuid.UUID],
                      data: JSONBody[MappingIn | None] = None) -> ReportOut:
        report = await imports.dry_run(ctx.uow, crm_actor(ctx), import_id, data.mapping if data else None)
        result = report_out(report)
        assert result is not None
        return result

    @post("/{import_id:uuid}/commit", opt=CRM_ROUTE, status_code=200,
          summary="Import every row, or none (422 import_rejected lists the bad rows); 409 once committed")
    async def commit(self, ctx: NamedDependency[TenantContext], import_id: FromPath[uuid.UUID],
                     data: JSONBody[MappingIn | None] = None) -> ReportOut:
        report = await imports.commit(ctx.uow, crm_actor(ctx), import_id, data.mapping if data else None)
        result = report_out(report)
        assert result is not None
        return result
