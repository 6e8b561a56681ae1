"""Marketing events pages: the list (channel filter, live name search, cursor pages), the new and edit forms
(owners, admins and managers), archive and restore, and the event page with its ROI per currency and the accounts
and deals attributed to it.

Every member reads events; the marketing service refuses changes from other roles (403), and the pages do not
offer them. Money is Decimal from the form to the database; the ROI is never summed across currencies.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.crm import accounts, deals, marketing
from backend.domains.crm.marketing_models import CHANNELS, MarketingEvent
from backend.domains.crm.visibility import CrmActor
from backend.kit.errors import DomainError
from backend.kit.modules import NavItem, add_nav
from web import i18n
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.pages.deal_views import form_value
from web.render import attempt, field_errors, form_version, redirect, render

Form = URLEncodedBody[dict[str, str]]
add_nav("crm", NavItem("Marketing events", "marketing-events"))
FIELDS = ("name", "channel", "starts_on", "ends_on", "budget", "currency", "notes")
CHANNEL_LABELS = {"exhibition": i18n.lazy("Exhibition"), "seminar": i18n.lazy("Seminar"),
                  "webinar": i18n.lazy("Webinar"), "ads": i18n.lazy("Ads"), "email": i18n.lazy("Email"),
                  "referral": i18n.lazy("Referral"), "other": i18n.lazy("Other")}
ATTRIBUTED = 50  # accounts and deals listed on the event page
STALE = i18n.lazy("This marketing event was changed by someone else meanwhile. The form now shows its current "
                  "version; save again if you still want your changes.")
STALE_PAGE = i18n.lazy("This marketing event was changed by someone else meanwhile. The page now shows its current "
                       "state; try again if you still want to.")


@dataclass(frozen=True, slots=True)
class Figures:
    """One currency's line of the ROI table; budget and ROI only in the event's own currency."""

    currency: str | None
    won_revenue: Decimal
    won_deals: int
    open_pipeline: Decimal
    open_deals: int
    budget: Decimal | None = None
    roi: Decimal | None = None
    own: bool = False


def channel_options() -> list[tuple[str, str]]:
    return [(c, i18n.gettext(CHANNEL_LABELS[c])) for c in CHANNELS]


def channel_names() -> dict[str, str]:
    return dict(channel_options())


def _values(event: MarketingEvent) -> dict[str, str]:
    return {name: form_value(getattr(event, name)) for name in FIELDS}


def _submitted(data: dict[str, str]) -> dict[str, str]:
    return {name: str(data.get(name, "")).strip() for name in FIELDS}



def _form(pg: Page, event: MarketingEvent | None, values: dict[str, str], errors: dict[str, str],
          status: int = 200) -> Template:
    return render(pg, "crm/marketing_event_form.html", status=status, event=event, values=values, errors=errors,
                  channel_options=channel_options())


def _forbidden_or_missing(error: DomainError) -> None:
    """Not allowed and not found are answered with the error page, not the form again."""
    if error.status in (403, 404):
        raise error


def roi_lines(found: marketing.Roi) -> list[Figures]:
    """The event's currency first (with budget and ROI), then every other currency its deals are in."""
    event = found.event
    lines = [Figures(event.currency, found.won_revenue, found.won_deals, found.open_pipeline, found.open_deals,
                     event.budget, found.roi, own=True)]
    lines += [Figures(f.currency, f.won_revenue, f.won_deals, f.open_pipeline, f.open_deals)
              for f in found.other_currencies]
    return lines


async def _event_context(pg: Page, actor: CrmActor, event_id: uuid.UUID) -> dict[str, Any]:
    found = await marketing.roi(pg.uow, actor, event_id)
    people = await accounts.list_accounts(pg.uow, actor, marketing_event_id=event_id, limit=ATTRIBUTED)
    attributed = await deals.list_deals(pg.uow, actor, marketing_event_id=event_id, limit=ATTRIBUTED)
    return {"event": found.event, "figures": found, "lines": roi_lines(found), "accounts": people.items,
            "more_accounts": people.next_cursor is not None, "deals": attributed.items,
            "more_deals": attributed.next_cursor is not None,
            "channels": channel_names(), "may_manage": actor.edits_all}


