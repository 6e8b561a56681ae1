"""/api/v1/t/{slug}/contacts/{id}/privacy-export and …/erase: a person's data on request (crm/privacy.py)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor
from backend.api.crm_contacts import ContactOut, with_etag
from backend.api.idempotency import idempotent
from backend.domains.crm import privacy


class EraseIn(msgspec.Struct, forbid_unknown_fields=True):
    """``reason`` (why, without personal data; kept in the audit trail) and ``confirm``: the contact's id.

    Both are checked by the service, which reports every missing or wrong field at once.
    """

    reason: str | None = None
    confirm: str | None = None
    mode: str = "anonymize"


def attachment(document: dict[str, Any], contact_id: uuid.UUID, fmt: str) -> Response[bytes]:
    """The export as a download: ``contact-<id>.json`` or ``contact-<id>-csv.zip``."""
    if fmt == "csv":
        body, media, name = privacy.as_csv_zip(document), "application/zip", f"contact-{contact_id}-csv.zip"
    else:
        body, media, name = privacy.as_json(document), "application/json", f"contact-{contact_id}.json"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                     "Cache-Control": "no-store"})


class PrivacyController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/contacts/{contact_id:uuid}"
    tags = ["crm: privacy"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/privacy-export", opt=CRM_ROUTE,
         summary="Everything held about a contact: JSON, or a ZIP of CSV files (owner, admin, manager; audited)")
    async def export(self, ctx: NamedDependency[TenantContext], contact_id: FromPath[uuid.UUID],
                     format: FromQuery[str] = Parameter(default="json", max_length=10)) -> Response[bytes]:
        document = await privacy.export_contact(ctx.uow, crm_actor(ctx), contact_id, format)
        return attachment(document, contact_id, format)

    @post("/erase", opt=CRM_ROUTE, status_code=200,
          summary="Anonymize the contact's personal data, keeping its records (owner, admin; confirm = the id)")
    async def erase(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                    contact_id: FromPath[uuid.UUID], data: JSONBody[EraseIn]) -> Response[ContactOut]:
        async def produce() -> Response[ContactOut]:
            contact = await privacy.erase_contact(ctx.uow, crm_actor(ctx), contact_id, mode=data.mode,
                                                  reason=data.reason, confirm=data.confirm)
            return with_etag(contact)

        return await idempotent(request, ctx, produce)
