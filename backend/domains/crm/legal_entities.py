"""Legal entities (counterparties): registered name, tax id, country, address, bank details.

A legal entity belongs to an account, and follows it: whoever sees the account sees its legal entities, whoever
may edit the account may edit them. Entities are archived, never deleted (documents keep pointing at them).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel import Locale
from sqlalchemy import func, literal, or_, select

from backend.db.keyset import contains_pattern, keyset_page
from backend.db.uow import UnitOfWork
from backend.domains.audit import service as audit
from backend.domains.crm import accounts, search_words
from backend.domains.crm.common import DuplicateWarning, mark_archived
from backend.domains.crm.models import Account, LegalEntity
from backend.domains.crm.validate import Fields
from backend.domains.crm.visibility import CrmActor, can_see, require_create, require_edit, visible_clause
from backend.kit.clock import utcnow
from backend.kit.errors import FieldError, Invalid, NotFound
from backend.kit.pagination import PageOf, clamp_limit

RECORD = "legal_entity"
EDITABLE = ("account_id", "registered_name", "tax_id", "country", "address", "bank")
ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code")
BANK_FIELDS = ("account_holder", "bank_name", "iban", "bic", "account_number")
_TAX_ID = re.compile(r"^[A-Za-z0-9.\-]+$")
_TAX_ID_NOISE = "[-.[:space:]]"  # ignored when comparing tax ids
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
# CLDR territories that are not countries (continents are numeric and never match two letters).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


@dataclass(frozen=True, slots=True)
class Created:
    entity: LegalEntity
    warnings: list[DuplicateWarning] = field(default_factory=list)


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes known to CLDR (via babel)."""
    codes = (str(code).upper() for code in Locale("en").territories)
    return frozenset(c for c in codes if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES)


