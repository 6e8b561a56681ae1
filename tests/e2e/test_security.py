"""What the browser must not get away with: forms without a CSRF token, other companies' pages."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect
from sqlalchemy import select

from backend.db.database import Database
from backend.domains.identity.models import Invitation
from tenants.registry import registry
from tenants.scope import shared_scope
from tests.conftest import unique
from tests.e2e.conftest import NewContext
from tests.e2e.flows import sign_up

# Builds a form in the page, like a forged or stale form would arrive, and submits it (a navigation).
SUBMIT_FORM = """([action, fields]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = action;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden'; input.name = name; input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""

FETCH_POST = """async ([action, fields]) => {
  const response = await fetch(action, {method: 'POST', credentials: 'same-origin',
                                        body: new URLSearchParams(fields)});
  return response.status;
}"""


async def _invitations(database: Database, slug: str, email: str) -> int:
    tenant = await registry.by_slug(slug, database=database)
    assert tenant is not None
    async with shared_scope(database=database) as uow:
        rows = await uow.session.execute(
            select(Invitation).where(Invitation.tenant_id == tenant.id, Invitation.email == email))
        return len(rows.scalars().all())


async def _submit(page: Page, action: str, fields: dict[str, str]) -> int:
    async with page.expect_navigation() as navigation:
        await page.evaluate(SUBMIT_FORM, [action, fields])
    response = await navigation.value
    assert response is not None
    return response.status


async def test_form_post_without_csrf_token_is_refused(new_context: NewContext, database: Database) -> None:
    page = await (await new_context()).new_page()
    company = await sign_up(page, label="Csrf")
    members = f"/t/{company.slug}/members"
    action = f"{members}/invite"
    email = f"{unique('forged')}@example.com"
    await page.goto(members)

    # A form without _csrf_token, posted with the owner's session cookie: 403, nothing created.
    status = await _submit(page, action, {"email": email, "role": "rep"})
    assert status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await expect(page.get_by_role("main")).to_contain_text("Your form expired or came from another site.")
    await expect(page.locator("#invite-link")).to_have_count(0)

    # The same through fetch (cookies included, no token in body or header).
    assert await page.evaluate(FETCH_POST, [action, {"email": email, "role": "rep"}]) == 403

    await page.goto(members)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    await expect(page.get_by_text(email)).to_have_count(0)
    assert await _invitations(database, company.slug, email) == 0

    # Control: the very same JS-built form with the page's token is accepted, so the token was the reason.
    token = await page.locator(f"form[action='{action}'] input[name=_csrf_token]").input_value()
    assert token
    status = await _submit(page, action, {"email": email, "role": "rep", "_csrf_token": token})
    assert status == 201
    await expect(page.locator("#invite-link")).to_contain_text("/invite/")
    assert await _invitations(database, company.slug, email) == 1


async def test_member_of_one_company_gets_404_for_another(new_context: NewContext) -> None:
    page_a = await (await new_context()).new_page()
    page_b = await (await new_context()).new_page()
    company_a = await sign_up(page_a, label="Alpha")
    company_b = await sign_up(page_b, label="Bravo")

    # B's own pages work for B (so a 404 for A is about A, not a broken company).
    response = await page_b.goto(f"/t/{company_b.slug}/members")
    assert response is not None
    assert response.status == 200
    await expect(page_b.get_by_role("main")).to_contain_text(company_b.email)

    unknown = await page_a.goto(f"/t/{unique('no-such-co')}/")
    assert unknown is not None
    assert unknown.status == 404
    await expect(page_a.get_by_role("heading", level=1)).to_have_text("Page not found")
    not_found_text = re.sub(r"Reference: \S+", "", await page_a.get_by_role("main").inner_text())

    for path in (f"/t/{company_b.slug}/", f"/t/{company_b.slug}/members"):
        response = await page_a.goto(path)
        assert response is not None
        assert response.status == 404, path
        await expect(page_a.get_by_role("heading", level=1)).to_have_text("Page not found")
        body = await page_a.content()
        for secret in (company_b.company_name, company_b.email, company_b.full_name):
            assert secret not in body, f"{path} shows {secret!r} to a member of another company"
        # Indistinguishable from a company that does not exist.
        assert re.sub(r"Reference: \S+", "", await page_a.get_by_role("main").inner_text()) == not_found_text

    # A is still signed in and at home in A.
    await page_a.goto(f"/t/{company_a.slug}/")
    await expect(page_a.locator("header .brand")).to_contain_text(company_a.company_name)
