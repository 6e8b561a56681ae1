"""CSV import of accounts, contacts and deals: upload → column mapping → dry run → all-or-nothing commit.

The uploaded file is kept in ``imports`` (tenant schema) for 24 hours. Every row goes through the real service
(``accounts.create``, ``contacts.create``, ``deals.create``) inside its own savepoint, so the dry run reports exactly
what the commit would refuse — every bad row with its row number, column and reason — and the commit writes the
same records, audit rows included. A dry run rolls everything back; a commit with any bad row raises (422) and the
request's transaction rolls back, so nothing is written. A committed import cannot be committed again (409).

Accounts are referenced by exact name from contacts and deals rows (among the accounts the importer may see, not
archived); a name that matches several accounts is a row error. Owners are referenced by member email, deal stages
by name within the default pipeline.

Each active custom field of the entity is a target ``cf.<key>`` (its column must be chosen when the field is
required). A cell is read like the other columns (yes/no, dates, amounts with separators, a choice in any case) and
then checked by the service with the same rules as the API (custom_fields.validate_values); a bad value is a row
error on its column.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import accounts, contacts, csvfile, custom_fields, deals, pipelines
from backend.domains.crm import import_fields as fields
from backend.domains.crm.custom_fields_models import CustomField
from backend.domains.crm.deals_models import PipelineStage
from backend.domains.crm.imports_models import ENTITIES, CsvImport
from backend.domains.crm.models import Account
from backend.domains.crm.visibility import CrmActor, require_create, visible_clause
from backend.domains.identity.models import Membership, User
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, DomainError, FieldError, Invalid, NotFound

log = logging.getLogger(__name__)
RECORD = "import"
TTL = timedelta(hours=24)
PREVIEW_ROWS = 10
KEEP_IDS = 500  # created ids kept in the report (links on the result page)
DEFAULT_CONSENT_SOURCE = "CSV import"
# service field → import target, to name the column a service's complaint is about
SERVICE_FIELDS = {"account_id": "account", "owner_user_id": "owner_email", "parent_id": "parent", "stage_id": "stage"}


# --- reading imports ---------------------------------------------------------------------------------------------

def _mine(actor: CrmActor, row: CsvImport) -> bool:
    if actor.edits_all:
        return True
    if actor.user_id is not None:
        return row.created_by == actor.user_id
    return actor.api_key_id is not None and row.created_by_api_key_id == actor.api_key_id


async def get(uow: UnitOfWork, actor: CrmActor, import_id: uuid.UUID, *, for_update: bool = False) -> CsvImport:
    """An import its uploader (or an owner, admin or manager) may see; 404 otherwise, 410 once expired."""
    query = select(CsvImport).where(CsvImport.id == import_id)
    if for_update:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).scalar_one_or_none()
    if row is None or not _mine(actor, row):
        raise NotFound("No such import.", "import_not_found")
    if row.expires_at <= utcnow():
        raise DomainError("This import expired; upload the file again.", "import_expired", 410)
    return row


def preview(row: CsvImport, limit: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first data rows, cut or padded to the header's width."""
    width = len(row.headers)
    shown: list[list[str]] = []
    for _, record in csvfile.records(row.content, row.delimiter):
        if len(shown) >= limit:
            break
        if any(cell.strip() for cell in record):
            shown.append((record + [""] * width)[:width])
    return shown


async def custom_definitions(uow: UnitOfWork, entity: str) -> list[CustomField]:
    """The entity's custom fields that take values (not archived), in form order."""
    known = await custom_fields.definitions(uow, fields.RECORD_OF[entity])
    return sorted((d for d in known.values() if d.archived_at is None), key=lambda d: (d.position, d.key))


async def custom_targets(uow: UnitOfWork, entity: str) -> tuple[fields.Target, ...]:
    return fields.custom_targets(await custom_definitions(uow, entity))


