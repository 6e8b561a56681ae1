"""The main journey in a real browser: sign up, invite, join, log in again, switch to Korean, log out."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.conftest import unique
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.flows import log_in, sign_up


async def test_signup_invite_join_relogin_and_switch_to_korean(new_context: NewContext,
                                                               live_server: LiveServer) -> None:
    # The owner finds the product and creates a company.
    owner = await (await new_context()).new_page()
    await owner.goto("/")
    await owner.get_by_role("main").get_by_role("link", name="Start free").click()
    await expect(owner).to_have_url(re.compile(r"/signup$"))
    company = await sign_up(owner, open_form=False)
    home = f"/t/{company.slug}/"
    await expect(owner.locator("header .brand")).to_contain_text(company.company_name)
    await expect(owner.get_by_role("main")).to_contain_text(f"at {company.company_name}")
    await expect(owner.get_by_role("status")).to_contain_text("Welcome to Tandem! Your company is ready.")

    # ... invites a colleague as a sales rep and gets the one-time link.
    await owner.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    await expect(owner).to_have_url(re.compile(rf"/t/{company.slug}/members$"))
    colleague_email = f"{unique('rep')}@example.com"
    await owner.get_by_label("Email", exact=True).fill(colleague_email)
    await owner.get_by_label("Role", exact=True).select_option("rep")
    await owner.get_by_role("button", name="Send invitation").click()
    invite_link = owner.locator("#invite-link")
    await expect(invite_link).to_have_text(re.compile(rf"^{re.escape(live_server.url)}/invite/\S+$"))
    await expect(owner.get_by_role("main")).to_contain_text(f"Invitation sent to {colleague_email}.")
    pending = owner.get_by_role("row").filter(has_text=colleague_email)
    await expect(pending).to_contain_text("Sales rep")
    link = (await invite_link.inner_text()).strip()

    # The colleague, in a browser of their own, opens the link and joins.
    colleague = await (await new_context()).new_page()
    await colleague.goto(link)
    await expect(colleague.get_by_role("heading", name="Accept invitation")).to_be_visible()
    await colleague.get_by_label("Your name", exact=True).fill("Rita Rep")
    await colleague.get_by_label("Password", exact=True).fill("Another-Strong-Passphrase-7")
    await colleague.get_by_role("button", name="Join the company").click()
    await expect(colleague).to_have_url(re.compile(rf"{re.escape(home)}$"))
    await expect(colleague.get_by_role("status")).to_contain_text("Welcome aboard! You joined the company.")
    await expect(colleague.get_by_role("heading", level=1)).to_have_text("Welcome, Rita Rep")
    await expect(colleague.get_by_role("main")).to_contain_text(f"You are Sales rep at {company.company_name}.")

    # The owner now sees the colleague as a member, not as a pending invitation.
    await owner.goto(f"{home}members")
    member_row = owner.get_by_role("row").filter(has_text=colleague_email)
    await expect(member_row).to_have_count(1)
    await expect(member_row).to_contain_text("Rita Rep")
    await expect(owner.get_by_role("heading", name="Pending invitations")).to_have_count(0)

    # The colleague logs out and back in with email and password.
    await colleague.get_by_role("button", name="Log out").click()
    await expect(colleague).to_have_url(re.compile(r"/login$"))
    await expect(colleague.get_by_role("status")).to_contain_text("You are logged out.")
    await log_in(colleague, colleague_email, "Another-Strong-Passphrase-7")
    await expect(colleague).to_have_url(re.compile(rf"{re.escape(home)}$"))  # one company: straight in
    await expect(colleague.locator("header .brand")).to_contain_text(company.company_name)

    # Profile → 한국어 → Save: the interface switches to Korean.
    await colleague.get_by_role("link", name="Profile").click()
    await expect(colleague.get_by_role("heading", level=1)).to_have_text("Profile")
    await colleague.get_by_role("combobox", name="Language", exact=True).select_option("ko")
    await colleague.get_by_role("button", name="Save", exact=True).click()
    await expect(colleague.locator("html")).to_have_attribute("lang", "ko")
    await expect(colleague.locator("#f-locale")).to_have_value("ko")
    await colleague.goto(home)
    await expect(colleague.locator("html")).to_have_attribute("lang", "ko")
    account_nav = colleague.locator("header nav")
    await expect(account_nav.get_by_role("button", name="로그아웃")).to_be_visible()
    await expect(colleague.get_by_role("navigation").get_by_role("link", name="구성원")).to_be_visible()

    # 로그아웃 ends the session: the company's pages now send the visitor to the login page.
    await account_nav.get_by_role("button", name="로그아웃").click()
    await expect(colleague).to_have_url(re.compile(r"/login$"))
    await expect(colleague.locator("form[action='/login'] input[name=email]")).to_be_visible()
    await colleague.goto(home)
    await expect(colleague).to_have_url(re.compile(rf"/login\?next={re.escape(home.rstrip('/'))}/?$"))
    await expect(colleague.locator("form[action='/login'] input[name=password]")).to_be_visible()
