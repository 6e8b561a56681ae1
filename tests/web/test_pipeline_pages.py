"""Pipeline settings pages without a browser: who may look and who may change, the editor's stage rows (change,
add, move, remove) persisting as the API shows them, refusals shown next to the row with nothing written, a new
pipeline, default and archive, and a stale editor refused with the conflict message."""

from __future__ import annotations

import html
from typing import Any

from tests.web.conftest import Browser, assert_page, assert_redirect
from tests.web.crm_data import api_deal, api_get
from tests.web.html_forms import as_data, form_fields, replace, value

FORM = "pipeline-form"


async def default_pipeline(client, company) -> dict[str, Any]:
    items = (await api_get(client, company, "pipelines"))["items"]
    return next(p for p in items if p["is_default"])


async def pipeline(client, company, pipeline_id: str) -> dict[str, Any]:
    return await api_get(client, company, f"pipelines/{pipeline_id}")


def summary(p: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["name"], s["kind"], s["probability"]) for s in p["stages"]]


async def editor(browser: Browser, company, pipeline_id: str) -> list[tuple[str, str]]:
    """The editor's fields as loaded, with the CSRF token."""
    page = assert_page(await browser.get(f"/t/{company.slug}/pipelines/{pipeline_id}"), 200)
    return form_fields(page, FORM)


async def press(browser: Browser, company, pipeline_id: str, fields: list[tuple[str, str]], action: str):
    return await browser.post(f"/t/{company.slug}/pipelines/{pipeline_id}", as_data([*fields, ("action", action)]))


async def test_managers_edit_everyone_looks_others_are_refused(owner, company, client, member_of) -> None:
    sales = await default_pipeline(client, company)
    listing = assert_page(await owner.get(f"/t/{company.slug}/pipelines/"), 200, "Pipelines", "Sales", "Default",
                          "New pipeline", "Qualification → Proposal → Negotiation → Won → Lost")
    assert f'href="/t/{company.slug}/pipelines/{sales["id"]}"' in listing
    home = await owner.get(f"/t/{company.slug}/")
    assert f'href="/t/{company.slug}/pipelines/"' in home.text  # the navigation link
    settings = assert_page(await owner.get(f"/t/{company.slug}/settings"), 200, "Pipelines", "Custom fields")
    assert f'href="/t/{company.slug}/pipelines/"' in settings

    manager, _ = await member_of(company, "manager")
    page = assert_page(await manager.get(f"/t/{company.slug}/pipelines/{sales['id']}"), 200, "Stage 1", "Add stage")
    assert f'id="{FORM}"' in page
    assert f'href="/t/{company.slug}/pipelines/"' in page
    assert_page(await manager.get(f"/t/{company.slug}/pipelines/new"), 200, "New pipeline", "Create pipeline")

    for role in ("rep", "viewer"):
        browser, _ = await member_of(company, role)
        home = await browser.get(f"/t/{company.slug}/")
        assert f'href="/t/{company.slug}/pipelines/"' not in home.text
        shown = assert_page(await browser.get(f"/t/{company.slug}/pipelines/{sales['id']}"), 200, "Qualification",
                            "Only owners, admins and managers can change pipelines.")
        assert f'id="{FORM}"' not in shown
        assert "New pipeline" not in assert_page(await browser.get(f"/t/{company.slug}/pipelines/"), 200, "Sales")
        assert_page(await browser.get(f"/t/{company.slug}/pipelines/new"), 403, "Your role cannot open this page.")
        fields = await editor(manager, company, sales["id"])
        token = await browser.csrf(f"/t/{company.slug}/")
        tried = await press(browser, company, sales["id"],
                            replace(replace(fields, "name", "Taken over"), "_csrf_token", token), "save")
        assert_page(tried, 403, "Your role cannot open this page.")
        archive = await browser.post(f"/t/{company.slug}/pipelines/{sales['id']}/archive",
                                     {"archived": "1", "_csrf_token": token})
        assert archive.status_code == 403
    assert await default_pipeline(client, company) == sales  # nothing written


