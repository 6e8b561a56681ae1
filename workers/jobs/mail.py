"""Account mails: password reset and invitation."""

from __future__ import annotations

import uuid
from typing import Any

from backend.config import Settings
from backend.db.uow import UnitOfWork
from backend.domains.identity import accounts
from backend.domains.identity.models import Invitation
from backend.integrations.mailer import Mail, Mailer
from workers.decorators import shared_job


@shared_job
async def send_password_reset(ctx: dict[str, Any], uow: UnitOfWork, *, user_id: str) -> str:
    settings: Settings = ctx["settings"]
    mailer: Mailer = ctx["mailer"]
    user = await accounts.get_user(uow, uuid.UUID(user_id))
    if user is None or not user.is_active:
        return "skipped: no such user"
    issued = await accounts.issue_password_reset(uow, user, settings.password_reset_ttl_seconds)
    mail = Mail(
        to=user.email,
        subject="Reset your Tandem password",
        text=(
            f"Hello {user.full_name or user.email},\n\nSomeone (hopefully you) asked to reset your Tandem password.\n"
            f"Open this link within {settings.password_reset_ttl_seconds // 60} minutes to choose a new one:\n\n"
            f"{settings.base_url}/reset-password/{issued.secret}\n\n"
            f"Or POST the token to /api/v1/auth/password-reset/confirm: {issued.secret}\n\n"
            "If you did not ask for this, ignore this message; your password stays unchanged.\n"
        ),
    )
    # Flushed, not committed: if sending fails the token row rolls back with the job, and arq retries.
    return await mailer.send(mail)


@shared_job
async def send_invitation(
    ctx: dict[str, Any], uow: UnitOfWork, *, invitation_id: str, token: str, tenant_name: str
) -> str:
    settings: Settings = ctx["settings"]
    mailer: Mailer = ctx["mailer"]
    row = await uow.session.get(Invitation, uuid.UUID(invitation_id))
    if row is None or row.accepted_at is not None or row.revoked_at is not None:
        return "skipped: invitation no longer pending"
    mail = Mail(
        to=row.email,
        subject=f"You are invited to {tenant_name} on Tandem",
        text=(
            f"You have been invited to join {tenant_name} on Tandem as {row.role}.\n\n"
            f"Accept the invitation: {settings.base_url}/invite/{token}\n\n"
            f"The link expires on {row.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        ),
    )
    return await mailer.send(mail)