class MarketingEventPages(Controller):
    path = "/t/{tenant_slug:str}/marketing-events"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/", opt=CRM_PAGE)
    async def index(
        self, pg: NamedDependency[Page],
        q: FromQuery[str] = Parameter(default="", max_length=200),
        channel: FromQuery[str] = Parameter(default="", max_length=16),
        archived: FromQuery[str] = Parameter(default="", max_length=3),
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
    ) -> Template:
        actor, error = crm_actor(pg), None
        channel = channel if channel in CHANNELS else ""
        include_archived = archived == "on"
        try:
            page = await marketing.list_events(pg.uow, actor, q=q or None, channel=channel or None,
                                               include_archived=include_archived, cursor=cursor, limit=50)
        except DomainError as exc:  # a stale cursor or a hand-edited URL: the first page with a note
            error = i18n.gettext(exc.detail)
            page = await marketing.list_events(pg.uow, actor, limit=50)
        template = "crm/_marketing_rows.html" if pg.request.headers.get("hx-request") else "crm/marketing_events.html"
        return render(pg, template, rows=page.items, next_cursor=page.next_cursor, q=q, channel_filter=channel,
                      archived=include_archived, channel_options=channel_options(), channels=channel_names(),
                      error=error, may_manage=actor.edits_all)

    @get("/new", opt=CRM_PAGE)
    async def new(self, pg: NamedDependency[Page]) -> Template:
        marketing.require_manage(crm_actor(pg))
        currency = pg.company.base_currency if pg.company else "USD"
        return _form(pg, None, {"channel": "exhibition", "currency": currency, "budget": "0.00"}, {})

    @post("/new", opt=CRM_PAGE)
    async def create(self, pg: NamedDependency[Page], data: Form) -> Template | Redirect:
        values = _submitted(data)
        created, error = await attempt(pg, lambda: marketing.create(pg.uow, crm_actor(pg), dict(values)))
        if error is not None or created is None:
            assert error is not None
            _forbidden_or_missing(error)
            return _form(pg, None, values, field_errors(error), error.status)
        return redirect(f"{pg.base}/marketing-events/{created.id}", i18n.gettext("Marketing event created."))

    @get("/{event_id:uuid}", opt=CRM_PAGE)
    async def event(self, pg: NamedDependency[Page], event_id: FromPath[uuid.UUID]) -> Template:
        return render(pg, "crm/marketing_event.html", **await _event_context(pg, crm_actor(pg), event_id))

    @get("/{event_id:uuid}/edit", opt=CRM_PAGE)
    async def edit_form(self, pg: NamedDependency[Page], event_id: FromPath[uuid.UUID]) -> Template:
        actor = crm_actor(pg)
        marketing.require_manage(actor)
        event = await marketing.get(pg.uow, actor, event_id)
        return _form(pg, event, _values(event), {})

    @post("/{event_id:uuid}/edit", opt=CRM_PAGE)
    async def edit(self, pg: NamedDependency[Page], event_id: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
        actor = crm_actor(pg)
        values = _submitted(data)
        version = form_version(data)
        _, error = await attempt(pg, lambda: marketing.update(pg.uow, actor, event_id, dict(values), version))
        if error is None:
            return redirect(f"{pg.base}/marketing-events/{event_id}", i18n.gettext("Marketing event saved."))
        _forbidden_or_missing(error)
        event = await marketing.get(pg.uow, actor, event_id)
        errors = {"__all__": i18n.gettext(STALE)} if error.code == "version_conflict" else field_errors(error)
        return _form(pg, event, values, errors, error.status)

    @post("/{event_id:uuid}/archive", opt=CRM_PAGE)
    async def archive(self, pg: NamedDependency[Page], event_id: FromPath[uuid.UUID], data: Form) -> Redirect:
        return await _set_archived(pg, event_id, data, True)

    @post("/{event_id:uuid}/restore", opt=CRM_PAGE)
    async def restore(self, pg: NamedDependency[Page], event_id: FromPath[uuid.UUID], data: Form) -> Redirect:
        return await _set_archived(pg, event_id, data, False)


async def _set_archived(pg: Page, event_id: uuid.UUID, data: dict[str, str], archived: bool) -> Redirect:
    actor = crm_actor(pg)
    url = f"{pg.base}/marketing-events/{event_id}"
    _, error = await attempt(pg, lambda: marketing.update(pg.uow, actor, event_id, {"archived": archived},
                                                          form_version(data)))
    if error is None:
        done = i18n.gettext("Marketing event archived.") if archived else i18n.gettext("Marketing event restored.")
        return redirect(url, done)
    _forbidden_or_missing(error)
    message = i18n.gettext(STALE_PAGE) if error.code == "version_conflict" else i18n.gettext(error.detail)
    return redirect(url, message, "error")