async def targets(uow: UnitOfWork, entity: str) -> tuple[fields.Target, ...]:
    """What the columns of an import of ``entity`` can be imported as, its custom fields included."""
    return fields.targets(entity, await custom_targets(uow, entity))


async def suggestion(uow: UnitOfWork, row: CsvImport) -> dict[str, str | None]:
    return fields.suggest(row.entity, row.headers, await custom_targets(uow, row.entity))


# --- upload ------------------------------------------------------------------------------------------------------

async def upload(uow: UnitOfWork, actor: CrmActor, entity: Any, data: bytes, filename: str | None = None,
                 previous: uuid.UUID | None = None) -> CsvImport:
    """Store a file for import. With ``previous`` (an earlier upload of the same columns), its mapping is reused."""
    require_create(actor)
    if entity not in ENTITIES:
        raise Invalid("Please correct the highlighted fields.",
                      [FieldError("entity", "one of: " + ", ".join(ENTITIES))])
    parsed = csvfile.read(data)
    await uow.session.execute(delete(CsvImport).where(CsvImport.expires_at < func.now()))
    suggested = fields.suggest(str(entity), parsed.headers, await custom_targets(uow, str(entity)))
    mapping: dict[str, Any] = {h: t for h, t in suggested.items() if t}
    if previous is not None:
        try:
            earlier = await get(uow, actor, previous)
        except DomainError:
            earlier = None
        if earlier is not None and earlier.entity == entity and earlier.headers == parsed.headers and earlier.mapping:
            mapping = dict(earlier.mapping)
    now = utcnow()
    row = CsvImport(id=uuid.uuid4(), entity=str(entity), status="uploaded", filename=(filename or "")[:255] or None,
                    encoding=parsed.encoding, delimiter=parsed.delimiter, content=parsed.text,
                    headers=parsed.headers, row_count=parsed.row_count, mapping=mapping, report={},
                    created_by=actor.user_id, created_by_api_key_id=actor.api_key_id, created_at=now, updated_at=now,
                    expires_at=now + TTL, version=1)
    uow.session.add(row)
    await uow.flush()
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, row.id, "create",
                       {"entity": [None, row.entity], "filename": [None, row.filename], "rows": [None, row.row_count]})
    return row


# --- rows → service input ----------------------------------------------------------------------------------------

class Resolver:
    """Looks up accounts by name, members by email and stages by name once per import."""

    def __init__(self, uow: UnitOfWork, actor: CrmActor) -> None:
        self.uow, self.actor = uow, actor
        self._accounts: dict[str, uuid.UUID | str] = {}
        self._owners: dict[str, uuid.UUID | None] = {}
        self._stages: dict[str, PipelineStage | None] | None = None
        self.pipeline_id: uuid.UUID | None = None

    async def account(self, name: str) -> uuid.UUID | str:
        """The id, or the reason it cannot be used."""
        if name not in self._accounts:
            query = select(Account.id).where(Account.name == name, Account.archived_at.is_(None))
            limit_to = visible_clause(self.actor, Account.owner_user_id, Account.is_shared)
            if limit_to is not None:
                query = query.where(limit_to)
            found = list((await self.uow.session.execute(query.limit(2))).scalars())
            self._accounts[name] = (found[0] if len(found) == 1 else
                                    fields.lazy("no account has this name") if not found else
                                    fields.lazy("several accounts have this name; make the names unique first"))
        return self._accounts[name]

    async def owner(self, email: str) -> uuid.UUID | None:
        wanted = email.strip().lower()
        if wanted not in self._owners and self.uow.tenant_id is not None:
            query = (select(User.id).join(Membership, Membership.user_id == User.id)
                     .where(User.email == wanted, Membership.tenant_id == uuid.UUID(self.uow.tenant_id)))
            self._owners[wanted] = (await self.uow.session.execute(query)).scalar_one_or_none()
        return self._owners.get(wanted)

    async def stage(self, name: str) -> PipelineStage | None:
        if self._stages is None:
            pipeline = await pipelines.ensure_default(self.uow)
            self.pipeline_id = pipeline.id
            query = select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id)
            found = await self.uow.session.execute(query)
            self._stages = {s.name.casefold(): s for s in found.scalars()}
        return self._stages.get(name.strip().casefold())


