"""Forgotten password by the web: request page → arq job → real worker → SMTP → link page → new password."""

from __future__ import annotations

import re
import uuid

from backend.app import create_app
from backend.domains.identity import accounts
from backend.kit.secrets import token_digest
from tenants.scope import shared_scope
from tests.api.helpers import execute, fetch, hosted, new_email, scalar
from tests.web.conftest import Browser, assert_page, assert_redirect, row_counts

NEW_PASSWORD = "Recovered-Password-58"
RESET_LINK = re.compile(r"/reset-password/(tdm_pr_[A-Za-z0-9_-]+)")
SENT = "If the address has an account, a reset link is on its way."
INVALID = "This reset link is invalid or has expired."
CSRF_VALUE = re.compile(r'name="_csrf_token" value="[^"]+"')


async def issue_reset(user_id) -> str:
    async with shared_scope() as uow:
        user = await accounts.get_user(uow, user_id)
        assert user is not None
        return (await accounts.issue_password_reset(uow, user, 3600)).secret


async def password_hash(user_id) -> str:
    return str(await scalar("SELECT password_hash FROM shared.users WHERE id = :u", u=user_id))


async def test_reset_by_mail_end_to_end(new_browser, company, smtp, run_worker) -> None:
    inbox, _ = smtp
    ghost = new_email("ghost")
    visitor = new_browser()
    assert_page(await visitor.get("/login"), 200, 'href="/password-reset"')
    assert_page(await visitor.get("/password-reset"), 200, "Reset your password")
    known = await visitor.submit("/password-reset", data={"email": company.email.upper()})
    unknown = await visitor.submit("/password-reset", data={"email": ghost})
    # The same answer either way: the page does not reveal who has an account.
    assert known.status_code == unknown.status_code == 200
    assert SENT in known.text
    assert CSRF_VALUE.sub("", known.text) == CSRF_VALUE.sub("", unknown.text)
    older_session = new_browser().sign_in(company.token)

    await run_worker()

    assert inbox.to(ghost) == []
    mails = inbox.to(company.email)
    assert len(mails) == 1
    found = RESET_LINK.findall(mails[0].get_content())
    assert len(set(found)) == 1, mails[0].get_content()
    token = found[0]
    assert await scalar("SELECT count(*) FROM shared.password_resets WHERE token_hash = :h",
                        h=token_digest(token)) == 1

    link = await visitor.get(f"/reset-password/{token}")
    assert_page(link, 200, "Choose a new password", "New password")
    assert link.headers["cache-control"] == "no-store"
    assert link.headers["referrer-policy"] == "no-referrer"
    weak = await visitor.submit(f"/reset-password/{token}", data={"password": "short"})
    assert 'id="e-password"' in assert_page(weak, 422, "Password too weak.")
    assert await scalar("SELECT used_at FROM shared.password_resets WHERE token_hash = :h",
                        h=token_digest(token)) is None  # a failed attempt keeps the link usable

    done = await visitor.submit(f"/reset-password/{token}", data={"password": NEW_PASSWORD})
    assert_redirect(done, "/login")
    assert "Your password was changed." in visitor.flash(done)
    # Sessions signed in with the old password are gone; the new password logs in.
    assert_redirect(await older_session.get("/profile"), "/login?next=/profile")
    assert_redirect(await visitor.submit("/login", data={"email": company.email, "password": NEW_PASSWORD}),
                    "/companies")
    # The link worked once.
    again = await new_browser().submit(f"/reset-password/{token}", data={"password": "Third-Password-Try-1"})
    page = assert_page(again, 422, INVALID, "Ask for a new link")
    assert 'name="password"' not in page


async def test_malformed_email_is_pointed_out_and_nothing_is_queued(browser) -> None:
    response = await browser.submit("/password-reset", data={"email": "not an email"})
    page = assert_page(response, 422, "Invalid email address.")
    assert 'id="e-email"' in page
    assert 'value="not an email"' in page
    assert SENT not in page


async def test_expired_or_unknown_reset_link_is_refused(browser, company) -> None:
    token = await issue_reset(company.user_id)
    assert await execute("UPDATE shared.password_resets SET expires_at = now() - interval '1 second'"
                         " WHERE token_hash = :h", h=token_digest(token)) == 1
    before_hash, before_rows = await password_hash(company.user_id), await row_counts()
    for candidate in (token, "tdm_pr_unknown", "%27%3B%20DROP%20TABLE%20shared.users%3B--"):
        response = await browser.submit(f"/reset-password/{candidate}", data={"password": NEW_PASSWORD})
        assert_page(response, 422, INVALID)
    assert await password_hash(company.user_id) == before_hash
    assert await row_counts() == before_rows
    assert (await browser.get(f"/t/{company.slug}/")).status_code == 303  # no session was started


async def test_a_used_link_is_refused_and_a_signed_in_browser_is_signed_out(owner, company, new_browser) -> None:
    token = await issue_reset(company.user_id)
    done = await owner.submit(f"/reset-password/{token}", data={"password": NEW_PASSWORD})
    assert_redirect(done, "/login")
    assert owner.session is None  # its session was revoked with the old password, the cookie goes too
    assert (await fetch("SELECT used_at FROM shared.password_resets WHERE token_hash = :h",
                        h=token_digest(token)))[0].used_at is not None
    changed = await password_hash(company.user_id)
    reused = await new_browser().submit(f"/reset-password/{token}", data={"password": "Attacker-Choice-99"})
    assert_page(reused, 422, INVALID)
    assert await password_hash(company.user_id) == changed


async def test_reset_requests_are_limited_per_network(settings, database, company) -> None:
    limited = create_app(settings.with_overrides(reset_requests_per_ip_per_hour=2), database=database)
    network = uuid.uuid4().int  # an address of its own: Redis counters live for the whole session
    async with hosted(limited, f"198.18.{network % 256}.{(network >> 8) % 254 + 1}", database) as http:
        visitor = Browser(http)
        for _ in range(2):
            assert SENT in (await visitor.submit("/password-reset", data={"email": company.email})).text
        refused = await visitor.submit("/password-reset", data={"email": company.email})
        page = assert_page(refused, 429, "Too many password reset requests.")
        assert SENT not in page
        assert int(refused.headers["retry-after"]) > 0
