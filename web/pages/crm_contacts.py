"""Contact card at /t/{slug}/contacts/{id}: fields, account, roles, consent per channel (when and from where),
phone and email as links, an edit form (CSRF, version, errors next to the fields), the history, and for the roles
that may: data download links and the erasure form (web/pages/crm_privacy.py); an erased contact shows as such."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from backend.domains.audit import service as audit
from backend.domains.crm import accounts, contacts, privacy
from backend.domains.crm.models import CONTACT_ROLES, Account, Contact
from backend.domains.crm.visibility import CrmActor, can_see
from backend.domains.identity import access
from backend.kit.errors import Forbidden
from web import custom_inputs, i18n
from web.context import Page, tenant_page
from web.history import CONTACT_FIELDS, history_rows
from web.pages.crm_accounts import CRM_PAGE, crm_actor
from web.render import attempt, field_errors, redirect, render

MultiForm = URLEncodedBody[dict[str, str | list[str]]]
TEXT_FIELDS = ("full_name", "job_title", "account_id", "email", "phone", "owner_user_id")
CHANNELS = contacts.CHANNELS
STALE = i18n.lazy("This contact was changed by someone else meanwhile. The page now shows its current state; "
                  "try again if you still want to.")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def current_values(contact: Contact) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(getattr(contact, name)) for name in TEXT_FIELDS}
    values["roles"] = list(contact.roles or [])
    for channel in CHANNELS:
        values[f"{channel}_consent"] = bool(getattr(contact, f"{channel}_consent"))
        values[f"{channel}_consent_source"] = _text(getattr(contact, f"{channel}_consent_source"))
    return values


def submitted_values(data: Mapping[str, str | list[str]], current: Mapping[str, Any]) -> dict[str, Any]:
    """The form as values; a text field missing from the post keeps its current value (unticked boxes are off)."""
    def one(name: str) -> str:
        raw = data.get(name, "")
        return (raw[-1] if raw else "") if isinstance(raw, list) else str(raw)

    values: dict[str, Any] = {name: one(name).strip() if name in data else current.get(name, "")
                              for name in (*TEXT_FIELDS, "phone_region")}
    raw_roles = data.get("roles", [])
    values["roles"] = [raw_roles] if isinstance(raw_roles, str) else list(raw_roles)
    for channel in CHANNELS:
        values[f"{channel}_consent"] = one(f"{channel}_consent") == "on"
        values[f"{channel}_consent_source"] = one(f"{channel}_consent_source").strip()
    return values


def changes_for(contact: Contact, values: Mapping[str, Any]) -> dict[str, Any]:
    """What the form changes, in the service's terms (PATCH semantics: unchanged fields are not sent)."""
    now = current_values(contact)
    changes: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS if values[name] != now[name]}
    if "phone" in changes and values.get("phone_region"):
        changes["phone_region"] = values["phone_region"]
    if sorted(values["roles"]) != sorted(now["roles"]):
        changes["roles"] = values["roles"]
    for channel in CHANNELS:
        flag, source = f"{channel}_consent", f"{channel}_consent_source"
        if values[flag] and (not now[flag] or values[source] != now[source]):
            changes[flag] = True
            if values[source]:
                changes[source] = values[source]
        elif not values[flag] and now[flag]:
            changes[flag] = False
    return changes