async def _account_fields(cells: dict[str, str], data: dict[str, Any], fail: Callable[[str, str], None],
                          resolver: Resolver) -> None:
    for name in ("name", "source_channel", "website", "notes"):
        if name in cells:
            data[name] = cells[name]
    for name in ("kind", "status"):
        if cells.get(name):
            data[name] = cells[name].strip().lower()
    if "tags" in cells:
        data["tags"] = fields.items(cells["tags"])
    if cells.get("is_shared"):
        shared = fields.flag(cells["is_shared"])
        if shared is None:
            fail("is_shared", "yes or no")
        else:
            data["is_shared"] = shared
    if cells.get("parent"):
        found = await resolver.account(cells["parent"].strip())
        if isinstance(found, str):
            fail("parent", found)
        else:
            data["parent_id"] = found


async def _contact_fields(cells: dict[str, str], data: dict[str, Any], fail: Callable[[str, str], None],
                          resolver: Resolver) -> None:
    for name in ("full_name", "job_title", "email", "phone", "phone_region"):
        if cells.get(name, "").strip():
            data[name] = cells[name]
    if cells.get("roles", "").strip():
        data["roles"] = [r.strip().lower().replace(" ", "_").replace("-", "_") for r in fields.items(cells["roles"])]
    for channel in ("email", "sms"):
        flag, source = f"{channel}_consent", f"{channel}_consent_source"
        if not cells.get(flag, "").strip():
            continue
        given = fields.flag(cells[flag])
        if given is None:
            fail(flag, "yes or no")
        elif given:
            data[flag] = True
            data[source] = cells.get(source, "").strip() or DEFAULT_CONSENT_SOURCE
    if cells.get("account", "").strip():
        await _link_account(cells, data, fail, resolver)


async def _deal_fields(cells: dict[str, str], data: dict[str, Any], fail: Callable[[str, str], None],
                       resolver: Resolver) -> None:
    for name in ("title", "currency", "next_action", "source_channel"):
        if name in cells:
            data[name] = cells[name]
    for name in ("amount", "probability"):
        if cells.get(name, "").strip():
            data[name] = fields.amount(cells[name])
    for name in ("expected_close_date", "next_action_due"):
        if cells.get(name, "").strip():
            parsed = fields.iso_date(cells[name])
            if parsed is None:
                fail(name, "a date such as 2026-12-31")
            else:
                data[name] = parsed
    if cells.get("account", "").strip():
        await _link_account(cells, data, fail, resolver)
    else:
        fail("account", "required")
    if cells.get("stage", "").strip():
        stage = await resolver.stage(cells["stage"])
        if stage is None:
            fail("stage", "no such stage in the default pipeline")
        elif stage.kind != "open":
            fail("stage", "new deals start in an open stage")
        else:
            data["pipeline_id"], data["stage_id"] = stage.pipeline_id, stage.id


async def _link_account(cells: dict[str, str], data: dict[str, Any], fail: Callable[[str, str], None],
                        resolver: Resolver) -> None:
    found = await resolver.account(cells["account"].strip())
    if isinstance(found, str):
        fail("account", found)
    else:
        data["account_id"] = found


BUILDERS = {"accounts": _account_fields, "contacts": _contact_fields, "deals": _deal_fields}


