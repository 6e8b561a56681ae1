"""A contact's data on request, from the contact card: "Download data (JSON / CSV)" for owners, admins and managers,
and "Erase personal data" for owners and admins — a reason, then a confirmation page, then the erasure (CSRF on
both posts). The rules and what erasure does are crm/privacy.py's."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.api.crm_privacy import attachment
from backend.domains.crm import privacy
from backend.kit.errors import FieldError, Forbidden, Invalid
from web import i18n
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.pages.crm_contacts import card_context, current_values
from web.render import attempt, field_errors, redirect, render

Form = URLEncodedBody[dict[str, str]]


class ContactPrivacyPages(Controller):
    path = "/t/{tenant_slug:str}/contacts/{contact_id:uuid}"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/privacy-export", opt=CRM_PAGE)
    async def download(self, pg: NamedDependency[Page], contact_id: FromPath[uuid.UUID],
                       format: FromQuery[str] = Parameter(default="json", max_length=10)) -> Response[bytes]:
        document = await privacy.export_contact(pg.uow, crm_actor(pg), contact_id, format)
        return attachment(document, contact_id, format)

    @post("/erase", opt=CRM_PAGE)
    async def erase(self, pg: NamedDependency[Page], contact_id: FromPath[uuid.UUID],
                    data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        if actor.role not in privacy.ERASE_ROLES:
            raise Forbidden("Only owners and admins may erase a contact's personal data.", "privacy_forbidden")
        reason = (data.get("reason") or "").strip()
        card = f"{pg.base}/contacts/{contact_id}"
        if "confirm" not in data:  # step one: the reason given, ask for confirmation
            context = await card_context(pg, actor, contact_id)
            if context["contact"].erased_at is not None:
                return redirect(card, i18n.gettext("This contact's personal data was erased already."), "error")
            if not reason or len(reason) > privacy.MAX_REASON:
                error = Invalid("Please correct the highlighted fields.", [FieldError(
                    "reason", "required: why the data is erased (no personal data)" if not reason
                    else "at most 500 characters")])
                return render(pg, "crm/contact_card.html", status=422, errors=field_errors(error),
                              values=current_values(context["contact"]), erase_reason=reason, **context)
            return render(pg, "crm/contact_erase_confirm.html", contact=context["contact"], reason=reason)
        _, failure = await attempt(pg, lambda: privacy.erase_contact(pg.uow, actor, contact_id, reason=reason,
                                                                     confirm=data.get("confirm")))
        if failure is None:
            return redirect(card, i18n.gettext("The contact's personal data was erased."))
        if failure.status in (403, 404):
            raise failure
        if failure.code == "contact_erased":
            return redirect(card, i18n.gettext("This contact's personal data was erased already."), "error")
        context = await card_context(pg, actor, contact_id)
        return render(pg, "crm/contact_card.html", status=failure.status, errors=field_errors(failure),
                      values=current_values(context["contact"]), erase_reason=reason, **context)
