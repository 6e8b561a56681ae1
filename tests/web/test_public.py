"""Public pages: landing, signup (+ slug fragment), login, logout, companies, language negotiation."""

from __future__ import annotations

import pytest

from tests.api.helpers import execute, fetch, new_email, scalar
from tests.conftest import PASSWORD, unique
from tests.web.conftest import SESSION, assert_page, assert_redirect, lang_of, row_counts


def signup_form(**overrides: str) -> dict[str, str]:
    slug = unique("web")
    form = {"company_name": f"Web {slug}", "slug": slug, "full_name": "Ada Web", "email": new_email("signup"),
            "password": PASSWORD, "plan": "starter"}
    return {**form, **overrides}


async def test_landing_shows_the_plans_and_links_to_signup(browser) -> None:
    page = assert_page(await browser.get("/"), 200, "Plans", 'href="/signup"', 'href="/login"')
    assert lang_of(await browser.get("/")) == "en"
    assert "/signup?plan=" in page


async def test_signup_creates_company_owner_and_session(browser) -> None:
    assert_page(await browser.get("/signup?plan=team"), 200, "Create your company", 'name="_csrf_token"')
    form = signup_form()
    response = await browser.submit("/signup", data=form)
    assert_redirect(response, f"/t/{form['slug']}/")
    assert browser.session
    assert browser.session.startswith("tdm_at_")
    assert "Welcome to Tandem" in browser.flash(response)
    home = assert_page(await browser.get(f"/t/{form['slug']}/"), 200, form["company_name"], "Ada Web")
    assert "Owner" in home
    rows = await fetch("SELECT m.role, t.name FROM shared.memberships m JOIN shared.users u ON u.id = m.user_id"
                       " JOIN shared.tenants t ON t.id = m.tenant_id WHERE u.email = :e", e=form["email"])
    assert [(r.role, r.name) for r in rows] == [("owner", form["company_name"])]


@pytest.mark.parametrize(
    ("overrides", "status", "field", "summary"),
    [
        ({"email": "not-an-email"}, 422, "email", "Invalid email address."),
        ({"password": "short"}, 422, "password", "Password too weak."),
        ({"slug": "admin"}, 422, "slug", "Invalid company address."),
        ({"slug": "Bad Slug!"}, 422, "slug", "Invalid company address."),
        ({"company_name": "x"}, 422, "company_name", "Invalid company name."),
    ],
)
async def test_signup_errors_show_on_their_field_and_write_nothing(browser, overrides, status, field,
                                                                   summary) -> None:
    before = await row_counts()
    form = signup_form(**overrides)
    page = assert_page(await browser.submit("/signup", data=form), status, summary)
    assert f'id="e-{field}"' in page
    assert browser.session is None
    # The form comes back filled in, except the password.
    assert f'value="{form["full_name"]}"' in page
    assert PASSWORD not in page
    assert await row_counts() == before


async def test_signup_with_a_taken_slug_creates_no_user(browser, alpha) -> None:
    form = signup_form(slug=alpha.slug)
    before = await row_counts()
    page = assert_page(await browser.submit("/signup", data=form), 409, "That company address is taken.")
    assert 'id="e-slug"' in page
    assert await scalar("SELECT count(*) FROM shared.users WHERE email = :e", e=form["email"]) == 0
    assert await row_counts() == before


async def test_slug_fragment_says_free_taken_reserved_or_suggests(browser, alpha) -> None:
    free = await browser.get("/signup/slug", params={"slug": unique("free")})
    assert free.status_code == 200
    assert "is available." in free.text
    assert "<html" not in free.text  # a fragment for htmx, not a page
    taken = await browser.get("/signup/slug", params={"slug": alpha.slug})
    assert "is taken" in taken.text
    for bad in ("admin", "-x-", "a_b"):
        assert "Use 3-40 lowercase letters" in (await browser.get("/signup/slug", params={"slug": bad})).text
    suggested = await browser.get("/signup/slug", params={"company_name": "Blue Whale Trading"})
    assert "Suggested address:" in suggested.text
    assert "/t/blue-whale-trading/" in suggested.text
    assert (await browser.get("/signup/slug")).text.strip() == ""


async def test_login_then_follow_next_or_go_to_companies(browser, company) -> None:
    assert_page(await browser.get("/login?next=/profile"), 200, 'name="next" value="/profile"')
    response = await browser.submit("/login", data={"email": company.email.upper(), "password": PASSWORD,
                                                    "next": f"/t/{company.slug}/members"})
    assert_redirect(response, f"/t/{company.slug}/members")
    assert browser.session
    assert_page(await browser.get(f"/t/{company.slug}/members"), 200, company.email)


