"""The profile page: preferences (name, language, time zone) and changing the password."""

from __future__ import annotations

import pytest

from backend.domains.identity import accounts
from tenants.scope import shared_scope
from tests.api.helpers import fetch, scalar
from tests.conftest import PASSWORD
from tests.web.conftest import assert_page, assert_redirect, lang_of

NEW_PASSWORD = "Another-Long-Secret-42"


async def prefs(user_id) -> tuple[str, str, str]:
    row = (await fetch("SELECT full_name, locale, timezone FROM shared.users WHERE id = :u", u=user_id))[0]
    return row.full_name, row.locale, row.timezone


async def test_anonymous_is_sent_to_login(browser) -> None:
    assert_redirect(await browser.get("/profile"), "/login?next=/profile")


async def test_preferences_are_saved_and_the_language_follows(owner, company) -> None:
    assert_page(await owner.get("/profile"), 200, "Preferences", "Change password")
    response = await owner.submit("/profile", "/profile/",
                                  data={"full_name": "Kim Min-jun", "locale": "ko", "timezone": "Asia/Seoul"})
    assert_redirect(response, "/profile/")
    assert await prefs(company.user_id) == ("Kim Min-jun", "ko", "Asia/Seoul")
    page = await owner.get("/profile", headers={"Accept-Language": "ru"})
    assert lang_of(page) == "ko"
    assert 'value="Asia/Seoul" selected' in page.text


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({"locale": "xx", "timezone": "UTC"}, "locale", "Choose one of the offered languages."),
        ({"locale": "en", "timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown time zone."),
        ({"locale": "en", "timezone": "../../etc/passwd"}, "timezone", "Unknown time zone."),
        ({"locale": "en", "timezone": "UTC", "full_name": "x" * 201}, "full_name", "At most 200 characters."),
    ],
)
async def test_bad_preferences_are_refused_and_nothing_changes(owner, company, form, field, reason) -> None:
    before = await prefs(company.user_id)
    page = assert_page(await owner.submit("/profile", "/profile/", data={"full_name": "Changed", **form}), 422,
                       "Please correct the highlighted fields.", reason)
    assert 'class="field has-error"' in page
    assert await prefs(company.user_id) == before


async def test_wrong_current_password_changes_nothing(owner, company) -> None:
    before = await scalar("SELECT password_hash FROM shared.users WHERE id = :u", u=company.user_id)
    wrong = await owner.submit("/profile", "/profile/password",
                               data={"current_password": "Wrong-Password-77", "new_password": NEW_PASSWORD})
    assert 'id="e-current_password"' in assert_page(wrong, 422, "Your current password is not correct.")
    weak = await owner.submit("/profile", "/profile/password",
                              data={"current_password": PASSWORD, "new_password": "short"})
    assert 'id="e-new_password"' in assert_page(weak, 422, "Password too weak.")
    assert await scalar("SELECT password_hash FROM shared.users WHERE id = :u", u=company.user_id) == before
    assert (await owner.get("/profile")).status_code == 200  # still signed in


async def test_password_change_signs_out_other_sessions_but_keeps_this_browser(new_browser, company) -> None:
    laptop = new_browser().sign_in(company.token)
    async with shared_scope() as uow:  # a second device, signed in earlier
        user = await accounts.get_user(uow, company.user_id)
        assert user is not None
        phone_token = (await accounts.issue_access_token(uow, user, 3600)).token
    phone = new_browser().sign_in(phone_token)
    assert (await phone.get(f"/t/{company.slug}/")).status_code == 200

    response = await laptop.submit("/profile", "/profile/password",
                                   data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_redirect(response, "/profile/")
    assert "Other sessions were signed out." in laptop.flash(response)
    assert laptop.session
    assert laptop.session != company.token
    assert_page(await laptop.get(f"/t/{company.slug}/"), 200, company.tenant.name)

    assert_redirect(await phone.get(f"/t/{company.slug}/"), f"/login?next=/t/{company.slug}")
    old_cookie = new_browser().sign_in(company.token)
    assert_redirect(await old_cookie.get("/profile"), "/login?next=/profile")
    # The new password works, the old one does not.
    fresh = new_browser()
    assert (await fresh.submit("/login", data={"email": company.email, "password": PASSWORD})).status_code == 401
    assert_redirect(await fresh.submit("/login", data={"email": company.email, "password": NEW_PASSWORD}),
                    "/companies")