def _custom_values(cells: dict[str, str], definitions: dict[str, CustomField],
                   fail: Callable[[str, str], None]) -> dict[str, Any]:
    """The ``custom`` object of a row from its ``cf.<key>`` cells (blank cells are left out); the service checks
    the values against the definitions."""
    values: dict[str, Any] = {}
    for target, cell in cells.items():
        definition = definitions.get(target[len(fields.CUSTOM):]) if target.startswith(fields.CUSTOM) else None
        text = cell.strip()
        if definition is None or not text:
            continue
        if definition.type == "bool":
            given = fields.flag(text)
            if given is None:
                fail(f"custom.{definition.key}", "yes or no")
            else:
                values[definition.key] = given
        elif definition.type == "number":
            values[definition.key] = fields.amount(text)
        elif definition.type == "date":
            values[definition.key] = fields.iso_date(text) or text
        elif definition.type == "choice":
            values[definition.key] = next((c for c in definition.choices if c.casefold() == text.casefold()), text)
        else:
            values[definition.key] = cell
    return values


async def _create(uow: UnitOfWork, actor: CrmActor, entity: str, data: dict[str, Any]) -> tuple[uuid.UUID, list[Any]]:
    if entity == "accounts":
        return (await accounts.create(uow, actor, data)).id, []
    if entity == "contacts":
        created = await contacts.create(uow, actor, data)
        return created.contact.id, created.warnings
    return (await deals.create(uow, actor, data)).id, []


# --- the run -----------------------------------------------------------------------------------------------------

@dataclass
class _Run:
    mapping: dict[str, str]
    headers: list[str]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    created: list[str]
    rows: int = 0
    bad_rows: int = 0

    def column_of(self, field: str) -> str | None:
        target = SERVICE_FIELDS.get(field, field)
        if target.startswith("custom."):  # the service names a custom value custom.<key>; its target is cf.<key>
            target = fields.CUSTOM + target[len("custom."):]
        return next((h for h, t in self.mapping.items() if t == target), None)

    def add_error(self, row: int, field: str, reason: str, cells: dict[str, str]) -> None:
        column = self.column_of(field)
        target = self.mapping.get(column) if column else None
        value = cells.get(target) if target else None
        self.errors.append({"row": row, "column": column, "field": field, "reason": reason,
                            "value": value[:200] if value is not None else None})


async def _run(uow: UnitOfWork, actor: CrmActor, row: CsvImport, mapping: dict[str, str],
               definitions: dict[str, CustomField]) -> _Run:
    run = _Run(mapping, row.headers, [], [], [])
    resolver = Resolver(uow, actor)
    build: Callable[..., Awaitable[None]] = BUILDERS[row.entity]
    positions = {header: n for n, header in enumerate(row.headers)}
    for number, record in csvfile.records(row.content, row.delimiter):
        if not any(cell.strip() for cell in record):
            continue
        run.rows += 1
        cells = {target: record[positions[header]] if positions[header] < len(record) else ""
                 for header, target in mapping.items()}
        before = len(run.errors)

        def fail(field: str, reason: str, number: int = number, cells: dict[str, str] = cells) -> None:
            run.add_error(number, field, reason, cells)

        if len(record) > len(row.headers) and any(c.strip() for c in record[len(row.headers):]):
            fail("row", "more cells than the header has columns")
        data: dict[str, Any] = {}
        await build(cells, data, fail, resolver)
        custom = _custom_values(cells, definitions, fail)
        if custom:
            data["custom"] = custom
        if cells.get("owner_email", "").strip():
            owner = await resolver.owner(cells["owner_email"])
            if owner is None:
                fail("owner_email", "no member of this company has this email")
            else:
                data["owner_user_id"] = owner
        await _attempt(uow, actor, row.entity, data, number, cells, run, {e["column"] for e in run.errors[before:]})
        if len(run.errors) > before:
            run.bad_rows += 1
    return run