async def test_change_add_move_and_remove_stages(owner, company, client) -> None:
    sales = await default_pipeline(client, company)
    here = f"/t/{company.slug}/pipelines/{sales['id']}"
    fields = await editor(owner, company, sales["id"])
    assert value(fields, "s0.name") == "Qualification"
    assert value(fields, "s0.probability") == "10"
    fields = replace(fields, "name", "Direct sales")
    fields = replace(fields, "s1.name", "Offer sent")
    fields = replace(fields, "s1.probability", "35.5")
    fields = replace(fields, "s1.required_fields", "amount", "expected_close_date")
    fields = replace(fields, "s1.checklist", "Send the offer\n\nCall back\n")
    saved = await press(owner, company, sales["id"], fields, "save")
    assert_redirect(saved, here)
    assert "Pipeline saved." in owner.flash(saved)
    stored = await pipeline(client, company, sales["id"])
    assert stored["name"] == "Direct sales"
    offer = stored["stages"][1]
    assert (offer["name"], offer["probability"], offer["required_fields"], offer["checklist"]) == (
        "Offer sent", "35.50", ["amount", "expected_close_date"], ["Send the offer", "Call back"])
    assert stored["version"] == sales["version"] + 1

    fields = await editor(owner, company, sales["id"])
    assert value(fields, "s1.checklist") == "Send the offer\nCall back"
    fields = replace(fields, "new.name", "Demo")
    fields = replace(fields, "new.probability", "50")
    added = await press(owner, company, sales["id"], fields, "add")
    assert_redirect(added, here)
    assert "Stage added." in owner.flash(added)
    stored = await pipeline(client, company, sales["id"])
    assert summary(stored)[-1] == ("Demo", "open", "50.00")

    demo = stored["stages"][-1]
    for step in range(2):  # past Lost and Won
        moved = await press(owner, company, sales["id"], await editor(owner, company, sales["id"]), f"up:{5 - step}")
        assert_redirect(moved, f"{here}#stage-{demo['id']}")
        if step == 0:
            assert [s["name"] for s in (await pipeline(client, company, sales["id"]))["stages"]][4:] == [
                "Demo", "Lost"]
    down = await press(owner, company, sales["id"], await editor(owner, company, sales["id"]), "down:2")
    assert "Stage moved." in owner.flash(down)
    stored = await pipeline(client, company, sales["id"])
    assert [s["name"] for s in stored["stages"]] == ["Qualification", "Offer sent", "Demo", "Negotiation", "Won",
                                                     "Lost"]
    assert [s["position"] for s in stored["stages"]] == [0, 1, 2, 3, 4, 5]

    removed = await press(owner, company, sales["id"], await editor(owner, company, sales["id"]), "remove:3")
    assert_redirect(removed, here)
    assert "Stage removed." in owner.flash(removed)
    stored = await pipeline(client, company, sales["id"])
    assert [s["name"] for s in stored["stages"]] == ["Qualification", "Offer sent", "Demo", "Won", "Lost"]
    assert stored["stages"][2]["id"] == demo["id"]

    unchanged = await press(owner, company, sales["id"], await editor(owner, company, sales["id"]), "save")
    assert "Nothing to change." in owner.flash(unchanged)
    assert (await pipeline(client, company, sales["id"]))["version"] == stored["version"]


async def test_refusals_are_shown_on_their_row_and_nothing_is_written(owner, company, client) -> None:
    sales = await default_pipeline(client, company)
    fields = await editor(owner, company, sales["id"])

    too_likely = await press(owner, company, sales["id"], replace(fields, "s1.probability", "150"), "save")
    page = assert_page(too_likely, 422, "Please correct the highlighted fields.", "out of range")
    assert 'id="e-s1-probability"' in page
    assert 'name="s1.probability" type="text" inputmode="decimal" value="150"' in page  # the input is kept
    nameless = await press(owner, company, sales["id"], replace(fields, "s2.name", "  "), "up:2")
    page = assert_page(nameless, 422, "required")
    assert 'id="e-s2-name"' in page  # the row as the reader left it (not moved)
    empty_new = await press(owner, company, sales["id"], fields, "add")
    assert 'id="e-new-name"' in assert_page(empty_new, 422, "required")
    two_won = await press(owner, company, sales["id"], replace(fields, "s0.kind", "won"), "save")
    assert_page(two_won, 422, "at least one open stage, exactly one won and one lost stage")
    bad_field = await press(owner, company, sales["id"], replace(fields, "s0.required_fields", "title"), "save")
    assert 'id="e-s0-required_fields"' in assert_page(bad_field, 422)
    assert await default_pipeline(client, company) == sales

    deal = await api_deal(client, company, title="Keeps the stage")
    assert deal["stage_id"] == sales["stages"][0]["id"]
    in_use = await press(owner, company, sales["id"], replace(fields, "name", "Renamed meanwhile"), "remove:0")
    page = assert_page(in_use, 409, "A stage that has deals cannot be removed.")
    assert 'id="e-s0-row"' in page
    assert 'value="Renamed meanwhile"' in page
    assert await default_pipeline(client, company) == sales  # neither removed nor renamed


