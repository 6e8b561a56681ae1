"""Who may open what: anonymous → login, other tenants → 404, low roles → 403, forms without CSRF → 403.

Every refused request is also checked to have written nothing.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import execute, fetch
from tests.web.conftest import assert_page, assert_redirect, row_counts
from tests.web.test_settings_page import company_row

TENANT_PAGES = ("/", "/members", "/api-keys", "/settings")
ADMIN_PAGES = ("/api-keys", "/settings")
FAKE = uuid.UUID(int=7)
# Every tenant form: (path under /t/{slug}, form data)
TENANT_FORMS = (
    ("/members/invite", {"email": "x@example.com", "role": "rep"}),
    (f"/members/{FAKE}/role", {"role": "viewer"}),
    (f"/members/{FAKE}/remove", {}),
    (f"/invitations/{FAKE}/revoke", {}),
    ("/api-keys", {"name": "k", "role": "viewer"}),
    (f"/api-keys/{FAKE}/revoke", {}),
    ("/settings", {"name": "Hijacked", "base_currency": "EUR", "fiscal_year_start_month": "2", "locale": "ru",
                   "timezone": "UTC"}),
    ("/settings/modules", {"modules": "bot"}),
)
PUBLIC_FORMS = (
    ("/signup", {"company_name": "Forged Co", "email": "forged@example.com", "password": "Forged-Password-1"}),
    ("/login", {"email": "forged@example.com", "password": "Forged-Password-1"}),
    ("/logout", {}),
    ("/language", {"language": "ru", "next": "/"}),
    ("/invite/tdm_inv_x", {"password": "Forged-Password-1"}),
    ("/password-reset", {"email": "forged@example.com"}),
    ("/reset-password/tdm_pr_x", {"password": "Forged-Password-1"}),
    ("/profile/", {"full_name": "Forged", "locale": "ru", "timezone": "UTC"}),
    ("/profile/password", {"current_password": "x", "new_password": "Forged-Password-1"}),
)


async def snapshot(company) -> tuple[dict[str, int], dict[str, object], list[object]]:
    user = await fetch("SELECT full_name, locale, password_hash FROM shared.users WHERE id = :u", u=company.user_id)
    return await row_counts(), await company_row(company.tenant), list(user[0])


@pytest.mark.parametrize("page", TENANT_PAGES)
async def test_anonymous_is_sent_to_login_with_next(browser, alpha, page) -> None:
    path = f"/t/{alpha.slug}{page}"
    assert_redirect(await browser.get(path), f"/login?next={path.rstrip('/')}")


async def test_anonymous_form_posts_go_to_login_and_write_nothing(browser, company) -> None:
    before = await snapshot(company)
    for action, data in TENANT_FORMS:
        path = f"/t/{company.slug}{action}"
        # after login the browser GETs `next`, so a form post is sent back to the company home
        assert_redirect(await browser.submit("/login", path, data=data), f"/login?next=/t/{company.slug}/")
    assert await snapshot(company) == before


async def test_members_of_another_company_get_404_everywhere(owner, company, alpha) -> None:
    """``owner`` belongs to ``company`` only; alpha's pages and forms do not exist for them."""
    before = await snapshot(alpha)
    for page in TENANT_PAGES:
        response = await owner.get(f"/t/{alpha.slug}{page}")
        shown = assert_page(response, 404, "Page not found")
        assert alpha.tenant.name not in shown
    for action, data in TENANT_FORMS:
        response = await owner.submit("/profile", f"/t/{alpha.slug}{action}", data=data)
        assert_page(response, 404, "Page not found")
    assert await snapshot(alpha) == before
    assert_page(await owner.get("/t/no-such-company-here/"), 404, "Page not found")


@pytest.mark.parametrize("role", ["viewer", "rep", "manager", "accountant", "support"])
async def test_non_admins_get_403_on_admin_pages_and_forms(company, member_of, role) -> None:
    browser, _ = await member_of(company, role)
    for page in ADMIN_PAGES:
        assert_page(await browser.get(f"/t/{company.slug}{page}"), 403, "Your role cannot open this page.")
    before = await snapshot(company)
    for action, data in TENANT_FORMS:
        response = await browser.submit(f"/t/{company.slug}/", f"/t/{company.slug}{action}", data=data)
        assert_page(response, 403, "Your role cannot open this page.")
    assert await snapshot(company) == before
    # The pages every member may see still work, without the admin controls.
    members = assert_page(await browser.get(f"/t/{company.slug}/members"), 200, company.email)
    assert "/members/invite" not in members
    assert f'href="/t/{company.slug}/settings"' not in members


async def test_suspended_company_is_403(owner, company) -> None:
    await execute("UPDATE shared.tenants SET status = 'suspended' WHERE id = :t", t=company.tenant.id)
    assert_page(await owner.get(f"/t/{company.slug}/"), 403, "This company is suspended.")


@pytest.mark.parametrize(("action", "data"), TENANT_FORMS)
async def test_tenant_forms_without_csrf_token_are_403_and_write_nothing(owner, company, action, data) -> None:
    await owner.get(f"/t/{company.slug}/settings")  # the browser holds a CSRF cookie, as a victim would
    before = await snapshot(company)
    for token in (None, "forged" * 20):
        form = {**data, **({"_csrf_token": token} if token else {})}
        response = await owner.post(f"/t/{company.slug}{action}", form)
        assert_page(response, 403, "Your form expired or came from another site.")
    assert await snapshot(company) == before


@pytest.mark.parametrize(("action", "data"), PUBLIC_FORMS)
async def test_public_forms_without_csrf_token_are_403_and_write_nothing(owner, company, action, data) -> None:
    await owner.get("/profile")
    before = await snapshot(company)
    response = await owner.post(action, data)
    assert_page(response, 403, "Your form expired or came from another site.")
    assert await snapshot(company) == before
    assert (await owner.get("/profile")).status_code == 200  # logout without a token did not sign out


async def test_company_name_and_user_input_are_escaped(owner, company, member_of) -> None:
    evil = "<script>alert(1)</script>"
    renamed = await owner.submit(f"/t/{company.slug}/settings", data={
        "name": evil, "base_currency": "USD", "fiscal_year_start_month": "1", "locale": "en", "timezone": "UTC"})
    assert_redirect(renamed, f"/t/{company.slug}/settings")
    await owner.submit(f"/t/{company.slug}/api-keys", data={"name": f"key {evil}", "role": "viewer"})
    await execute("UPDATE shared.users SET full_name = :n WHERE id = :u", n=f"Eve {evil}", u=company.user_id)
    viewer, _ = await member_of(company, "viewer")
    pages = [await owner.get(f"/t/{company.slug}{p}") for p in TENANT_PAGES]
    pages += [await owner.get("/companies?all=1"), await owner.get("/profile"), await viewer.get(f"/t/{company.slug}/")]
    pages.append(await owner.submit(f"/t/{company.slug}/settings", data={
        "name": evil, "base_currency": "NOPE", "fiscal_year_start_month": "1", "locale": "en", "timezone": "UTC"}))
    for response in pages:
        assert response.status_code in (200, 422), response.text[:500]
        assert evil not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