async def _attempt(uow: UnitOfWork, actor: CrmActor, entity: str, data: dict[str, Any], number: int,
                   cells: dict[str, str], run: _Run, reported: set[str | None]) -> None:
    """The row through its service in a savepoint. A row with problems already found is still checked (for the
    other columns' problems) and then undone; the service's complaints about reported columns are not repeated."""
    try:
        async with uow.savepoint():
            created_id, warnings = await _create(uow, actor, entity, data)
            if reported:
                raise _Undo
    except _Undo:
        return
    except DomainError as exc:
        for error in exc.errors or [FieldError("row", exc.detail)]:
            column = run.column_of(error.field)
            if not reported or (column is not None and column not in reported):
                run.add_error(number, error.field, error.reason, cells)
        return
    except DBAPIError:
        log.exception("import row %s refused by the database", number)
        if not reported:
            run.add_error(number, "row", fields.lazy("the database refused this row"), cells)
        return
    if len(run.created) < KEEP_IDS:
        run.created.append(str(created_id))
    for warning in warnings:
        run.warnings.append({"row": number, "column": run.column_of(warning.field), "field": warning.field,
                             "reason": warning.reason,
                             "existing_id": str(warning.existing_id) if warning.existing_id else None})


def _report(run: _Run, mode: str, created: int) -> dict[str, Any]:
    return {"mode": mode, "rows": run.rows, "valid": run.rows - run.bad_rows, "invalid": run.bad_rows,
            "errors": run.errors, "warnings": run.warnings, "created": created,
            "created_ids": run.created if created else []}


class _Undo(Exception):
    """Raised to roll the dry run's savepoint back."""


@dataclass
class _Opened:
    row: CsvImport
    mapping: dict[str, str]
    definitions: dict[str, CustomField]


async def _open(uow: UnitOfWork, actor: CrmActor, import_id: uuid.UUID, mapping: Any) -> _Opened:
    require_create(actor)
    row = await get(uow, actor, import_id, for_update=True)
    if row.status == "committed":
        raise Conflict("This import was already committed.", "import_committed")
    definitions = await custom_definitions(uow, row.entity)
    clean = fields.checked_mapping(row.entity, row.headers, row.mapping if mapping is None else mapping,
                                   fields.custom_targets(definitions))
    return _Opened(row, clean, {d.key: d for d in definitions})


def _stamp(row: CsvImport, status: str, mapping: dict[str, str], report: dict[str, Any]) -> None:
    row.status, row.mapping, row.report = status, mapping, report
    row.version += 1
    row.updated_at = utcnow()


async def dry_run(uow: UnitOfWork, actor: CrmActor, import_id: uuid.UUID, mapping: Any = None) -> dict[str, Any]:
    """Every row through its service, then all of it undone; the report (and the mapping) is kept."""
    opened = await _open(uow, actor, import_id, mapping)
    row, clean = opened.row, opened.mapping
    run: _Run | None = None
    try:
        async with uow.savepoint():
            run = await _run(uow, actor, row, clean, opened.definitions)
            raise _Undo
    except _Undo:
        pass
    assert run is not None
    report = _report(run, "dry_run", 0)
    _stamp(row, "checked", clean, report)
    await uow.flush()
    return report


async def commit(uow: UnitOfWork, actor: CrmActor, import_id: uuid.UUID, mapping: Any = None) -> dict[str, Any]:
    """All rows or none: any bad row raises ``import_rejected`` (422) listing every bad row."""
    opened = await _open(uow, actor, import_id, mapping)
    row, clean = opened.row, opened.mapping
    run = await _run(uow, actor, row, clean, opened.definitions)
    if run.errors:
        raise Invalid("Nothing was imported: some rows are bad. Fix them and try again.",
                      [FieldError(f"row {e['row']}" + (f": {e['column']}" if e["column"] else ""), e["reason"])
                       for e in run.errors], "import_rejected")
    report = _report(run, "commit", run.rows)
    _stamp(row, "committed", clean, report)
    row.committed_at = utcnow()
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, row.id, "commit",
                       {"status": ["checked", "committed"], "created": [0, run.rows]})
    await uow.flush()
    return report
