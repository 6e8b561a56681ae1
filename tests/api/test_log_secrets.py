"""Logs see every request but never a password or a token."""

from __future__ import annotations

import logging

from tests.api.helpers import new_email
from tests.conftest import unique


def _texts(records: list[logging.LogRecord]) -> list[str]:
    out = []
    for record in records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        out.append(repr(record.msg))
        out.append(record.exc_text or "")
        out.append(repr({k: v for k, v in vars(record).items() if k not in {"msg", "args", "exc_info"}}))
    return out


async def test_signup_login_and_failures_leave_no_secret_in_logs(client, caplog) -> None:
    password = f"Sekrit-{unique('pw')}-Zz9"
    wrong = f"Wrong-{unique('pw')}-Qq7"
    invite_password = f"Invitee-{unique('pw')}-Kk3"
    email = new_email("logged")
    caplog.set_level(logging.DEBUG)

    signup = await client.post("/api/v1/signup", json={"company_name": "Logged Co", "email": email,
                                                       "password": password, "slug": unique("logged")})
    assert signup.status_code == 201, signup.text
    slug = signup.json()["tenant"]["slug"]
    login = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert login.status_code == 200
    failed = await client.post("/api/v1/auth/token", json={"email": email, "password": wrong})
    assert failed.status_code == 401
    token = login.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    key = await client.post(f"/api/v1/t/{slug}/api-keys", json={"name": "k", "role": "viewer"}, headers=auth)
    invitation = await client.post(f"/api/v1/t/{slug}/invitations",
                                   json={"email": new_email("guest"), "role": "viewer"}, headers=auth)
    accepted = await client.post("/api/v1/invitations/accept",
                                 json={"token": invitation.json()["token"], "password": invite_password})
    assert accepted.status_code == 200
    reset = await client.post("/api/v1/auth/password-reset/confirm",
                              json={"token": "tdm_pr_bogus", "password": password})
    assert reset.status_code == 422
    bad = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
    assert bad.status_code == 401

    secrets = {password, wrong, invite_password, token, signup.json()["access_token"], key.json()["secret"],
               invitation.json()["token"], f"{token}x"}
    texts = _texts(caplog.records)
    # The capture really saw the traffic (otherwise this test would prove nothing).
    assert any("/api/v1/signup" in t for t in texts)
    assert any("/api/v1/auth/token" in t and "401" in t for t in texts)
    for secret in secrets:
        leaks = [t for t in texts if secret in t]
        assert not leaks, (secret, leaks[:3])
