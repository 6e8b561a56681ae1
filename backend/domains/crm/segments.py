"""Segments: saved dynamic filters and static lists of accounts or contacts, with count, preview and members.

* A **dynamic** segment stores a filter (the language is described in ``segment_filters``) and is evaluated on
  every read with the reader's visibility: a rep counting a shared segment counts only the records they may see.
* A **static** segment is a list: records are added and removed by id (each must be a visible, unarchived
  record of the segment's entity). Archived records stay listed but are not counted or shown.
* Roles: whoever may write CRM records (rep and up) creates segments and owns them; the owner (while they may
  write) and owners/admins/managers change or archive them. Owners, admins and managers see every segment,
  others their own and the shared ones. Every create, change, archive and membership change is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert

from backend.db.keyset import as_text, contains_pattern, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.segment_filters import check_entity, compile_filter, invalid, matching, scoped
from backend.domains.crm.segments_models import SEGMENT_ENTITIES, SEGMENT_KINDS, Segment, SegmentMember
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor, require_create
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "segment"
CREATE_INPUT = ("name", "entity", "kind", "filter", "is_shared")
UPDATE_INPUT = ("name", "filter", "is_shared", "archived")
AUDITED = ("name", "entity", "kind", "filter", "is_shared", "owner_user_id")
MAX_MEMBERS_PER_CALL = 500
PREVIEW_DEFAULT = 20


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    items: list[Any]  # Account or Contact rows


def model_of(entity: str) -> Any:
    return Account if entity == "account" else Contact


def _sort_column(entity: str) -> Any:
    return Account.name if entity == "account" else Contact.full_name


def snapshot(segment: Segment) -> dict[str, Any]:
    return {name: getattr(segment, name) for name in AUDITED}


def _who(actor: CrmActor) -> audit.Actor:
    return audit.Actor(actor.user_id, actor.api_key_id)


# --- access ------------------------------------------------------------------------------------------------------

def visible(actor: CrmActor) -> Any:
    """WHERE clause over segments: all for owners/admins/managers; otherwise own and shared ones."""
    if actor.edits_all:
        return None
    if actor.user_id is None:
        return Segment.is_shared.is_(True)
    return or_(Segment.owner_user_id == actor.user_id, Segment.is_shared.is_(True))


def may_edit(actor: CrmActor, segment: Segment) -> bool:
    return actor.edits_all or (actor.may_write and actor.user_id is not None
                               and segment.owner_user_id == actor.user_id)


def require_edit(actor: CrmActor, segment: Segment) -> None:
    if not may_edit(actor, segment):
        raise Forbidden("Only the segment's owner or a manager can change it.", "crm_read_only")


async def get(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID, *, for_update: bool = False) -> Segment:
    query = select(Segment).where(Segment.id == segment_id)
    limit_to = visible(actor)
    if limit_to is not None:
        query = query.where(limit_to)
    if for_update:
        query = query.with_for_update()
    found = (await uow.session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound("No such segment.", "segment_not_found")
    return found


# --- writes ------------------------------------------------------------------------------------------------------

async def _clean(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any], current: Segment | None) -> dict[str, Any]:
    allowed = UPDATE_INPUT if current is not None else CREATE_INPUT
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        reason = "cannot be changed" if current is not None else "not a field of a segment"
        raise Invalid("Unknown fields.", [FieldError(f, reason) for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if current is None or "name" in data:
        clean["name"] = check.text(data, "name", required=True)
    if current is None:
        clean["entity"] = check.choice(data, "entity", SEGMENT_ENTITIES)
        clean["kind"] = check.choice(data, "kind", SEGMENT_KINDS)
    for flag in ("is_shared", "archived"):
        if flag in data:
            clean[flag] = bool(check.flag(data, flag))
    entity = current.entity if current is not None else clean.get("entity")
    kind = current.kind if current is not None else clean.get("kind")
    if kind == "static" and data.get("filter") is not None:
        check.fail("filter", "only for dynamic segments")
    elif kind == "dynamic" and (current is None or "filter" in data):
        if data.get("filter") is None:
            check.fail("filter", "required for a dynamic segment")
        elif entity is not None:
            try:
                await compile_filter(uow, actor, entity, data["filter"])
                clean["filter"] = data["filter"]
            except Invalid as exc:
                check.errors.extend(exc.errors)
    if check.errors and any(e.field.startswith("filter") for e in check.errors):
        raise invalid(check)
    check.done()
    return clean


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Segment:
    require_create(actor)
    clean = await _clean(uow, actor, data, None)
    clean.pop("archived", None)
    segment = Segment(id=uuid.uuid4(), version=1, owner_user_id=actor.user_id, created_by=actor.user_id,
                      is_shared=clean.pop("is_shared", False), filter=clean.pop("filter", None), **clean)
    uow.session.add(segment)
    await uow.flush()
    await uow.session.refresh(segment)
    await audit.record(uow, _who(actor), RECORD, segment.id, "create", audit.diff({}, snapshot(segment)))
    return segment


async def update(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> Segment:
    """Rename, change the filter (dynamic), share or unshare, archive (``archived: true``) or restore."""
    segment = await get(uow, actor, segment_id, for_update=True)
    require_edit(actor, segment)
    if expected_version is not None and expected_version != segment.version:
        raise Conflict("This segment was changed by someone else; reload it and try again.", "version_conflict")
    clean = await _clean(uow, actor, data, segment)
    archived = clean.pop("archived", None)
    before = snapshot(segment)
    for name, value in clean.items():
        setattr(segment, name, value)
    action = "update"
    if archived is not None and archived != (segment.archived_at is not None):
        segment.archived_at = utcnow() if archived else None
        action = "archive" if archived else "restore"
    found = audit.diff(before, snapshot(segment))
    if found or action != "update":
        segment.version += 1
        segment.updated_at = utcnow()
        await audit.record(uow, _who(actor), RECORD, segment.id, action, found)
    await uow.flush()
    return segment


async def archive(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID,
                  expected_version: int | None = None) -> Segment:
    return await update(uow, actor, segment_id, {"archived": True}, expected_version)


# --- static members ----------------------------------------------------------------------------------------------

def _record_ids(raw: Any) -> list[uuid.UUID]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MEMBERS_PER_CALL:
        raise Invalid("Invalid record ids.", [FieldError("record_ids", "a list of 1-500 record ids")])
    check, ids = Fields(), []
    for index, item in enumerate(raw):
        found = check.uuid({"id": item}, "id")
        if found is None:
            check.fail(f"record_ids[{index}]", "not an id")
        ids.append(found)
    check.errors = [e for e in check.errors if e.field != "id"]
    check.done()
    return [i for i in ids if i is not None]


async def _static_for_change(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID) -> Segment:
    segment = await get(uow, actor, segment_id, for_update=True)
    require_edit(actor, segment)
    if segment.kind != "static":
        raise Conflict("Records are added to static segments only; a dynamic segment follows its filter.",
                       "segment_not_static")
    if segment.archived_at is not None:
        raise Conflict("This segment is archived.", "segment_archived")
    return segment


def _touch(segment: Segment) -> None:
    segment.version += 1
    segment.updated_at = utcnow()


async def add_members(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID, record_ids: Any) -> int:
    """Add visible, unarchived records of the segment's entity; ones already listed are kept. Returns how many
    were new."""
    segment = await _static_for_change(uow, actor, segment_id)
    ids = _record_ids(record_ids)
    model = model_of(segment.entity)
    seen = set((await uow.session.execute(scoped(actor, segment.entity, model.id).where(model.id.in_(ids))))
               .scalars())
    missing = [FieldError(f"record_ids[{i}]", f"no such {segment.entity}") for i, r in enumerate(ids) if r not in seen]
    if missing:
        raise Invalid("Some records cannot be added.", missing)
    fresh = list(dict.fromkeys(ids))
    statement = (insert(SegmentMember)
                 .values([{"segment_id": segment.id, "record_id": r, "added_by": actor.user_id} for r in fresh])
                 .on_conflict_do_nothing().returning(SegmentMember.record_id))
    added = list((await uow.session.execute(statement)).scalars())
    if added:
        _touch(segment)
        await audit.record(uow, _who(actor), RECORD, segment.id, "add_members",
                           {"members.added": [None, sorted(str(r) for r in added)]})
    await uow.flush()
    return len(added)


async def remove_members(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID, record_ids: Any) -> int:
    """Remove records from a static segment (ids not listed are ignored). Returns how many were removed."""
    segment = await _static_for_change(uow, actor, segment_id)
    ids = _record_ids(record_ids)
    rows = await uow.session.execute(
        delete(SegmentMember)
        .where(SegmentMember.segment_id == segment.id, SegmentMember.record_id.in_(ids))
        .returning(SegmentMember.record_id))
    removed = list(rows.scalars())
    if removed:
        _touch(segment)
        await audit.record(uow, _who(actor), RECORD, segment.id, "remove_members",
                           {"members.removed": [sorted(str(r) for r in removed), None]})
    await uow.flush()
    return len(removed)


# --- reads -------------------------------------------------------------------------------------------------------

async def repoint_members(uow: UnitOfWork, entity: str, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
    """A merged record's static-list memberships pass to the survivor (a list holding both keeps one row).

    ``segment_members.record_id`` has no foreign key (a list holds accounts or contacts), so the merge, which
    follows foreign keys, calls this. Returns how many memberships moved."""
    lists = select(Segment.id).where(Segment.entity == entity).scalar_subquery()
    both = select(SegmentMember.segment_id).where(SegmentMember.record_id == to_id).scalar_subquery()
    moved = await uow.session.execute(
        sql_update(SegmentMember).where(SegmentMember.record_id == from_id, SegmentMember.segment_id.in_(lists),
                                    SegmentMember.segment_id.not_in(both)).values(record_id=to_id))
    await uow.session.execute(delete(SegmentMember).where(SegmentMember.record_id == from_id,
                                                          SegmentMember.segment_id.in_(lists)))
    return int(getattr(moved, "rowcount", 0) or 0)


async def list_segments(uow: UnitOfWork, actor: CrmActor, *, entity: str | None = None, kind: str | None = None,
                        q: str | None = None, include_archived: bool = False, cursor: str | None = None,
                        limit: int = 50) -> PageOf[Segment]:
    """By name, then id (keyset pages)."""
    limit = clamp_limit(limit)
    query = select(Segment)
    if entity is not None:
        query = query.where(Segment.entity == check_entity(entity))
    if kind is not None:
        if kind not in SEGMENT_KINDS:
            raise Invalid("Unknown segment kind.", [FieldError("kind", "one of: dynamic, static")])
        query = query.where(Segment.kind == kind)
    limit_to = visible(actor)
    if limit_to is not None:
        query = query.where(limit_to)
    if not include_archived:
        query = query.where(Segment.archived_at.is_(None))
    if q and q.strip():
        query = query.where(Segment.name.ilike(contains_pattern(q.strip()), escape="\\"))
    return await keyset_page(uow.session, query, sort_column=Segment.name, id_column=Segment.id, descending=False,
                             cursor=cursor, limit=limit, value_of=lambda s: s.name, parse_value=as_text)


async def _records(uow: UnitOfWork, actor: CrmActor, segment: Segment, what: Any) -> Any:
    """``SELECT what`` over the segment's records that ``actor`` may see."""
    if segment.kind == "dynamic":
        return matching(actor, await compile_filter(uow, actor, segment.entity, segment.filter), what)
    model = model_of(segment.entity)
    listed = exists().where(SegmentMember.segment_id == segment.id, SegmentMember.record_id == model.id)
    return scoped(actor, segment.entity, what).where(listed)


