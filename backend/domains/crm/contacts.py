"""Contacts: people, usually at an account, with roles, an E.164 phone and per-channel consent.

Visibility: a contact is visible when its own owner allows it (owned by you, or unowned) or when its account is
visible (a rep sees the contacts of shared accounts and of their own accounts). Whoever may see a contact and may
write at all (rep and up) may edit it. Contacts are archived, never deleted.

Consent (``email`` / ``sms``): setting ``*_consent`` to true needs a ``*_consent_source`` in the same request and a
stored address for the channel; the service stamps ``*_consent_at``. Withdrawing clears the time and the source.
Re-sending true with the same source changes nothing; with another source it records a fresh capture.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import and_, any_, literal, or_, select

from backend.db.keyset import as_text, as_timestamp, contains_pattern, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import custom_fields, search_words
from backend.domains.crm.accounts import check_version
from backend.domains.crm.common import DuplicateWarning, mark_archived
from backend.domains.crm.models import CONTACT_ROLES, Account, Contact
from backend.domains.crm.validate import Fields, is_member
from backend.domains.crm.visibility import OWN_ONLY, CrmActor, can_see, require_create, require_edit, visible_clause
from backend.domains.identity.accounts import normalize_email
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "contact"
CHANNELS = ("email", "sms")
# What the audit trail records (consent times and sources included).
STORED = ("full_name", "job_title", "account_id", "email", "phone", "roles", "owner_user_id",
          "email_consent", "email_consent_at", "email_consent_source",
          "sms_consent", "sms_consent_at", "sms_consent_source")
# What a client may send: the stored fields the service does not stamp itself, plus a dialling hint.
INPUT = ("full_name", "job_title", "account_id", "email", "phone", "phone_region", "roles", "owner_user_id",
         "email_consent", "email_consent_source", "sms_consent", "sms_consent_source", "custom")
SORTS = {"name": (Contact.full_name, False), "-name": (Contact.full_name, True),
         "created": (Contact.created_at, False), "-created": (Contact.created_at, True)}
_ADDRESS = {"email": "email", "sms": "phone"}


@dataclass(frozen=True, slots=True)
class Created:
    contact: Contact
    warnings: list[DuplicateWarning] = field(default_factory=list)


def snapshot(contact: Contact) -> dict[str, Any]:
    stored = {name: list(contact.roles or []) if name == "roles" else getattr(contact, name) for name in STORED}
    return stored | custom_fields.audited(contact.custom)


# --- validation --------------------------------------------------------------------------------------------------

def normalized_phone(check: Fields, raw: Any, region: Any) -> str | None:
    """E.164 (``+821012345678``): international input always; national input only with an ISO region hint."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        check.fail("phone", "a phone number of at most 40 characters")
        return None
    hint: str | None = None
    if region is not None:
        hint = region.strip().upper() if isinstance(region, str) else ""
        if hint not in phonenumbers.SUPPORTED_REGIONS:
            check.fail("phone_region", "an ISO 3166-1 alpha-2 country code, e.g. KR")
            return None
    if not raw.strip().startswith("+") and hint is None:
        check.fail("phone", "international format (+…) or give phone_region for a national number")
        return None
    try:
        number = phonenumbers.parse(raw, hint)
    except phonenumbers.NumberParseException:
        check.fail("phone", "not a phone number")
        return None
    if number.extension:
        check.fail("phone", "extensions are not supported")
        return None
    if not phonenumbers.is_valid_number(number):
        check.fail("phone", "not a valid phone number")
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(check: Fields, raw: Any) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        if not isinstance(raw, str):
            raise Invalid("not text")
        return normalize_email(raw)
    except Invalid:
        check.fail("email", "not a valid email address")
        return None


def _failed(check: Fields, name: str) -> bool:
    return any(e.field == name for e in check.errors)


def _roles(check: Fields, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw) or set(raw) - set(CONTACT_ROLES):
        check.fail("roles", "a list of: " + ", ".join(CONTACT_ROLES))
        return []
    return [r for r in CONTACT_ROLES if r in raw]  # canonical order, no repeats


def _validated(data: dict[str, Any], *, partial: bool) -> tuple[Fields, dict[str, Any]]:
    unknown = sorted(set(data) - set(INPUT))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of a contact") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "full_name" in data:
        clean["full_name"] = check.text(data, "full_name", required=True, max_len=200)
    if "job_title" in data:
        clean["job_title"] = check.text(data, "job_title", max_len=120)
    for name in ("account_id", "owner_user_id"):
        if name in data:
            clean[name] = check.uuid(data, name)
    if "email" in data:
        clean["email"] = _email(check, data["email"])
    if "phone" in data:
        clean["phone"] = normalized_phone(check, data["phone"], data.get("phone_region"))
    elif data.get("phone_region") is not None:
        check.fail("phone_region", "only together with phone")
    if "roles" in data:
        clean["roles"] = _roles(check, data["roles"])
    for channel in CHANNELS:
        flag, source = f"{channel}_consent", f"{channel}_consent_source"
        if flag in data:
            if not isinstance(data[flag], bool):
                check.fail(flag, "true or false")
            else:
                clean[flag] = data[flag]
        if source in data:
            clean[source] = check.text(data, source, max_len=64)
            if data.get(flag) is not True:
                check.fail(source, f"only together with {flag}: true")
        if data.get(flag) is True and clean.get(source) is None and not _failed(check, source):
            check.fail(source, f"required when {flag} is true (e.g. web form, trade show)")
    return check, clean


