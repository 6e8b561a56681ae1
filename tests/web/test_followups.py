"""Slug case, post-login destinations after a form post, renames seen at once, full time-zone list."""

from __future__ import annotations

from tests.conftest import PASSWORD, unique


async def test_signup_accepts_an_upper_case_address_as_the_live_check_does(browser, client) -> None:
    slug = unique("Upper").upper()
    response = await browser.submit("/signup", data={"company_name": "Upper Case Co", "slug": slug,
                                                     "email": f"{unique('up')}@example.com", "password": PASSWORD,
                                                     "plan": "starter"})
    assert response.status_code == 303, response.text[:400]
    assert response.headers["location"] == f"/t/{slug.lower()}/"


async def test_anonymous_form_post_sends_login_back_to_the_company_home(browser, company) -> None:
    token = await browser.csrf("/login")
    response = await browser.post(f"/t/{company.slug}/members/invite",
                                  {"email": "x@example.com", "role": "rep", "_csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/t/{company.slug}/"


async def test_rename_is_visible_in_the_header_immediately(owner, company) -> None:
    page = await owner.get(f"/t/{company.slug}/")
    assert f"Company {company.slug}" in page.text
    saved = await owner.submit(f"/t/{company.slug}/settings", data={
        "name": "Renamed Trading Ltd", "base_currency": "EUR", "fiscal_year_start_month": "4", "locale": "en",
        "timezone": "Europe/Berlin"})
    assert saved.status_code == 303, saved.text[:400]
    after = await owner.get(f"/t/{company.slug}/")
    assert "Renamed Trading Ltd" in after.text


async def test_profile_offers_every_iana_time_zone(owner) -> None:
    page = await owner.get("/profile/")
    assert page.status_code == 200
    for zone in ("Asia/Seoul", "America/Argentina/Buenos_Aires", "Pacific/Auckland"):
        assert f'value="{zone}"' in page.text


async def test_brand_link_is_a_real_path_outside_and_inside_a_company(owner, company) -> None:
    outside = await owner.get("/profile/")
    assert 'class="brand" href="/"' in outside.text
    assert 'href="//"' not in outside.text
    inside = await owner.get(f"/t/{company.slug}/")
    assert f'class="brand" href="/t/{company.slug}/"' in inside.text


async def test_error_pages_know_the_signed_in_user(owner, alpha) -> None:
    page = await owner.get(f"/t/{alpha.slug}/")
    assert page.status_code == 404
    assert 'action="/logout"' in page.text  # the signed-in header, not "Log in / Start free"
    assert 'href="/companies"' in page.text