async def count(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID) -> int:
    segment = await get(uow, actor, segment_id)
    return int((await uow.session.execute(await _records(uow, actor, segment, func.count()))).scalar_one())


async def members(uow: UnitOfWork, actor: CrmActor, segment_id: uuid.UUID, *, cursor: str | None = None,
                  limit: int = 50) -> tuple[Segment, PageOf[Any]]:
    """The segment's records (filter matches or listed ones) by name, then id; keyset pages."""
    limit = clamp_limit(limit)
    segment = await get(uow, actor, segment_id)
    model = model_of(segment.entity)
    query = await _records(uow, actor, segment, model)
    page = await keyset_page(uow.session, query, sort_column=_sort_column(segment.entity), id_column=model.id,
                             descending=False, cursor=cursor, limit=limit,
                             value_of=lambda r: r.name if segment.entity == "account" else r.full_name)
    return segment, page


async def count_filter(uow: UnitOfWork, actor: CrmActor, entity: Any, raw: Any) -> int:
    """How many records an unsaved filter matches (the builder's live count)."""
    compiled = await compile_filter(uow, actor, check_entity(entity), raw)
    return int((await uow.session.execute(matching(actor, compiled, func.count()))).scalar_one())


async def preview(uow: UnitOfWork, actor: CrmActor, entity: Any, raw: Any, limit: int = PREVIEW_DEFAULT) -> Preview:
    """An unsaved filter's count and its first ``limit`` (1-500) records by name."""
    if not 1 <= limit <= MAX_MEMBERS_PER_CALL:
        raise Invalid("Invalid page size.", [FieldError("limit", "1-500")])
    entity = check_entity(entity)
    compiled = await compile_filter(uow, actor, entity, raw)
    model = model_of(entity)
    total = int((await uow.session.execute(matching(actor, compiled, func.count()))).scalar_one())
    rows = await uow.session.execute(matching(actor, compiled, model)
                                     .order_by(_sort_column(entity), model.id).limit(limit))
    return Preview(total, list(rows.scalars()))