def _apply_consent(contact: Contact, clean: dict[str, Any], check: Fields) -> None:
    """Set the consent fields of ``contact`` from ``clean`` (already validated), stamping the time."""
    for channel in CHANNELS:
        flag, at, source = f"{channel}_consent", f"{channel}_consent_at", f"{channel}_consent_source"
        if flag in clean:
            if clean[flag] and (not getattr(contact, flag) or getattr(contact, source) != clean.get(source)):
                setattr(contact, at, utcnow())
                setattr(contact, source, clean.get(source))
            elif not clean[flag]:
                setattr(contact, at, None)
                setattr(contact, source, None)
            setattr(contact, flag, clean[flag])
        address = _ADDRESS[channel]
        if getattr(contact, flag) and getattr(contact, address) is None and not _failed(check, address):
            if flag in clean:
                check.fail(flag, f"needs {'an email address' if channel == 'email' else 'a phone number'}")
            else:
                check.fail(address, f"required while {flag} is true; withdraw the consent first")


async def _check_relations(uow: UnitOfWork, actor: CrmActor, clean: dict[str, Any], check: Fields,
                           current_account: uuid.UUID | None) -> None:
    owner = clean.get("owner_user_id")
    if owner is not None:
        if not actor.edits_all and owner != actor.user_id:
            check.fail("owner_user_id", "reps can only assign records to themselves")
        elif not await is_member(uow, owner):
            check.fail("owner_user_id", "not a member of this company")
    account_id = clean.get("account_id")
    if account_id is not None and account_id != current_account:
        account = await uow.session.get(Account, account_id)
        if account is None or not can_see(actor, account.owner_user_id, account.is_shared):
            check.fail("account_id", "no such account")
        elif account.archived_at is not None:
            check.fail("account_id", "the account is archived")


# --- visibility --------------------------------------------------------------------------------------------------

def visible(actor: CrmActor, *, user: Any = None) -> Any:
    """WHERE clause over ``contacts LEFT JOIN accounts``: own/unowned contacts, or contacts of visible accounts
    (``user``: see ``visible_clause``)."""
    by_owner = visible_clause(actor, Contact.owner_user_id, user=user)
    if by_owner is None:
        return None
    by_account = visible_clause(actor, Account.owner_user_id, Account.is_shared, user=user)
    return or_(by_owner, and_(Account.id.is_not(None), by_account))


def _sees(actor: CrmActor, owner: uuid.UUID | None, account: Account | None) -> bool:
    return can_see(actor, owner) or (account is not None and can_see(actor, account.owner_user_id, account.is_shared))


def _require_edit(actor: CrmActor, contact: Contact, account: Account | None) -> None:
    if (account is not None and actor.role in OWN_ONLY
            and can_see(actor, account.owner_user_id, account.is_shared)):
        return
    require_edit(actor, contact.owner_user_id)


async def _get_with_account(uow: UnitOfWork, actor: CrmActor, contact_id: uuid.UUID, *,
                            for_update: bool = False) -> tuple[Contact, Account | None]:
    query = select(Contact, Account).outerjoin(Account, Account.id == Contact.account_id).where(
        Contact.id == contact_id)
    if for_update:
        query = query.with_for_update(of=Contact)
    found = (await uow.session.execute(query)).one_or_none()
    if found is None or not _sees(actor, found[0].owner_user_id, found[1]):
        raise NotFound("No such contact.", "contact_not_found")
    return found[0], found[1]


async def get(uow: UnitOfWork, actor: CrmActor, contact_id: uuid.UUID) -> Contact:
    """One contact, if visible to ``actor`` (404 otherwise)."""
    return (await _get_with_account(uow, actor, contact_id))[0]


# --- writes ------------------------------------------------------------------------------------------------------

def refuse_erased(contact: Contact) -> None:
    """A contact whose personal data was erased (privacy.py) takes no new data."""
    if contact.erased_at is not None:
        raise Conflict("This contact's personal data was erased; it cannot be changed.", "contact_erased")


async def _duplicates(uow: UnitOfWork, actor: CrmActor, contact: Contact) -> list[DuplicateWarning]:
    probes = [(name, value) for name, value in (("email", contact.email), ("phone", contact.phone)) if value]
    if not probes:
        return []
    warnings: list[DuplicateWarning] = []
    for name, value in probes:
        column = Contact.email if name == "email" else Contact.phone
        query = (select(Contact.id, Contact.owner_user_id, Account)
                 .outerjoin(Account, Account.id == Contact.account_id)
                 .where(Contact.id != contact.id, Contact.archived_at.is_(None), column == value)
                 .order_by(Contact.created_at, Contact.id))
        for found_id, owner, account in (await uow.session.execute(query)).all():
            warnings.append(DuplicateWarning(name, f"another contact has this {name}",
                                             found_id if _sees(actor, owner, account) else None))
    return warnings


