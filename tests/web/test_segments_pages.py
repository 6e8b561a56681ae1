"""Segment pages without a browser: nav entry, builder with the htmx live count and the no-JavaScript Count button,
errors next to their row, saving dynamic segments and static lists, removing members, CSRF, roles, tenancy."""

from __future__ import annotations

import re

from tests.api.helpers import scalar
from tests.web.conftest import assert_page, assert_redirect

CONSENT = {"email_consent": True, "email_consent_source": "web form"}


async def api_contact(client, company, auth=None, **fields):
    response = await client.post(f"/api/v1/t/{company.slug}/contacts", headers=auth or company.auth,
                                 json={"full_name": "Someone", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def consent_form(token: str, **extra: str) -> dict[str, str]:
    return {"_csrf_token": token, "entity": "contact", "join": "all", "rows": "1",
            "field_0": "email_consent", "op_0": "eq", "value_0": "true", **extra}


async def test_nav_builder_live_count_and_plain_count(owner, company, client) -> None:
    for name in ("Ann Kim", "Boris Ivanov"):
        await api_contact(client, company, full_name=name, email=f"{name.split()[0].lower()}@example.com", **CONSENT)
    await api_contact(client, company, full_name="Chen Wei", email="chen@example.com")
    home = await owner.get(f"/t/{company.slug}/")
    assert f'href="/t/{company.slug}/segments"' in home.text
    assert_page(await owner.get(f"/t/{company.slug}/segments/"), 200, "No segments yet")
    builder_url = f"/t/{company.slug}/segments/new?entity=contact"
    page = assert_page(await owner.get(builder_url), 200, "Add condition", "Count", "Email consent")
    assert 'hx-trigger="change"' in page
    assert f'hx-post="/t/{company.slug}/segments/count"' in page
    assert 'data-count="3"' in page  # an empty builder matches everything

    token = await owner.csrf(builder_url)
    live = await owner.post(f"/t/{company.slug}/segments/count", consent_form(token), headers={"HX-Request": "true"})
    fragment = assert_page(live, 200, "2 matches", "Ann Kim", "Boris Ivanov")
    assert "<html" not in fragment
    assert "Chen Wei" not in fragment
    plain = await owner.post(f"/t/{company.slug}/segments/new", consent_form(token, action="count"))
    shown = assert_page(plain, 200, "2 matches", "Ann Kim")
    assert "<html" in shown
    added = await owner.post(f"/t/{company.slug}/segments/new", consent_form(token, action="add"))
    assert 'name="field_1"' in added.text
    assert 'name="rows" value="2"' in added.text

    bad = await owner.post(f"/t/{company.slug}/segments/count", consent_form(token, value_0="maybe"),
                           headers={"HX-Request": "true"})
    assert_page(bad, 200, "Condition 1", "true or false")
    either = consent_form(token, join="any", rows="2", field_1="has_phone", op_1="eq", value_1="false")
    assert_page(await owner.post(f"/t/{company.slug}/segments/count", either), 200, "3 matches")


async def test_save_dynamic_and_static_then_view_and_remove(owner, company, client) -> None:
    ann = await api_contact(client, company, full_name="Ann Kim", email="ann@example.com", **CONSENT)
    await api_contact(client, company, full_name="Boris Ivanov", email="boris@example.com", **CONSENT)
    builder_url = f"/t/{company.slug}/segments/new?entity=contact"
    token = await owner.csrf(builder_url)
    nameless = await owner.post(f"/t/{company.slug}/segments/new", consent_form(token, action="save", name=""))
    assert_page(nameless, 422, "required")
    saved = await owner.post(f"/t/{company.slug}/segments/new",
                             consent_form(token, action="save", name="Newsletter", kind="dynamic", is_shared="on"))
    assert saved.status_code == 303, re.findall(r"(?:error|alert)[^<]*<[^<]*", saved.text)
    view = assert_page(await owner.get(saved.headers["location"]), 200, "Newsletter", "2 records", "Ann Kim",
                       "Dynamic filter")
    assert "/remove" not in view
    assert_page(await owner.get(f"/t/{company.slug}/segments/"), 200, "Newsletter")

    listed = await owner.post(f"/t/{company.slug}/segments/new",
                              consent_form(token, action="save", name="Call today", kind="static"))
    assert listed.status_code == 303, re.findall(r"(?:error|alert)[^<]*<[^<]*", listed.text)
    static_url = listed.headers["location"]
    page = assert_page(await owner.get(static_url), 200, "Static list", "2 records", "Boris Ivanov")
    assert f'action="{static_url}/remove"' in page
    token = await owner.csrf(static_url)
    assert_redirect(await owner.post(f"{static_url}/remove", {"_csrf_token": token, "record_id": ann["id"]}),
                    static_url)
    after = assert_page(await owner.get(static_url), 200, "1 record")
    assert "Ann Kim" not in after
    assert_redirect(await owner.post(f"{static_url}/archive", {"_csrf_token": token}), f"/t/{company.slug}/segments/")
    assert "Call today" not in (await owner.get(f"/t/{company.slug}/segments/")).text


async def test_csrf_roles_and_tenancy(owner, company, client, member_of, make_company, new_browser) -> None:
    schema = company.tenant.schema
    builder_url = f"/t/{company.slug}/segments/new?entity=account"
    refused = await owner.post(f"/t/{company.slug}/segments/new", {"entity": "account", "rows": "0",
                                                                    "action": "save", "name": "No token"})
    assert refused.status_code == 403
    assert await scalar(f'SELECT count(*) FROM "{schema}".segments') == 0

    viewer, _ = await member_of(company, "viewer")
    page = assert_page(await viewer.get(builder_url), 200, "Count")
    assert "Save segment" not in page
    token = await viewer.csrf(builder_url)
    denied = await viewer.post(f"/t/{company.slug}/segments/new", {"_csrf_token": token, "entity": "account",
                                                                    "rows": "0", "action": "save", "name": "Mine"})
    assert denied.status_code == 403
    assert await scalar(f'SELECT count(*) FROM "{schema}".segments') == 0

    rep, member = await member_of(company, "rep")
    await client.post(f"/api/v1/t/{company.slug}/accounts", headers=company.auth, json={"name": "Private Co"})
    await client.post(f"/api/v1/t/{company.slug}/accounts", headers=member.auth, json={"name": "Rep Co"})
    token = await rep.csrf(builder_url)
    counted = await rep.post(f"/t/{company.slug}/segments/count", {"_csrf_token": token, "entity": "account",
                                                                    "rows": "0"})
    shown = assert_page(counted, 200, "1 match", "Rep Co")
    assert "Private Co" not in shown
    saved = await rep.post(f"/t/{company.slug}/segments/new", {"_csrf_token": token, "entity": "account", "rows": "0",
                                                                "action": "save", "name": "Rep list"})
    segment_id = re.search(r"/segments/([0-9a-f-]{36})$", saved.headers["location"]).group(1)
    other = await make_company()
    stranger = new_browser().sign_in(other.token)
    assert (await stranger.get(f"/t/{other.slug}/segments/{segment_id}")).status_code == 404
    assert (await stranger.get(f"/t/{company.slug}/segments/")).status_code in (403, 404)
