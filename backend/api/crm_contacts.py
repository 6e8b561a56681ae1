"""/api/v1/t/{slug}/contacts: thin adapters over the CRM contact service."""

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
from backend.api.crm_common import CRM_ROUTE, crm_actor, etag, etagged, expected_version, provided
from backend.api.crm_custom_fields import custom_filters
from backend.api.idempotency import idempotent
from backend.domains.crm import contacts
from backend.domains.crm.models import Contact

UNSET = msgspec.UNSET


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    """Fields are checked by the service (all problems at once).

    ``phone``: international (``+82 10-1234-5678``) always; a national number needs ``phone_region`` (e.g. ``KR``);
    stored in E.164. ``*_consent: true`` needs ``*_consent_source``; the time is stamped by the server.
    """

    full_name: str | msgspec.UnsetType | None = UNSET
    job_title: str | msgspec.UnsetType | None = UNSET
    account_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    email: str | msgspec.UnsetType | None = UNSET
    phone: str | msgspec.UnsetType | None = UNSET
    phone_region: str | msgspec.UnsetType | None = UNSET
    roles: list[str] | msgspec.UnsetType | None = UNSET
    owner_user_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    email_consent: bool | msgspec.UnsetType = UNSET
    email_consent_source: str | msgspec.UnsetType | None = UNSET
    sms_consent: bool | msgspec.UnsetType = UNSET
    sms_consent_source: str | msgspec.UnsetType | None = UNSET
    custom: dict[str, Any] | msgspec.UnsetType | None = UNSET


class ContactOut(msgspec.Struct):
    id: uuid.UUID
    full_name: str
    job_title: str | None
    account_id: uuid.UUID | None
    email: str | None
    phone: str | None
    roles: list[str]
    owner_user_id: uuid.UUID | None
    email_consent: bool
    email_consent_at: datetime | None
    email_consent_source: str | None
    sms_consent: bool
    sms_consent_at: datetime | None
    sms_consent_source: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int
    custom: dict[str, Any]
    merged_into_id: uuid.UUID | None = None  # set once merged into another contact (which is the one to use)
    erased_at: datetime | None = None  # set once the personal data was erased on request (privacy-export/erase)


class WarningOut(msgspec.Struct):
    field: str
    reason: str
    existing_id: uuid.UUID | None


class ContactCreated(ContactOut):
    """The created contact plus warnings (e.g. another contact with the same email or phone)."""

    warnings: list[WarningOut] = msgspec.field(default_factory=list)


class ContactPage(msgspec.Struct):
    items: list[ContactOut]
    next_cursor: str | None


def _fields(c: Contact) -> tuple[Any, ...]:
    return (c.id, c.full_name, c.job_title, c.account_id, c.email, c.phone, list(c.roles or []), c.owner_user_id,
            c.email_consent, c.email_consent_at, c.email_consent_source, c.sms_consent, c.sms_consent_at,
            c.sms_consent_source, c.created_at, c.updated_at, c.archived_at, c.version, dict(c.custom or {}),
            c.merged_into_id, c.erased_at)


def out(c: Contact) -> ContactOut:
    return ContactOut(*_fields(c))


def with_etag(contact: Contact) -> Response[ContactOut]:
    return etagged(out(contact), contact.version)


class ContactController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/contacts"
    tags = ["crm: contacts"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE,
         summary="Contacts you may see (filter, sort, cursor pages; custom fields: cf.<key>=v, cf.<key>.gte/.lte)")
    async def list_(
        self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
        account_id: FromQuery[uuid.UUID | None] = None,
        q: FromQuery[str | None] = Parameter(default=None, max_length=200),
        role: FromQuery[str | None] = Parameter(default=None, max_length=40),
        email_consent: FromQuery[bool | None] = None,
        sms_consent: FromQuery[bool | None] = None,
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = "name",
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> ContactPage:
        page = await contacts.list_contacts(ctx.uow, crm_actor(ctx), account_id=account_id, q=q, role=role,
                                            email_consent=email_consent, sms_consent=sms_consent,
                                            include_archived=archived, sort=sort, cursor=cursor, limit=limit,
                                            custom=custom_filters(request))
        return ContactPage([out(c) for c in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED,
          summary="Create a contact (201 even with duplicate warnings; Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[ContactIn]) -> Response[ContactCreated]:
        async def produce() -> Response[ContactCreated]:
            created = await contacts.create(ctx.uow, crm_actor(ctx), provided(data))
            warnings = [WarningOut(w.field, w.reason, w.existing_id) for w in created.warnings]
            body = ContactCreated(**msgspec.structs.asdict(out(created.contact)), warnings=warnings)
            return Response(body, status_code=HTTP_201_CREATED, headers={"ETag": etag(created.contact.version)})

        return await idempotent(request, ctx, produce)

    @get("/{contact_id:uuid}", opt=CRM_ROUTE, summary="One contact (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext], contact_id: FromPath[uuid.UUID]) -> Response[ContactOut]:
        return with_etag(await contacts.get(ctx.uow, crm_actor(ctx), contact_id))

    @patch("/{contact_id:uuid}", opt=CRM_ROUTE, summary="Change fields (If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     contact_id: FromPath[uuid.UUID], data: JSONBody[ContactIn]) -> Response[ContactOut]:
        contact = await contacts.update(ctx.uow, crm_actor(ctx), contact_id, provided(data),
                                        expected_version(request))
        return with_etag(contact)

    @delete("/{contact_id:uuid}", opt=CRM_ROUTE, status_code=200, summary="Archive (contacts are never erased)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      contact_id: FromPath[uuid.UUID]) -> Response[ContactOut]:
        return with_etag(await contacts.archive(ctx.uow, crm_actor(ctx), contact_id, expected_version(request)))