def _assign(target: Contact, clean: dict[str, Any]) -> None:
    """Plain fields; the consent fields go through ``_apply_consent``."""
    for name, value in clean.items():
        if name in STORED and not name.endswith(("_consent", "_consent_source")):
            setattr(target, name, value)


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Created:
    require_create(actor)
    check, clean = _validated(data, partial=False)
    clean.setdefault("owner_user_id", actor.user_id)
    contact = Contact(id=uuid.uuid4(), version=1, roles=[], email_consent=False, sms_consent=False)
    _assign(contact, clean)
    _apply_consent(contact, clean, check)
    await _check_relations(uow, actor, clean, check, None)
    contact.custom = await custom_fields.validate_values(uow, "contact", data.get("custom"), check=check)
    check.done()
    uow.session.add(contact)
    await uow.flush()
    await search_words.remember(uow, contact.full_name)
    await uow.session.refresh(contact)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, contact.id, "create",
                       audit.diff({}, snapshot(contact)))
    return Created(contact, await _duplicates(uow, actor, contact))


async def update(uow: UnitOfWork, actor: CrmActor, contact_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> Contact:
    """PATCH semantics. Nothing is written unless every field is valid."""
    contact, account = await _get_with_account(uow, actor, contact_id, for_update=True)
    _require_edit(actor, contact, account)
    check_version(contact.version, expected_version, "contact")
    refuse_erased(contact)
    check, clean = _validated(data, partial=True)
    # Work on a detached copy, so a refused change leaves the session's object untouched.
    trial = Contact(**{name: getattr(contact, name) for name in STORED})
    _assign(trial, clean)
    _apply_consent(trial, clean, check)
    await _check_relations(uow, actor, clean, check, contact.account_id)
    custom = contact.custom
    if "custom" in data:
        custom = await custom_fields.validate_values(uow, "contact", data["custom"], current=custom, check=check)
    check.done()
    before = snapshot(contact)
    for name in STORED:
        setattr(contact, name, getattr(trial, name))
    contact.custom = custom
    changes = custom_fields.changes(before, snapshot(contact))
    if changes:
        contact.version += 1
        contact.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, contact.id, "update", changes)
    await uow.flush()
    if "full_name" in changes:
        await search_words.remember(uow, contact.full_name)
    return contact


async def archive(uow: UnitOfWork, actor: CrmActor, contact_id: uuid.UUID,
                  expected_version: int | None = None) -> Contact:
    contact, account = await _get_with_account(uow, actor, contact_id, for_update=True)
    _require_edit(actor, contact, account)
    check_version(contact.version, expected_version, "contact")
    await mark_archived(uow, actor, contact, RECORD)
    return contact


# --- lists -------------------------------------------------------------------------------------------------------

async def list_contacts(
    uow: UnitOfWork, actor: CrmActor, *, account_id: uuid.UUID | None = None, q: str | None = None,
    role: str | None = None, email_consent: bool | None = None, sms_consent: bool | None = None,
    include_archived: bool = False, sort: str = "name", cursor: str | None = None, limit: int = 50,
    custom: Sequence[tuple[str, str]] = (),
) -> PageOf[Contact]:
    """``custom``: ``(cf.<key>[.gte|.lte], value)`` filters (see custom_fields.filter_clauses)."""
    limit = clamp_limit(limit)
    if sort not in SORTS:
        raise Invalid("Unknown sort.", [FieldError("sort", "one of: " + ", ".join(SORTS))])
    if role is not None and role not in CONTACT_ROLES:
        raise Invalid("Unknown role.", [FieldError("role", "one of: " + ", ".join(CONTACT_ROLES))])
    column, descending = SORTS[sort]
    query = select(Contact).outerjoin(Account, Account.id == Contact.account_id)
    limit_to = visible(actor)
    if limit_to is not None:
        query = query.where(limit_to)
    if not include_archived:
        query = query.where(Contact.archived_at.is_(None))
    if account_id is not None:
        query = query.where(Contact.account_id == account_id)
    if q and q.strip():
        like = contains_pattern(q.strip())
        query = query.where(or_(Contact.full_name.ilike(like, escape="\\"), Contact.email.ilike(like, escape="\\")))
    if role is not None:
        query = query.where(literal(role) == any_(Contact.roles))
    if email_consent is not None:
        query = query.where(Contact.email_consent.is_(email_consent))
    if sms_consent is not None:
        query = query.where(Contact.sms_consent.is_(sms_consent))
    for clause in await custom_fields.filter_clauses(uow, "contact", Contact.custom, custom):
        query = query.where(clause)
    by_name = sort.lstrip("-") == "name"
    return await keyset_page(
        uow.session, query, sort_column=column, id_column=Contact.id, descending=descending, cursor=cursor,
        limit=limit, value_of=(lambda c: c.full_name) if by_name else (lambda c: c.created_at),
        parse_value=as_text if by_name else as_timestamp,
    )