class ContactPages(Controller):
    path = "/t/{tenant_slug:str}/contacts"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/{contact_id:uuid}", opt=CRM_PAGE)
    async def card(self, pg: NamedDependency[Page], contact_id: FromPath[uuid.UUID]) -> Template:
        context = await card_context(pg, crm_actor(pg), contact_id)
        values = current_values(context["contact"]) | custom_inputs.form_values(context["contact"].custom)
        return render(pg, "crm/contact_card.html", values=values, errors={}, **context)

    @post("/{contact_id:uuid}", opt=CRM_PAGE)
    async def edit(self, pg: NamedDependency[Page], contact_id: FromPath[uuid.UUID],
                   data: MultiForm) -> Template | Redirect:
        actor = crm_actor(pg)
        if not actor.may_write:
            raise Forbidden("Your role cannot change this record.", "crm_read_only")
        contact = await contacts.get(pg.uow, actor, contact_id)
        values = submitted_values(data, current_values(contact)) | custom_inputs.posted(data)
        changes = changes_for(contact, values)
        form = {name: value for name, value in data.items() if isinstance(value, str)}
        definitions = await custom_inputs.active_definitions(pg.uow, "contact")
        custom = custom_inputs.changed(custom_inputs.submitted(form, definitions, create=False), contact.custom)
        if custom:
            changes["custom"] = custom
        if not changes:
            return redirect(f"{pg.base}/contacts/{contact_id}", i18n.gettext("Nothing to change."), "info")
        raw_version = data.get("version", "")
        version_text = raw_version if isinstance(raw_version, str) else ""
        version = int(version_text) if version_text.isdigit() and len(version_text) < 10 else (
            None if not version_text else -1)
        _, error = await attempt(pg, lambda: contacts.update(pg.uow, actor, contact_id, changes, version))
        if error is None:
            return redirect(f"{pg.base}/contacts/{contact_id}", i18n.gettext("Contact saved."))
        if error.status in (403, 404):
            raise error
        context = await card_context(pg, actor, contact_id)
        errors = {"__all__": i18n.gettext(STALE)} if error.code == "version_conflict" else field_errors(error)
        return render(pg, "crm/contact_card.html", status=error.status, values=values, errors=errors, **context)


async def _account(pg: Page, actor: CrmActor, account_id: uuid.UUID | None) -> Account | None:
    """The contact's account when the reader may see it (a rep can see a contact of a hidden account)."""
    if account_id is None:
        return None
    account = await pg.uow.session.get(Account, account_id)
    return account if account and can_see(actor, account.owner_user_id, account.is_shared) else None


async def card_context(pg: Page, actor: CrmActor, contact_id: uuid.UUID) -> dict[str, Any]:
    assert pg.tenant is not None
    contact = await contacts.get(pg.uow, actor, contact_id)
    account = await _account(pg, actor, contact.account_id)
    names = await access.member_names(pg.uow, pg.tenant.id, {contact.owner_user_id, actor.user_id})
    entries = await audit.history(pg.uow, contacts.RECORD, str(contact.id), limit=50)
    context: dict[str, Any] = {
        "contact": contact, "account": account,
        "owner_name": names.get(contact.owner_user_id) if contact.owner_user_id else None,
        "history": await history_rows(pg.uow, pg.tenant.id, actor, entries.items, CONTACT_FIELDS, "contact"),
        "all_roles": CONTACT_ROLES, "channels": CHANNELS, "may_write": actor.may_write and contact.erased_at is None,
        "may_export": actor.role in privacy.EXPORT_ROLES,
        "may_erase": actor.role in privacy.ERASE_ROLES and contact.erased_at is None,
        "labels": {name: i18n.gettext(spec.label) for name, spec in CONTACT_FIELDS.items()},
        "custom_shown": await custom_inputs.shown_values(pg.uow, "contact", contact.custom),
    }
    if context["may_write"]:
        listed = await accounts.list_accounts(pg.uow, actor, sort="name", limit=200)
        options = [("", i18n.gettext("No account"))] + [(str(a.id), a.name) for a in listed.items]
        if contact.account_id and all(v != str(contact.account_id) for v, _ in options):
            options.append((str(contact.account_id), account.name if account else i18n.gettext("Hidden account")))
        context["account_options"] = options
        context["owner_options"] = await _owner_options(pg, actor, contact, names)
        context["custom_definitions"] = await custom_inputs.active_definitions(pg.uow, "contact")
    return context


async def _owner_options(pg: Page, actor: CrmActor, contact: Contact,
                         names: Mapping[uuid.UUID, str]) -> list[tuple[str, str]]:
    assert pg.tenant is not None
    options: list[tuple[str, str]] = [("", i18n.gettext("Nobody"))]
    if actor.edits_all:
        options += [(str(u.id), u.full_name or u.email)
                    for _, u in await access.list_members(pg.uow, pg.tenant.id, limit=200)]
    else:
        options += [(str(uid), name) for uid, name in names.items()]
    if contact.owner_user_id is not None and all(v != str(contact.owner_user_id) for v, _ in options):
        options.append((str(contact.owner_user_id), i18n.gettext("Former member")))
    return options
