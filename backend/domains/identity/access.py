"""Who may enter a tenant: memberships, invitations and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.db.uow import UnitOfWork
from backend.domains.identity import accounts, passwords
from backend.domains.identity.models import ApiKey, AuditEvent, Invitation, Membership, User
from backend.domains.identity.roles import ALL_ROLES, Role, can_grant
from backend.domains.identity.schemas import IssuedSecret, Principal
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from backend.kit.secrets import new_token, token_digest

INVITE_PREFIX = "tdm_inv"
API_KEY_PREFIX = "tdm_sk"


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller inside one tenant: principal plus effective role."""

    tenant_id: uuid.UUID
    role: str
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None


def validate_role(role: str, field: str = "role") -> str:
    if role not in ALL_ROLES:
        raise Invalid("Unknown role.", [FieldError(field, f"one of: {', '.join(sorted(ALL_ROLES))}")],
                      "invalid_role")
    return role


def _audit(uow: UnitOfWork, actor: Actor, action: str, target_type: str, target_id: object,
           **details: object) -> None:
    uow.session.add(AuditEvent(tenant_id=actor.tenant_id, actor_user_id=actor.user_id,
                               actor_api_key_id=actor.api_key_id, action=action, target_type=target_type,
                               target_id=str(target_id), details={k: str(v) for k, v in details.items()}))


async def role_in(uow: UnitOfWork, tenant_id: uuid.UUID, principal: Principal) -> str | None:
    """The principal's role in the tenant, or None when it has no access."""
    if principal.is_api_key:
        return principal.api_key_role if principal.api_key_tenant_id == tenant_id else None
    if principal.user_id is None:
        return None
    query = select(Membership.role).where(
        Membership.tenant_id == tenant_id, Membership.user_id == principal.user_id
    )
    return (await uow.session.execute(query)).scalar_one_or_none()


async def add_member(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> Membership:
    membership = Membership(tenant_id=tenant_id, user_id=user_id, role=validate_role(role))
    uow.session.add(membership)
    await uow.flush()
    return membership


async def memberships_of(uow: UnitOfWork, user_id: uuid.UUID) -> list[Membership]:
    query = select(Membership).where(Membership.user_id == user_id).order_by(Membership.created_at)
    return list((await uow.session.execute(query)).scalars())


async def list_members(
    uow: UnitOfWork, tenant_id: uuid.UUID, *, after: str | None = None, limit: int = 50
) -> list[tuple[Membership, User]]:
    query = (
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id).order_by(User.email).limit(limit)
    )
    if after:
        query = query.where(User.email > after)
    return [(m, u) for m, u in (await uow.session.execute(query)).all()]


