"""Tenant home, the members page (invite, role change, remove, revoke invitation) and accepting an invitation."""

from __future__ import annotations

import re

from tests.api.helpers import execute, fetch, new_email, scalar
from tests.conftest import PASSWORD
from tests.web.conftest import assert_page, assert_redirect, audit_rows, row_counts

INVITE_LINK = re.compile(r"/invite/(tdm_inv_[A-Za-z0-9_-]+)")


async def invite(browser, slug: str, email: str, role: str = "rep") -> str:
    """Invite through the members page; returns the token of the one-time link it shows."""
    response = await browser.submit(f"/t/{slug}/members", f"/t/{slug}/members/invite",
                                    data={"email": email, "role": role})
    page = assert_page(response, 201, f"Invitation sent to {email}.")
    found = INVITE_LINK.search(page)
    assert found, page
    return found.group(1)


async def role_of(tenant_id, user_id) -> str | None:
    return await scalar("SELECT role FROM shared.memberships WHERE tenant_id = :t AND user_id = :u",
                        t=tenant_id, u=user_id)


async def test_home_greets_the_member_with_role_modules_and_team(owner, company, member_of) -> None:
    page = assert_page(await owner.get(f"/t/{company.slug}/"), 200, company.tenant.name, "You are Owner",
                       "CRM", "Sales", "Choose modules", company.email)
    assert f'href="/t/{company.slug}/settings"' in page
    rep, member = await member_of(company, "rep")
    rep_home = assert_page(await rep.get(f"/t/{company.slug}/"), 200, "You are Sales rep", member.email)
    assert "Choose modules" not in rep_home
    assert f'href="/t/{company.slug}/api-keys"' not in rep_home


async def test_invite_shows_the_link_queues_the_mail_and_lists_the_invitation(owner, company) -> None:
    email = new_email("invitee")
    token = await invite(owner, company.slug, email, "manager")
    rows = await fetch("SELECT role, accepted_at FROM shared.invitations WHERE tenant_id = :t AND email = :e",
                       t=company.tenant.id, e=email)
    assert [(r.role, r.accepted_at) for r in rows] == [("manager", None)]
    assert token.startswith("tdm_inv_")
    listed = assert_page(await owner.get(f"/t/{company.slug}/members"), 200, "Pending invitations", email)
    assert token not in listed  # the link is shown once, right after inviting


async def test_invite_errors_bad_email_member_already_and_non_grantable_role(company, owner, member_of) -> None:
    before = await row_counts()
    bad = await owner.submit(f"/t/{company.slug}/members", f"/t/{company.slug}/members/invite",
                             data={"email": "nope", "role": "rep"})
    assert 'id="e-email"' in assert_page(bad, 422, "Invalid email address.")
    again = await owner.submit(f"/t/{company.slug}/members", f"/t/{company.slug}/members/invite",
                               data={"email": company.email, "role": "rep"})
    assert_page(again, 409, "That person is already a member.")
    admin, _ = await member_of(company, "admin")
    before = await row_counts()
    owner_role = await admin.submit(f"/t/{company.slug}/members", f"/t/{company.slug}/members/invite",
                                    data={"email": new_email("boss"), "role": "owner"})
    assert_page(owner_role, 403, "Your role cannot invite with that role.")
    # Admins are not even offered the owner role.
    form = (await admin.get(f"/t/{company.slug}/members")).text
    assert 'value="owner"' not in form
    assert await row_counts() == before


async def test_change_role_and_remove_member(owner, company, member_of) -> None:
    _, member = await member_of(company, "rep")
    changed = await owner.submit(f"/t/{company.slug}/members", f"/t/{company.slug}/members/{member.user_id}/role",
                                 data={"role": "manager"})
    assert_redirect(changed, f"/t/{company.slug}/members")
    assert "Role changed." in owner.flash(changed)
    assert await role_of(company.tenant.id, member.user_id) == "manager"
    audit = await audit_rows(company.tenant.id, "member.role_changed")
    assert [(r.actor_user_id, r.details) for r in audit] == [(company.user_id, {"before": "rep", "after": "manager"})]
    removed = await owner.submit(f"/t/{company.slug}/members", f"/t/{company.slug}/members/{member.user_id}/remove")
    assert_redirect(removed, f"/t/{company.slug}/members")
    assert "Member removed." in owner.flash(removed)
    assert await role_of(company.tenant.id, member.user_id) is None
    page = assert_page(await owner.get(f"/t/{company.slug}/members"), 200, "Member removed.", company.email)
    assert member.email not in page