async def test_a_stale_editor_is_refused_with_the_current_state(owner, company, client) -> None:
    sales = await default_pipeline(client, company)
    fields = await editor(owner, company, sales["id"])
    changed = await client.patch(f"/api/v1/t/{company.slug}/pipelines/{sales['id']}", headers=company.auth,
                                 json={"name": "Changed elsewhere"})
    assert changed.status_code == 200, changed.text
    stale = await press(owner, company, sales["id"], replace(fields, "s0.name", "Mine"), "save")
    page = assert_page(stale, 409, "This pipeline was changed by someone else meanwhile.")
    assert 'value="Changed elsewhere"' in page
    assert f'name="version" value="{sales["version"] + 1}"' in page
    stored = await default_pipeline(client, company)
    assert (stored["name"], stored["stages"][0]["name"]) == ("Changed elsewhere", "Qualification")


async def test_new_pipeline_default_and_archive(owner, company, client) -> None:
    new_url = f"/t/{company.slug}/pipelines/new"
    fields = form_fields(assert_page(await owner.get(new_url), 200, "New pipeline"), FORM)
    assert [value(fields, f"s{i}.name") for i in range(5)] == ["Qualification", "Proposal", "Negotiation", "Won",
                                                                "Lost"]
    fields = replace(fields, "name", "Partners")
    fields = replace(fields, "new.name", "Onboarding")
    draft = await owner.post(new_url, as_data([*fields, ("action", "add")]))  # rows change on the form only
    fields = form_fields(assert_page(draft, 200, "not saved yet"), FORM)
    assert value(fields, "s5.name") == "Onboarding"
    draft = await owner.post(new_url, as_data([*fields, ("action", "remove:2")]))
    fields = form_fields(assert_page(draft, 200), FORM)
    assert len((await api_get(client, company, "pipelines"))["items"]) == 1  # nothing written yet

    nameless = await owner.post(new_url, as_data([*replace(fields, "name", ""), ("action", "save")]))
    assert 'id="e-name"' in assert_page(nameless, 422, "required")
    assert len((await api_get(client, company, "pipelines"))["items"]) == 1

    created = await owner.post(new_url, as_data([*fields, ("action", "save")]))
    assert created.status_code == 303, created.text
    assert "Pipeline created." in owner.flash(created)
    partners_id = created.headers["location"].rsplit("/", 1)[1]
    partners = await pipeline(client, company, partners_id)
    assert partners["name"] == "Partners"
    assert not partners["is_default"]
    assert [s["name"] for s in partners["stages"]] == ["Qualification", "Proposal", "Won", "Lost", "Onboarding"]

    made_default = await press(owner, company, partners_id,
                               [*await editor(owner, company, partners_id), ("is_default", "on")], "save")
    assert_redirect(made_default, f"/t/{company.slug}/pipelines/{partners_id}")
    assert (await default_pipeline(client, company))["id"] == partners_id
    assert_page(await owner.get(f"/t/{company.slug}/pipelines/{partners_id}"), 200,
                       "This is the default pipeline", "The default pipeline cannot be archived")

    sales = next(p for p in (await api_get(client, company, "pipelines"))["items"] if p["name"] == "Sales")
    token = await owner.csrf(f"/t/{company.slug}/pipelines/{sales['id']}")
    archived = await owner.post(f"/t/{company.slug}/pipelines/{sales['id']}/archive",
                                {"archived": "1", "version": str(sales["version"]), "_csrf_token": token})
    assert "Pipeline archived." in owner.flash(archived)
    listing = html.unescape((await owner.get(f"/t/{company.slug}/pipelines/")).text)
    assert f'id="pipeline-{partners_id}"' in listing
    assert f'id="pipeline-{sales["id"]}"' not in listing
    with_archived = assert_page(await owner.get(f"/t/{company.slug}/pipelines/?archived=true"), 200, "Archived")
    assert f'id="pipeline-{sales["id"]}"' in with_archived
    refused = await owner.post(f"/t/{company.slug}/pipelines/{partners_id}/archive",
                               {"archived": "1", "_csrf_token": token})
    assert 'id="e-archived"' in assert_page(refused, 422, "the default pipeline cannot be archived")
    assert (await pipeline(client, company, partners_id))["archived_at"] is None
    restored = await owner.post(f"/t/{company.slug}/pipelines/{sales['id']}/archive",
                                {"archived": "0", "_csrf_token": token})
    assert "Pipeline restored." in owner.flash(restored)
    assert (await pipeline(client, company, sales["id"]))["archived_at"] is None
