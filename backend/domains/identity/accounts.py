"""Users, sign-in, access tokens and password resets."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from backend.db.uow import UnitOfWork
from backend.domains.identity import passwords
from backend.domains.identity.models import AccessToken, AuditEvent, PasswordReset, User
from backend.domains.identity.schemas import IssuedSecret, IssuedToken
from backend.kit.clock import utcnow
from backend.kit.errors import Conflict, FieldError, Invalid
from backend.kit.secrets import new_token, token_digest

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
ACCESS_PREFIX = "tdm_at"
RESET_PREFIX = "tdm_pr"


def normalize_email(email: str, field: str = "email") -> str:
    value = (email or "").strip().lower() if isinstance(email, str) else ""
    if len(value) > 254 or not EMAIL_RE.fullmatch(value):
        raise Invalid("Invalid email address.", [FieldError(field, "not a valid email address")], "invalid_email")
    return value


async def find_by_email(uow: UnitOfWork, email: str) -> User | None:
    return (await uow.session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def get_user(uow: UnitOfWork, user_id: uuid.UUID) -> User | None:
    return await uow.session.get(User, user_id)


async def register_user(uow: UnitOfWork, email: str, password: str, full_name: str = "") -> User:
    email = normalize_email(email)
    passwords.check_strength(password)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in full_name):
        raise Invalid("Invalid name.", [FieldError("full_name", "no line breaks or control characters")])
    if await find_by_email(uow, email) is not None:
        raise Conflict("An account with this email already exists; sign in instead.", "email_taken",
                       [FieldError("email", "already registered")])
    user = User(email=email, password_hash=await passwords.hash_password(password), full_name=full_name.strip())
    uow.session.add(user)
    await uow.flush()
    return user


async def authenticate(uow: UnitOfWork, email: str, password: str) -> User | None:
    """The user when email and password match an active account; equal work either way."""
    try:
        email = normalize_email(email)
    except Invalid:
        await passwords.verify_password(None, password or "")
        return None
    user = await find_by_email(uow, email)
    ok = await passwords.verify_password(user.password_hash if user else None, password or "")
    if user is None or not ok or not user.is_active:
        return None
    return user


async def issue_access_token(uow: UnitOfWork, user: User, ttl_seconds: int) -> IssuedToken:
    token = new_token(ACCESS_PREFIX)
    row = AccessToken(id=uuid.uuid4(), user_id=user.id, token_hash=token_digest(token),
                      expires_at=utcnow() + timedelta(seconds=ttl_seconds))
    uow.session.add(row)
    await uow.flush()
    return IssuedToken(token=token, token_id=row.id, expires_at=row.expires_at)


async def resolve_access_token(uow: UnitOfWork, token: str) -> tuple[User, AccessToken] | None:
    if not token.startswith(ACCESS_PREFIX + "_") or len(token) > 200:
        return None
    query = (
        select(User, AccessToken)
        .join(AccessToken, AccessToken.user_id == User.id)
        .where(AccessToken.token_hash == token_digest(token))
    )
    found = (await uow.session.execute(query)).first()
    if found is None:
        return None
    user, row = found
    if row.revoked_at is not None or row.expires_at <= utcnow() or not user.is_active:
        return None
    return user, row


async def revoke_token(uow: UnitOfWork, token_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(AccessToken).where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_tokens(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(AccessToken).where(AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def reset_target(uow: UnitOfWork, email: str) -> User | None:
    """The active account a reset may be sent to (callers answer the same either way)."""
    try:
        email = normalize_email(email)
    except Invalid:
        return None
    user = await find_by_email(uow, email)
    return user if user is not None and user.is_active else None


async def issue_password_reset(uow: UnitOfWork, user: User, ttl_seconds: int) -> IssuedSecret:
    token = new_token(RESET_PREFIX)
    row = PasswordReset(id=uuid.uuid4(), user_id=user.id, token_hash=token_digest(token),
                        expires_at=utcnow() + timedelta(seconds=ttl_seconds))
    uow.session.add(row)
    await uow.flush()
    return IssuedSecret(id=row.id, secret=token, expires_at=row.expires_at)


async def finish_password_reset(uow: UnitOfWork, token: str, new_password: str) -> User:
    passwords.check_strength(new_password)
    bad = Invalid("This reset link is invalid or has expired.", [FieldError("token", "invalid or expired")],
                  "invalid_token")
    row = (
        await uow.session.execute(
            select(PasswordReset).where(PasswordReset.token_hash == token_digest(token or "")).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise bad
    user = await uow.session.get(User, row.user_id)
    if user is None:
        raise bad
    row.used_at = utcnow()
    await set_password(uow, user, new_password)
    return user


async def set_password(uow: UnitOfWork, user: User, new_password: str) -> None:
    passwords.check_strength(new_password)
    user.password_hash = await passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    await revoke_all_tokens(uow, user.id)
    # Any other reset link still in a mailbox dies with the old password.
    await uow.session.execute(
        update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    uow.session.add(AuditEvent(actor_user_id=user.id, action="user.password_changed", target_type="user",
                               target_id=str(user.id)))
    await uow.flush()
