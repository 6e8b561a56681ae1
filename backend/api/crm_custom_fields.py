"""/api/v1/t/{slug}/custom-fields: thin adapters over the custom field service (definitions).

Values are sent and shown in the ``custom`` object of accounts, contacts and deals; their list endpoints filter
with ``cf.<key>=value`` (exact) and ``cf.<key>.gte`` / ``cf.<key>.lte`` (number and date fields).
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
from backend.domains.crm import custom_fields
from backend.domains.crm.custom_fields_models import CustomField

UNSET = msgspec.UNSET
FILTER_PREFIX = "cf."


def custom_filters(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The ``cf.*`` query parameters of a list request, in order (checked by the service)."""
    return [(name, value) for name, value in request.query_params.multi_items() if name.startswith(FILTER_PREFIX)]


class CustomFieldIn(msgspec.Struct, forbid_unknown_fields=True):
    """``entity`` (account, contact, deal) and ``key`` are set once; ``type``: text, number, date, choice, bool.

    Changing the type of a field records hold values of, or removing a choice still in use, is a 409.
    ``archived: false`` restores an archived field.
    """

    entity: str | msgspec.UnsetType = UNSET
    key: str | msgspec.UnsetType = UNSET
    label: str | msgspec.UnsetType | None = UNSET
    type: str | msgspec.UnsetType = UNSET
    choices: list[str] | msgspec.UnsetType | None = UNSET
    required: bool | msgspec.UnsetType = UNSET
    position: int | msgspec.UnsetType = UNSET
    archived: bool | msgspec.UnsetType = UNSET


class CustomFieldOut(msgspec.Struct):
    id: uuid.UUID
    entity: str
    key: str
    label: str
    type: str
    choices: list[str]
    required: bool
    position: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class CustomFieldPage(msgspec.Struct):
    items: list[CustomFieldOut]
    next_cursor: str | None


def out(d: CustomField) -> CustomFieldOut:
    return CustomFieldOut(d.id, d.entity, d.key, d.label, d.type, list(d.choices or []), d.required, d.position,
                          d.created_at, d.updated_at, d.archived_at, d.version)


def with_etag(definition: CustomField, status: int = 200) -> Response[CustomFieldOut]:
    return etagged(out(definition), definition.version, status)


class CustomFieldController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/custom-fields"
    tags = ["crm: custom fields"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Custom field definitions by position (entity=account|contact|deal)")
    async def list_(
        self, ctx: NamedDependency[TenantContext],
        entity: FromQuery[str | None] = Parameter(default=None, max_length=16),
        archived: FromQuery[bool] = False,
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=100, ge=1, le=200),
    ) -> CustomFieldPage:
        page = await custom_fields.list_fields(ctx.uow, crm_actor(ctx), entity=entity, include_archived=archived,
                                               cursor=cursor, limit=limit)
        return CustomFieldPage([out(d) for d in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED,
          summary="Define a custom field (owner, admin; Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[CustomFieldIn]) -> Response[CustomFieldOut]:
        async def produce() -> Response[CustomFieldOut]:
            definition = await custom_fields.create(ctx.uow, crm_actor(ctx), provided(data))
            return with_etag(definition, HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{field_id:uuid}", opt=CRM_ROUTE, summary="One custom field definition (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext],
                  field_id: FromPath[uuid.UUID]) -> Response[CustomFieldOut]:
        return with_etag(await custom_fields.get(ctx.uow, crm_actor(ctx), field_id))

    @patch("/{field_id:uuid}", opt=CRM_ROUTE,
           summary="Relabel, reorder, change choices or type, (un)archive (owner, admin; If-Match)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     field_id: FromPath[uuid.UUID], data: JSONBody[CustomFieldIn]) -> Response[CustomFieldOut]:
        definition = await custom_fields.update(ctx.uow, crm_actor(ctx), field_id, provided(data),
                                                expected_version(request))
        return with_etag(definition)

    @delete("/{field_id:uuid}", opt=CRM_ROUTE, status_code=200,
            summary="Archive (no new values; stored values and the key are kept)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      field_id: FromPath[uuid.UUID]) -> Response[CustomFieldOut]:
        definition = await custom_fields.archive(ctx.uow, crm_actor(ctx), field_id, expected_version(request))
        return with_etag(definition)
