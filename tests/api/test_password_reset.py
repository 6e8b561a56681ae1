"""Password reset end to end: API → arq queue → real Worker → aiosmtplib → local SMTP server → confirm."""

from __future__ import annotations

import re

from backend.domains.identity import accounts
from backend.kit.secrets import token_digest
from tenants.scope import shared_scope
from tests.api.helpers import assert_problem, bearer, error_fields, execute, fetch, new_email
from tests.conftest import PASSWORD

NEW_PASSWORD = "Fresh-Start-Password-31"
RESET_TOKEN = re.compile(r"\btdm_pr_[A-Za-z0-9_-]+")


def reset_token_in(inbox, address: str) -> str:
    mails = inbox.to(address)
    assert len(mails) == 1, [m["Subject"] for m in mails]
    mail = mails[0]
    assert mail["Subject"] == "Reset your Tandem password"
    assert "no-reply@tandem.localhost" in mail["From"]
    found = set(RESET_TOKEN.findall(mail.get_content()))
    assert len(found) == 1, mail.get_content()
    return found.pop()


async def test_reset_by_mail_then_confirm(client, company, smtp, run_worker) -> None:
    inbox, _ = smtp
    ghost = new_email("ghost")
    known = await client.post("/api/v1/auth/password-reset", json={"email": company.email.upper()})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": ghost})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    other_token = (await client.post("/api/v1/auth/token", json={"email": company.email, "password": PASSWORD})
                   ).json()["access_token"]

    await run_worker()

    assert inbox.to(ghost) == []
    token = reset_token_in(inbox, company.email)
    # The database keeps only a digest of what was mailed.
    rows = await fetch("SELECT token_hash, used_at FROM shared.password_resets WHERE user_id = :u",
                       u=company.user_id)
    assert len(rows) == 1
    assert rows[0].used_at is None
    assert rows[0].token_hash == token_digest(token)

    weak = await client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "weak"})
    assert error_fields(assert_problem(weak, 422, "weak_password")) == {"password"}

    done = await client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204, done.text

    old = await client.post("/api/v1/auth/token", json={"email": company.email, "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")
    new = await client.post("/api/v1/auth/token", json={"email": company.email, "password": NEW_PASSWORD})
    assert new.status_code == 200, new.text
    assert (await client.get("/api/v1/me", headers=bearer(new.json()["access_token"]))).status_code == 200
    for stale in (company.token, other_token):
        assert_problem(await client.get("/api/v1/me", headers=bearer(stale)), 401, "invalid_token")

    again = await client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": PASSWORD})
    assert error_fields(assert_problem(again, 422, "invalid_token")) == {"token"}
    assert (await client.post("/api/v1/auth/token", json={"email": company.email, "password": NEW_PASSWORD})
            ).status_code == 200


async def test_other_reset_links_die_with_the_old_password(client, company) -> None:
    async with shared_scope() as uow:
        user = await accounts.get_user(uow, company.user_id)
        assert user is not None
        first = await accounts.issue_password_reset(uow, user, 3600)
        second = await accounts.issue_password_reset(uow, user, 3600)
    used = await client.post("/api/v1/auth/password-reset/confirm",
                             json={"token": second.secret, "password": NEW_PASSWORD})
    assert used.status_code == 204, used.text
    stale = await client.post("/api/v1/auth/password-reset/confirm",
                              json={"token": first.secret, "password": "Attacker-Chosen-99"})
    assert_problem(stale, 422, "invalid_token")
    assert (await client.post("/api/v1/auth/token", json={"email": company.email, "password": NEW_PASSWORD})
            ).status_code == 200


async def test_expired_or_unknown_reset_token_is_refused(client, company) -> None:
    async with shared_scope() as uow:
        user = await accounts.get_user(uow, company.user_id)
        assert user is not None
        issued = await accounts.issue_password_reset(uow, user, 3600)
    assert await execute("UPDATE shared.password_resets SET expires_at = now() - interval '1 second' WHERE id = :i",
                         i=issued.id) == 1
    for token in (issued.secret, "tdm_pr_unknown", "'; DROP TABLE shared.users; --"):
        response = await client.post("/api/v1/auth/password-reset/confirm",
                                     json={"token": token, "password": NEW_PASSWORD})
        assert_problem(response, 422, "invalid_token")
    assert (await client.post("/api/v1/auth/token", json={"email": company.email, "password": PASSWORD})
            ).status_code == 200


async def test_invitation_mail_carries_the_accept_link(client, company, smtp, run_worker) -> None:
    inbox, _ = smtp
    email = new_email("mailed")
    issued = await client.post(f"/api/v1/t/{company.slug}/invitations", json={"email": email, "role": "rep"},
                               headers=company.auth)
    assert issued.status_code == 201, issued.text
    await run_worker()
    mails = inbox.to(email)
    assert len(mails) == 1
    assert mails[0]["Subject"] == f"You are invited to {company.tenant.name} on Tandem"
    assert f"/invite/{issued.json()['token']}" in mails[0].get_content()
    assert "as rep" in mails[0].get_content()