async def test_last_owner_cannot_be_demoted_or_removed(owner, company, member_of) -> None:
    for action, data in (("role", {"role": "admin"}), ("remove", {})):
        response = await owner.submit(f"/t/{company.slug}/members",
                                      f"/t/{company.slug}/members/{company.user_id}/{action}", data=data)
        assert_redirect(response, f"/t/{company.slug}/members")
        assert "A company needs at least one owner." in owner.flash(response)
        assert await role_of(company.tenant.id, company.user_id) == "owner"
    # An admin may not touch an owner at all.
    admin, _ = await member_of(company, "admin")
    response = await admin.submit(f"/t/{company.slug}/members",
                                  f"/t/{company.slug}/members/{company.user_id}/role", data={"role": "viewer"})
    assert "Your role cannot grant or change that role." in admin.flash(response)
    assert await role_of(company.tenant.id, company.user_id) == "owner"


async def test_unknown_role_is_refused(owner, company, member_of) -> None:
    _, member = await member_of(company, "rep")
    response = await owner.submit(f"/t/{company.slug}/members", f"/t/{company.slug}/members/{member.user_id}/role",
                                  data={"role": "emperor"})
    assert "Unknown role." in owner.flash(response)
    assert await role_of(company.tenant.id, member.user_id) == "rep"


async def test_revoke_invitation_kills_the_link(owner, new_browser, company) -> None:
    email = new_email("revoked")
    token = await invite(owner, company.slug, email)
    invitation_id = await scalar("SELECT id FROM shared.invitations WHERE email = :e", e=email)
    response = await owner.submit(f"/t/{company.slug}/members",
                                  f"/t/{company.slug}/invitations/{invitation_id}/revoke")
    assert_redirect(response, f"/t/{company.slug}/members")
    assert "Invitation revoked." in owner.flash(response)
    assert email not in (await owner.get(f"/t/{company.slug}/members")).text
    guest = new_browser()
    refused = await guest.submit(f"/invite/{token}", data={"full_name": "Late", "password": PASSWORD})
    assert_page(refused, 422, "This invitation is invalid or has expired.")
    assert await scalar("SELECT count(*) FROM shared.users WHERE email = :e", e=email) == 0


async def test_accept_invitation_as_a_new_user_then_the_link_is_used_up(owner, new_browser, company) -> None:
    email = new_email("joiner")
    token = await invite(owner, company.slug, email, "accountant")
    guest = new_browser()
    assert_page(await guest.get(f"/invite/{token}"), 200, "Accept invitation", "Choose a password")
    weak = await guest.submit(f"/invite/{token}", data={"full_name": "Joan", "password": "short"})
    assert 'id="e-password"' in assert_page(weak, 422, "Password too weak.")
    assert await scalar("SELECT count(*) FROM shared.users WHERE email = :e", e=email) == 0
    joined = await guest.submit(f"/invite/{token}", data={"full_name": "Joan", "password": PASSWORD})
    assert_redirect(joined, f"/t/{company.slug}/")
    assert "Welcome aboard!" in guest.flash(joined)
    assert_page(await guest.get(f"/t/{company.slug}/"), 200, "Welcome, Joan", "You are Accountant")
    user_id = await scalar("SELECT id FROM shared.users WHERE email = :e", e=email)
    assert await role_of(company.tenant.id, user_id) == "accountant"
    # Used: a second visitor cannot reuse the link.
    before = await row_counts()
    reused = await new_browser().submit(f"/invite/{token}", data={"full_name": "Eve", "password": PASSWORD})
    assert_page(reused, 422, "This invitation is invalid or has expired.")
    assert await row_counts() == before


async def test_signed_in_user_accepts_with_one_click(owner, company, make_company, new_browser) -> None:
    other = await make_company()
    token = await invite(owner, company.slug, other.email, "viewer")
    them = new_browser().sign_in(other.token)
    assert_page(await them.get(f"/invite/{token}"), 200, f"You are signed in as {other.email}.")
    joined = await them.submit(f"/invite/{token}")
    assert_redirect(joined, f"/t/{company.slug}/")
    assert await role_of(company.tenant.id, other.user_id) == "viewer"


async def test_expired_invitation_is_refused_and_creates_nothing(owner, new_browser, company) -> None:
    email = new_email("expired")
    token = await invite(owner, company.slug, email)
    assert await execute("UPDATE shared.invitations SET expires_at = now() - interval '1 second' WHERE email = :e",
                         e=email) == 1
    before = await row_counts()
    response = await new_browser().submit(f"/invite/{token}", data={"full_name": "Old", "password": PASSWORD})
    assert_page(response, 422, "This invitation is invalid or has expired.")
    assert await row_counts() == before
    unknown = await new_browser().submit("/invite/tdm_inv_nonsense", data={"password": PASSWORD})
    assert_page(unknown, 422, "This invitation is invalid or has expired.")
