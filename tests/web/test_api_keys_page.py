"""The API keys page: list, create (secret shown once, and it works on the API), revoke; role limits."""

from __future__ import annotations

import re

from backend.kit.secrets import token_digest
from tests.api.helpers import fetch, scalar
from tests.web.conftest import assert_page, assert_redirect, audit_rows, row_counts

SECRET = re.compile(r'id="key-secret">(tdm_sk_[A-Za-z0-9_-]+)<')


async def create_key(browser, slug: str, name: str, role: str) -> str:
    response = await browser.submit(f"/t/{slug}/api-keys", data={"name": name, "role": role})
    page = assert_page(response, 201, f"API key “{name}” created.", "it is shown only once")
    assert response.headers["cache-control"] == "no-store"
    found = SECRET.search(response.text)
    assert found, page
    return found.group(1)


async def test_owner_creates_uses_lists_and_revokes_a_key(client, owner, company) -> None:
    empty = assert_page(await owner.get(f"/t/{company.slug}/api-keys"), 200, "API keys", "No API keys yet")
    assert 'value="owner"' in empty  # owners may grant every role
    secret = await create_key(owner, company.slug, "Website shop", "manager")
    rows = await fetch("SELECT id, name, role, prefix, key_hash, created_by, revoked_at FROM shared.api_keys"
                       " WHERE tenant_id = :t", t=company.tenant.id)
    assert len(rows) == 1
    key = rows[0]
    assert (key.name, key.role, key.created_by, key.revoked_at) == ("Website shop", "manager", company.user_id, None)
    assert key.key_hash == token_digest(secret)  # only a digest is stored
    assert secret.startswith(key.prefix)

    api = await client.get(f"/api/v1/t/{company.slug}/", headers={"X-API-Key": secret})
    assert api.status_code == 200, api.text
    assert api.json()["your_role"] == "manager"

    listed = assert_page(await owner.get(f"/t/{company.slug}/api-keys"), 200, "Website shop", key.prefix,
                         "Manager", "Active")
    assert secret not in listed  # never shown again
    assert "Never" not in listed  # the API call above was recorded as its last use

    revoked = await owner.submit(f"/t/{company.slug}/api-keys", f"/t/{company.slug}/api-keys/{key.id}/revoke")
    assert_redirect(revoked, f"/t/{company.slug}/api-keys")
    assert "API key revoked." in owner.flash(revoked)
    assert await scalar("SELECT revoked_at FROM shared.api_keys WHERE id = :k", k=key.id) is not None
    assert (await client.get(f"/api/v1/t/{company.slug}/", headers={"X-API-Key": secret})).status_code == 401
    after = assert_page(await owner.get(f"/t/{company.slug}/api-keys"), 200, "Revoked")
    assert f"/api-keys/{key.id}/revoke" not in after
    actions = [r.details for r in await audit_rows(company.tenant.id, "api_key.created")]
    assert actions == [{"name": "Website shop", "role": "manager"}]
    assert len(await audit_rows(company.tenant.id, "api_key.revoked")) == 1


async def test_admin_cannot_create_or_revoke_owner_keys(owner, company, member_of) -> None:
    owner_secret = await create_key(owner, company.slug, "Owner robot", "owner")
    assert owner_secret
    admin, _ = await member_of(company, "admin")
    page = assert_page(await admin.get(f"/t/{company.slug}/api-keys"), 200, "Owner robot")
    assert 'value="owner"' not in page  # not offered
    key_id = await scalar("SELECT id FROM shared.api_keys WHERE tenant_id = :t", t=company.tenant.id)
    assert f"/api-keys/{key_id}/revoke" not in page  # no revoke button for a role above theirs

    before = await row_counts()
    refused = await admin.submit(f"/t/{company.slug}/api-keys", data={"name": "Sneaky", "role": "owner"})
    assert_page(refused, 403, "Your role cannot create a key with that role.")
    assert 'id="key-secret"' not in refused.text
    revoke = await admin.submit(f"/t/{company.slug}/api-keys", f"/t/{company.slug}/api-keys/{key_id}/revoke")
    assert "Your role cannot revoke a key with that role." in admin.flash(revoke)
    assert await row_counts() == before
    assert await scalar("SELECT revoked_at FROM shared.api_keys WHERE id = :k", k=key_id) is None
    # Roles below their own are fine.
    assert await create_key(admin, company.slug, "Reports", "viewer")


async def test_bad_name_or_role_shows_the_form_again_and_creates_nothing(owner, company) -> None:
    before = await row_counts()
    no_name = await owner.submit(f"/t/{company.slug}/api-keys", data={"name": "  ", "role": "viewer"})
    assert 'id="e-name"' in assert_page(no_name, 422, "Invalid key name.")
    too_long = await owner.submit(f"/t/{company.slug}/api-keys", data={"name": "k" * 101, "role": "viewer"})
    assert_page(too_long, 422, "Invalid key name.")
    bad_role = await owner.submit(f"/t/{company.slug}/api-keys", data={"name": "Robot", "role": "god"})
    page = assert_page(bad_role, 422, "Unknown role.")
    assert 'value="Robot"' in page  # the form keeps what was typed
    assert await row_counts() == before


async def test_another_companys_key_cannot_be_revoked_from_here(owner, company, make_company, new_browser) -> None:
    other = await make_company()
    other_owner = new_browser().sign_in(other.token)
    await create_key(other_owner, other.slug, "Theirs", "viewer")
    their_key = await scalar("SELECT id FROM shared.api_keys WHERE tenant_id = :t", t=other.tenant.id)
    response = await owner.submit(f"/t/{company.slug}/api-keys", f"/t/{company.slug}/api-keys/{their_key}/revoke")
    assert "No such API key." in owner.flash(response)
    assert await scalar("SELECT revoked_at FROM shared.api_keys WHERE id = :k", k=their_key) is None