def iban_ok(iban: str) -> bool:
    """Format and ISO 7064 mod-97 checksum of an IBAN without spaces, in upper case."""
    if not _IBAN.fullmatch(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def normalized_tax_id(tax_id: str) -> str:
    return re.sub(r"[-.\s]", "", tax_id).upper()


def snapshot(entity: LegalEntity) -> dict[str, Any]:
    return {f: dict(getattr(entity, f) or {}) if f in ("address", "bank") else getattr(entity, f) for f in EDITABLE}


def _nested(check: Fields, data: dict[str, Any], name: str, keys: tuple[str, ...], max_len: int) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.fail(name, "an object with the fields " + ", ".join(keys))
        return {}
    for unknown in sorted(set(value) - set(keys)):
        check.fail(f"{name}.{unknown}", "not a field of " + name)
    clean: dict[str, Any] = {}
    for key in keys:
        if key in value:  # problems are named by their full path, e.g. address.city
            text = check.text({f"{name}.{key}": value[key]}, f"{name}.{key}", max_len=max_len)
            if text:
                clean[key] = text
    return clean


def _bank(check: Fields, data: dict[str, Any]) -> dict[str, Any]:
    bank = _nested(check, data, "bank", BANK_FIELDS, 64)
    if "iban" in bank:
        bank["iban"] = re.sub(r"\s", "", bank["iban"]).upper()
        if not iban_ok(bank["iban"]):
            check.fail("bank.iban", "not a valid IBAN (format or check digits)")
    if "bic" in bank:
        bank["bic"] = bank["bic"].upper()
        if not _BIC.fullmatch(bank["bic"]):
            check.fail("bank.bic", "8 or 11 characters (a BIC/SWIFT code)")
    return bank


def _tax_id(check: Fields, value: Any) -> str | None:
    """Spaces are dropped and letters upper-cased; '-' and '.' are kept as written."""
    if value is not None and not isinstance(value, str):
        check.fail("tax_id", "must be text")
        return None
    tax_id = re.sub(r"\s", "", value or "").upper()
    if len(tax_id) > 64:
        check.fail("tax_id", "at most 64 characters")
    elif tax_id and not _TAX_ID.fullmatch(tax_id):
        check.fail("tax_id", "letters, digits, '-' and '.' only")
    return tax_id or None


def _validated(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise Invalid("Unknown fields.", [FieldError(f, "not a field of a legal entity") for f in unknown])
    check = Fields()
    clean: dict[str, Any] = {}
    if not partial or "account_id" in data:
        clean["account_id"] = check.uuid(data, "account_id")
        if clean["account_id"] is None and not any(e.field == "account_id" for e in check.errors):
            check.fail("account_id", "required")
    if not partial or "registered_name" in data:
        clean["registered_name"] = check.text(data, "registered_name", required=True, max_len=250)
    if "tax_id" in data:
        clean["tax_id"] = _tax_id(check, data.get("tax_id"))
    if "country" in data:
        country = check.text(data, "country", max_len=100)
        if country is not None and country.upper() not in countries():
            check.fail("country", "an ISO 3166-1 alpha-2 country code, e.g. DE")
        clean["country"] = country.upper() if country else None
    if "address" in data:
        clean["address"] = _nested(check, data, "address", ADDRESS_FIELDS, 200)
    if "bank" in data:
        clean["bank"] = _bank(check, data)
    check.done()
    return clean


async def _editable_account(uow: UnitOfWork, actor: CrmActor, account_id: uuid.UUID) -> Account:
    """The account a legal entity is attached to: visible (422 otherwise), not archived, editable (403)."""
    try:
        account = await accounts.get(uow, actor, account_id)
    except NotFound as exc:
        raise Invalid("No such account.", [FieldError("account_id", "no such account")]) from exc
    require_edit(actor, account.owner_user_id, account.is_shared)
    if account.archived_at is not None:
        raise Invalid("The account is archived.", [FieldError("account_id", "the account is archived")])
    return account


async def _duplicates(uow: UnitOfWork, actor: CrmActor, entity: LegalEntity) -> list[DuplicateWarning]:
    if not entity.tax_id:
        return []
    query = (
        select(LegalEntity.id, Account.owner_user_id, Account.is_shared)
        .join(Account, Account.id == LegalEntity.account_id)
        .where(LegalEntity.id != entity.id, LegalEntity.archived_at.is_(None),
               LegalEntity.country.is_not_distinct_from(entity.country),
               func.upper(func.regexp_replace(LegalEntity.tax_id, _TAX_ID_NOISE, "", "g"))
               == literal(normalized_tax_id(entity.tax_id)))
        .order_by(LegalEntity.created_at, LegalEntity.id)
    )
    return [DuplicateWarning("tax_id", "another legal entity has this tax id",
                             found_id if can_see(actor, owner, shared) else None)
            for found_id, owner, shared in (await uow.session.execute(query)).all()]


async def create(uow: UnitOfWork, actor: CrmActor, data: dict[str, Any]) -> Created:
    require_create(actor)
    clean = _validated(data, partial=False)
    await _editable_account(uow, actor, clean["account_id"])
    clean.setdefault("address", {})
    clean.setdefault("bank", {})
    entity = LegalEntity(id=uuid.uuid4(), version=1, **clean)
    uow.session.add(entity)
    await uow.flush()
    await search_words.remember(uow, entity.registered_name)
    await uow.session.refresh(entity)
    await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, entity.id, "create",
                       audit.diff({}, snapshot(entity)))
    return Created(entity, await _duplicates(uow, actor, entity))


async def _get_with_account(uow: UnitOfWork, actor: CrmActor, entity_id: uuid.UUID, *,
                            for_update: bool = False) -> tuple[LegalEntity, Account]:
    query = select(LegalEntity, Account).join(Account, Account.id == LegalEntity.account_id).where(
        LegalEntity.id == entity_id)
    if for_update:
        query = query.with_for_update(of=LegalEntity)
    found = (await uow.session.execute(query)).one_or_none()
    if found is None or not can_see(actor, found[1].owner_user_id, found[1].is_shared):
        raise NotFound("No such legal entity.", "legal_entity_not_found")
    return found[0], found[1]


async def get(uow: UnitOfWork, actor: CrmActor, entity_id: uuid.UUID) -> LegalEntity:
    """One legal entity, if its account is visible to ``actor`` (404 otherwise)."""
    return (await _get_with_account(uow, actor, entity_id))[0]


async def list_entities(
    uow: UnitOfWork, actor: CrmActor, *, account_id: uuid.UUID | None = None, q: str | None = None,
    include_archived: bool = False, cursor: str | None = None, limit: int = 50,
) -> PageOf[LegalEntity]:
    """Entities of visible accounts, by registered name then id, in keyset pages."""
    limit = clamp_limit(limit)
    query = select(LegalEntity).join(Account, Account.id == LegalEntity.account_id)
    limit_to = visible_clause(actor, Account.owner_user_id, Account.is_shared)
    if limit_to is not None:
        query = query.where(limit_to)
    if not include_archived:
        query = query.where(LegalEntity.archived_at.is_(None))
    if account_id is not None:
        query = query.where(LegalEntity.account_id == account_id)
    if q and q.strip():
        name_like = contains_pattern(q.strip())
        tax_like = contains_pattern(re.sub(r"\s", "", q))
        query = query.where(or_(LegalEntity.registered_name.ilike(name_like, escape="\\"),
                                LegalEntity.tax_id.ilike(tax_like, escape="\\")))
    return await keyset_page(
        uow.session, query, sort_column=LegalEntity.registered_name, id_column=LegalEntity.id, descending=False,
        cursor=cursor, limit=limit, value_of=lambda e: e.registered_name,
    )


async def update(uow: UnitOfWork, actor: CrmActor, entity_id: uuid.UUID, data: dict[str, Any],
                 expected_version: int | None = None) -> LegalEntity:
    """PATCH semantics; ``address`` and ``bank`` are replaced as a whole; ``account_id`` moves the entity."""
    entity, account = await _get_with_account(uow, actor, entity_id, for_update=True)
    require_edit(actor, account.owner_user_id, account.is_shared)
    accounts.check_version(entity.version, expected_version, "legal entity")
    clean = _validated(data, partial=True)
    if "account_id" in clean and clean["account_id"] != entity.account_id:
        await _editable_account(uow, actor, clean["account_id"])
    before = snapshot(entity)
    for name, value in clean.items():
        setattr(entity, name, value)
    changes = audit.diff(before, snapshot(entity))
    if changes:
        entity.version += 1
        entity.updated_at = utcnow()
        await audit.record(uow, audit.Actor(actor.user_id, actor.api_key_id), RECORD, entity.id, "update", changes)
    await uow.flush()
    if "registered_name" in changes:
        await search_words.remember(uow, entity.registered_name)
    return entity


async def archive(uow: UnitOfWork, actor: CrmActor, entity_id: uuid.UUID,
                  expected_version: int | None = None) -> LegalEntity:
    entity, account = await _get_with_account(uow, actor, entity_id, for_update=True)
    require_edit(actor, account.owner_user_id, account.is_shared)
    accounts.check_version(entity.version, expected_version, "legal entity")
    await mark_archived(uow, actor, entity, RECORD)
    return entity
