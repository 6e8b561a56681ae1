"""/api/v1/t/{slug}/segments: saved dynamic filters and static lists of accounts or contacts.

The filter language (fields, operators, values) is documented in ``backend/domains/crm/segment_filters.py``;
in short: ``{"all": [...]}`` / ``{"any": [...]}`` groups (4 levels, 50 conditions at most) of conditions
``{"field": "email_consent", "op": "eq", "value": true}``. A bad filter is a 422 ``invalid_filter`` problem whose
errors name the path, e.g. ``filter.all[2].value``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, etagged, expected_version, provided
from backend.api.idempotency import idempotent
from backend.domains.crm import segments
from backend.domains.crm.models import Account, Contact
from backend.domains.crm.segments_models import Segment

UNSET = msgspec.UNSET
FILTER_HELP = ('Filter: {"all"|"any": [conditions or groups]} (4 levels, 50 conditions); a condition is '
               '{"field", "op", "value"}. Accounts: status, kind, owner_user_id ("me"), is_shared, tags, '
               "source_channel, marketing_event_id, created_at, custom.<key>, last_interaction_days, deal_stage, "
               "deal_status. Contacts: roles, email_consent, sms_consent, has_email, has_phone, owner_user_id, "
               "created_at, custom.<key>, last_interaction_days, account.<account field>.")


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """``entity`` (account, contact) and ``kind`` (dynamic, static) are set once; ``filter`` only for dynamic
    segments. ``archived: false`` restores an archived segment."""

    name: str | msgspec.UnsetType | None = UNSET
    entity: str | msgspec.UnsetType = UNSET
    kind: str | msgspec.UnsetType = UNSET
    filter: Any = UNSET
    is_shared: bool | msgspec.UnsetType = UNSET
    archived: bool | msgspec.UnsetType = UNSET


class SegmentOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    entity: str
    kind: str
    filter: dict[str, Any] | None
    owner_user_id: uuid.UUID | None
    is_shared: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class SegmentPage(msgspec.Struct):
    items: list[SegmentOut]
    next_cursor: str | None


class FilterIn(msgspec.Struct, forbid_unknown_fields=True):
    """An unsaved filter over ``entity`` (account or contact)."""

    entity: str
    filter: Any


class RecordOut(msgspec.Struct):
    """One matching account (name, status, tags) or contact (name, email, phone, account_id)."""

    id: uuid.UUID
    name: str
    owner_user_id: uuid.UUID | None
    status: str | None = None
    tags: list[str] | None = None
    email: str | None = None
    phone: str | None = None
    account_id: uuid.UUID | None = None


class CountOut(msgspec.Struct):
    count: int


class PreviewOut(msgspec.Struct):
    count: int
    items: list[RecordOut]


class MembersPage(msgspec.Struct):
    entity: str
    items: list[RecordOut]
    next_cursor: str | None


class MembersIn(msgspec.Struct, forbid_unknown_fields=True):
    record_ids: Any


class MembersChanged(msgspec.Struct):
    changed: int
    version: int


def out(s: Segment) -> SegmentOut:
    return SegmentOut(s.id, s.name, s.entity, s.kind, s.filter, s.owner_user_id, s.is_shared, s.created_by,
                      s.created_at, s.updated_at, s.archived_at, s.version)


def record_out(row: Any) -> RecordOut:
    if isinstance(row, Account):
        return RecordOut(row.id, row.name, row.owner_user_id, status=row.status, tags=list(row.tags or []))
    assert isinstance(row, Contact)
    return RecordOut(row.id, row.full_name, row.owner_user_id, email=row.email, phone=row.phone,
                     account_id=row.account_id)


def with_etag(segment: Segment, status: int = 200) -> Response[SegmentOut]:
    return etagged(out(segment), segment.version, status)


class SegmentController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/segments"
    tags = ["crm: segments"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Segments you may see: own and shared (all for managers); by name, cursor pages")
    async def list_(
        self, ctx: NamedDependency[TenantContext],
        entity: FromQuery[str | None] = Parameter(default=None, max_length=16),
        kind: FromQuery[str | None] = Parameter(default=None, max_length=16),
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        archived: FromQuery[bool] = False,
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> SegmentPage:
        page = await segments.list_segments(ctx.uow, crm_actor(ctx), entity=entity, kind=kind, q=q,
                                            include_archived=archived, cursor=cursor, limit=limit)
        return SegmentPage([out(s) for s in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED,
          summary="Create a dynamic segment (with a filter) or a static list (rep and up; Idempotency-Key). "
                  + FILTER_HELP)
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[SegmentIn]) -> Response[SegmentOut]:
        async def produce() -> Response[SegmentOut]:
            return with_etag(await segments.create(ctx.uow, crm_actor(ctx), provided(data)), HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @post("/preview", opt=CRM_ROUTE, status_code=200,
          summary="Count and first records (by name) of an unsaved filter, with your visibility. " + FILTER_HELP)
    async def preview(self, ctx: NamedDependency[TenantContext], data: JSONBody[FilterIn],
                      limit: FromQuery[int] = Parameter(default=20, ge=1, le=200)) -> PreviewOut:
        found = await segments.preview(ctx.uow, crm_actor(ctx), data.entity, data.filter, limit)
        return PreviewOut(found.count, [record_out(r) for r in found.items])

    @post("/count", opt=CRM_ROUTE, status_code=200,
          summary="How many records an unsaved filter matches, with your visibility (the builder's live count)")
    async def count_filter(self, ctx: NamedDependency[TenantContext], data: JSONBody[FilterIn]) -> CountOut:
        return CountOut(await segments.count_filter(ctx.uow, crm_actor(ctx), data.entity, data.filter))

    @get("/{segment_id:uuid}", opt=CRM_ROUTE, summary="One segment (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext], segment_id: FromPath[uuid.UUID]) -> Response[SegmentOut]:
        return with_etag(await segments.get(ctx.uow, crm_actor(ctx), segment_id))

    @patch("/{segment_id:uuid}", opt=CRM_ROUTE,
           summary="Rename, change the filter, share, archive/restore (owner or manager; If-Match: 409 if changed)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     segment_id: FromPath[uuid.UUID], data: JSONBody[SegmentIn]) -> Response[SegmentOut]:
        segment = await segments.update(ctx.uow, crm_actor(ctx), segment_id, provided(data),
                                        expected_version(request))
        return with_etag(segment)

    @delete("/{segment_id:uuid}", opt=CRM_ROUTE, status_code=200, summary="Archive (restore with archived: false)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      segment_id: FromPath[uuid.UUID]) -> Response[SegmentOut]:
        return with_etag(await segments.archive(ctx.uow, crm_actor(ctx), segment_id, expected_version(request)))

    @get("/{segment_id:uuid}/count", opt=CRM_ROUTE,
         summary="How many records the segment holds now, of those you may see")
    async def count(self, ctx: NamedDependency[TenantContext], segment_id: FromPath[uuid.UUID]) -> CountOut:
        return CountOut(await segments.count(ctx.uow, crm_actor(ctx), segment_id))

    @get("/{segment_id:uuid}/members", opt=CRM_ROUTE,
         summary="The segment's records you may see (filter matches or listed records), by name, cursor pages")
    async def members(
        self, ctx: NamedDependency[TenantContext], segment_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> MembersPage:
        segment, page = await segments.members(ctx.uow, crm_actor(ctx), segment_id, cursor=cursor, limit=limit)
        return MembersPage(segment.entity, [record_out(r) for r in page.items], page.next_cursor)

    @post("/{segment_id:uuid}/members", opt=CRM_ROUTE, status_code=200,
          summary="Add records to a static segment: record_ids (1-500 visible records of its entity)")
    async def add_members(self, ctx: NamedDependency[TenantContext], segment_id: FromPath[uuid.UUID],
                          data: JSONBody[MembersIn]) -> MembersChanged:
        actor = crm_actor(ctx)
        added = await segments.add_members(ctx.uow, actor, segment_id, data.record_ids)
        return MembersChanged(added, (await segments.get(ctx.uow, actor, segment_id)).version)

    @delete("/{segment_id:uuid}/members", opt=CRM_ROUTE, status_code=200,
            summary="Remove records from a static segment: record_ids (ids not listed are ignored)")
    async def remove_members(self, ctx: NamedDependency[TenantContext], segment_id: FromPath[uuid.UUID],
                             data: JSONBody[MembersIn]) -> MembersChanged:
        actor = crm_actor(ctx)
        removed = await segments.remove_members(ctx.uow, actor, segment_id, data.record_ids)
        return MembersChanged(removed, (await segments.get(ctx.uow, actor, segment_id)).version)