async def member_names(uow: UnitOfWork, tenant_id: uuid.UUID,
                       user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names (full name, else email) of those of ``user_ids`` who are members of the tenant."""
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    query = (select(User.id, User.full_name, User.email).join(Membership, Membership.user_id == User.id)
             .where(Membership.tenant_id == tenant_id, User.id.in_(wanted)))
    return {row.id: row.full_name or row.email for row in await uow.session.execute(query)}


async def api_key_names(uow: UnitOfWork, tenant_id: uuid.UUID,
                        key_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Names of the tenant's API keys (revoked ones included: they still wrote history)."""
    wanted = {k for k in key_ids if k is not None}
    if not wanted:
        return {}
    query = select(ApiKey.id, ApiKey.name).where(ApiKey.tenant_id == tenant_id, ApiKey.id.in_(wanted))
    return {row.id: row.name for row in await uow.session.execute(query)}


async def _member(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    query = select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    membership = (await uow.session.execute(query.with_for_update())).scalar_one_or_none()
    if membership is None:
        raise NotFound("No such member.", "member_not_found")
    return membership


async def _lock_owners(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    """Lock the tenant's owner memberships (in id order) and count them.

    Every owner-changing operation takes these locks first, so two owners demoting or
    removing each other at once serialise and the second one sees the first one's result:
    a company can never end up without an owner.
    """
    query = (
        select(Membership.id)
        .where(Membership.tenant_id == tenant_id, Membership.role == Role.OWNER)
        .order_by(Membership.id)
        .with_for_update()
    )
    return len((await uow.session.execute(query)).all())


async def change_role(uow: UnitOfWork, actor: Actor, user_id: uuid.UUID, role: str) -> Membership:
    validate_role(role)
    owners = await _lock_owners(uow, actor.tenant_id)
    membership = await _member(uow, actor.tenant_id, user_id)
    if not can_grant(actor.role, role) or not can_grant(actor.role, membership.role):
        raise Forbidden("Your role cannot grant or change that role.", "role_not_grantable")
    if membership.role == Role.OWNER and role != Role.OWNER and owners <= 1:
        raise Conflict("A company needs at least one owner.", "last_owner")
    before, membership.role = membership.role, role
    _audit(uow, actor, "member.role_changed", "user", user_id, before=before, after=role)
    await uow.flush()
    return membership


async def remove_member(uow: UnitOfWork, actor: Actor, user_id: uuid.UUID) -> None:
    owners = await _lock_owners(uow, actor.tenant_id)
    membership = await _member(uow, actor.tenant_id, user_id)
    if not can_grant(actor.role, membership.role):
        raise Forbidden("Your role cannot remove that member.", "role_not_grantable")
    if membership.role == Role.OWNER and owners <= 1:
        raise Conflict("A company needs at least one owner.", "last_owner")
    await uow.session.delete(membership)
    _audit(uow, actor, "member.removed", "user", user_id, role=membership.role)
    await uow.flush()


async def invite(uow: UnitOfWork, actor: Actor, email: str, role: str, ttl_seconds: int) -> IssuedSecret:
    email = accounts.normalize_email(email)
    validate_role(role)
    if not can_grant(actor.role, role):
        raise Forbidden("Your role cannot invite with that role.", "role_not_grantable")
    existing = await accounts.find_by_email(uow, email)
    if existing is not None and await role_in(uow, actor.tenant_id, Principal(user_id=existing.id)):
        raise Conflict("That person is already a member.", "already_member", [FieldError("email", "already a member")])
    token = new_token(INVITE_PREFIX)
    row = Invitation(id=uuid.uuid4(), tenant_id=actor.tenant_id, email=email, role=role,
                     token_hash=token_digest(token), invited_by=actor.user_id,
                     expires_at=utcnow() + timedelta(seconds=ttl_seconds))
    uow.session.add(row)
    _audit(uow, actor, "invitation.created", "invitation", row.id, email=email, role=role)
    await uow.flush()
    return IssuedSecret(id=row.id, secret=token, expires_at=row.expires_at)


async def list_invitations(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Invitation]:
    query = select(Invitation).where(
        Invitation.tenant_id == tenant_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
    ).order_by(Invitation.created_at.desc()).limit(200)
    return list((await uow.session.execute(query)).scalars())


async def revoke_invitation(uow: UnitOfWork, actor: Actor, invitation_id: uuid.UUID) -> None:
    row = await uow.session.get(Invitation, invitation_id)
    if row is None or row.tenant_id != actor.tenant_id:
        raise NotFound("No such invitation.", "invitation_not_found")
    if not can_grant(actor.role, row.role):
        raise Forbidden("Your role cannot revoke an invitation with that role.", "role_not_grantable")
    if row.revoked_at is None and row.accepted_at is None:
        row.revoked_at = utcnow()
        _audit(uow, actor, "invitation.revoked", "invitation", row.id)
    await uow.flush()


async def accept_invitation(
    uow: UnitOfWork, token: str, *, user: User | None, password: str | None, full_name: str = ""
) -> tuple[User, Membership]:
    """Accept as the signed-in ``user``, or create the account with ``password``."""
    bad = Invalid("This invitation is invalid or has expired.", [FieldError("token", "invalid or expired")],
                  "invalid_invitation")
    row = (
        await uow.session.execute(
            select(Invitation).where(Invitation.token_hash == token_digest(token or "")).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.accepted_at is not None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise bad
    if user is None:
        user = await accounts.find_by_email(uow, row.email)
        if user is not None:
            raise Conflict("You already have an account: sign in, then accept the invitation.", "sign_in_first")
        if password is None:
            raise Invalid("A password is required.", [FieldError("password", "required")])
        passwords.check_strength(password)
        user = await accounts.register_user(uow, row.email, password, full_name)
    elif user.email != row.email:
        raise Forbidden("This invitation was sent to another email address.", "invitation_email_mismatch")
    actor = Actor(tenant_id=row.tenant_id, role=row.role, user_id=user.id)
    if await role_in(uow, row.tenant_id, Principal(user_id=user.id)) is not None:
        raise Conflict("You are already a member.", "already_member")
    membership = await add_member(uow, row.tenant_id, user.id, row.role)
    row.accepted_at = utcnow()
    _audit(uow, actor, "invitation.accepted", "invitation", row.id, role=row.role)
    await uow.flush()
    return user, membership


async def create_api_key(uow: UnitOfWork, actor: Actor, name: str, role: str) -> tuple[ApiKey, str]:
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("Invalid key name.", [FieldError("name", "1-100 characters")])
    validate_role(role)
    if not can_grant(actor.role, role):
        raise Forbidden("Your role cannot create a key with that role.", "role_not_grantable")
    secret = new_token(API_KEY_PREFIX)
    key = ApiKey(id=uuid.uuid4(), tenant_id=actor.tenant_id, name=name, prefix=secret[:12],
                 key_hash=token_digest(secret), role=role, created_by=actor.user_id)
    uow.session.add(key)
    _audit(uow, actor, "api_key.created", "api_key", key.id, name=name, role=role)
    await uow.flush()
    return key, secret


async def list_api_keys(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at.desc()).limit(500)
    return list((await uow.session.execute(query)).scalars())


async def revoke_api_key(uow: UnitOfWork, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    key = await uow.session.get(ApiKey, key_id)
    if key is None or key.tenant_id != actor.tenant_id:
        raise NotFound("No such API key.", "api_key_not_found")
    if not can_grant(actor.role, key.role):
        raise Forbidden("Your role cannot revoke a key with that role.", "role_not_grantable")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _audit(uow, actor, "api_key.revoked", "api_key", key.id)
    await uow.flush()
    return key


async def resolve_api_key(uow: UnitOfWork, secret: str) -> ApiKey | None:
    if not secret.startswith(API_KEY_PREFIX + "_") or len(secret) > 200:
        return None
    query = select(ApiKey).where(ApiKey.key_hash == token_digest(secret))
    key = (await uow.session.execute(query)).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    return key


async def touch_api_key(uow: UnitOfWork, key_id: uuid.UUID, now: datetime) -> None:
    stale = now - timedelta(seconds=60)
    await uow.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < stale))
        .values(last_used_at=now)
    )