async def test_login_never_redirects_off_site(new_browser, company) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        b = new_browser()
        response = await b.submit("/login", data={"email": company.email, "password": PASSWORD, "next": target})
        assert_redirect(response, "/companies")


async def test_wrong_password_or_bad_email_shows_an_error_and_no_session(browser, company) -> None:
    before = await scalar("SELECT count(*) FROM shared.access_tokens WHERE user_id = :u", u=company.user_id)
    wrong = await browser.submit("/login", data={"email": company.email, "password": "Not-The-Password-1"})
    page = assert_page(wrong, 401, "Wrong email or password.")
    assert f'value="{company.email}"' in page
    bad = await browser.submit("/login", data={"email": "nobody@", "password": PASSWORD})
    assert_page(bad, 401, "Wrong email or password.")
    assert browser.session is None
    assert await scalar("SELECT count(*) FROM shared.access_tokens WHERE user_id = :u", u=company.user_id) == before


async def test_logout_revokes_the_session(new_browser, company) -> None:
    b = new_browser()
    await b.submit("/login", data={"email": company.email, "password": PASSWORD})
    token = b.session
    assert token
    assert (await b.get(f"/t/{company.slug}/")).status_code == 200
    response = await b.submit(f"/t/{company.slug}/", "/logout")
    assert_redirect(response, "/login")
    assert "You are logged out." in b.flash(response)
    assert b.session is None
    # The old cookie, replayed by anyone, no longer works.
    replay = new_browser().sign_in(token)
    assert_redirect(await replay.get(f"/t/{company.slug}/"), f"/login?next=/t/{company.slug}")
    assert_redirect(await replay.get("/companies"), "/login?next=/companies")


async def test_companies_lists_memberships_or_goes_straight_to_the_only_one(browser, owner, company,
                                                                            member_of, alpha) -> None:
    assert_redirect(await browser.get("/companies"), "/login?next=/companies")
    assert_redirect(await owner.get("/companies"), f"/t/{company.slug}/")
    page = assert_page(await owner.get("/companies?all=1"), 200, company.tenant.name, "Owner", "Active")
    assert f'href="/t/{company.slug}/"' in page
    # A second membership: the chooser lists both.
    await execute("INSERT INTO shared.memberships (id, tenant_id, user_id, role) VALUES (gen_random_uuid(), :t, :u,"
                  " 'viewer')", t=alpha.tenant.id, u=company.user_id)
    both = assert_page(await owner.get("/companies"), 200, company.tenant.name, alpha.tenant.name, "Viewer")
    assert f'href="/t/{alpha.slug}/"' in both


async def test_language_from_accept_language_cookie_or_profile(new_browser, company) -> None:
    anonymous = new_browser()
    assert lang_of(await anonymous.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})) == "ru"
    assert lang_of(await anonymous.get("/login", headers={"Accept-Language": "ja"})) == "ja"
    assert lang_of(await anonymous.get("/", headers={"Accept-Language": "de-DE"})) == "en"
    # The footer switcher: a cookie for visitors, the profile for users.
    response = await anonymous.submit("/", "/language", data={"language": "ja", "next": "/signup"})
    assert_redirect(response, "/signup")
    assert lang_of(await anonymous.get("/", headers={"Accept-Language": "ru"})) == "ja"
    await execute("UPDATE shared.users SET locale = 'ko' WHERE id = :u", u=company.user_id)
    user = new_browser().sign_in(company.token)
    assert lang_of(await user.get(f"/t/{company.slug}/", headers={"Accept-Language": "ru"})) == "ko"
    assert lang_of(await user.get("/profile", headers={"Accept-Language": "ru"})) == "ko"
    await user.submit("/profile", "/language", data={"language": "ru", "next": "/profile"})
    assert await scalar("SELECT locale FROM shared.users WHERE id = :u", u=company.user_id) == "ru"
    # An unknown language changes nothing.
    await user.submit("/profile", "/language", data={"language": "xx", "next": "/profile"})
    assert await scalar("SELECT locale FROM shared.users WHERE id = :u", u=company.user_id) == "ru"


async def test_unknown_page_is_a_friendly_404(browser) -> None:
    page = assert_page(await browser.get("/no-such-page"), 404, "Page not found", "Reference:")
    assert SESSION not in page
