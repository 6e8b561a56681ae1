"""Report pages and the home dashboard: charts as accessible SVG with the numbers in tables, filters with field
errors, escaping, what each role sees, tenancy and the module switch (dataset: tests/crm/reports_data.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.api.helpers import add_member, execute
from tests.conftest import new_company
from tests.crm.reports_data import Dataset, build
from tests.web.conftest import assert_page

YEAR = "from=2025-01-01&to=2025-12-31"


@pytest.fixture(scope="module")
async def data(settings, database) -> Dataset:
    return await build(await new_company(settings))


def page_of(data: Dataset, path: str) -> str:
    return f"/t/{data.company.slug}/reports/{path}"


def svg_charts(body: str) -> list[str]:
    return re.findall(r"<svg role=\"img\" aria-labelledby=\"([^\"]+)\"", body)


async def test_funnel_page_draws_an_accessible_chart_and_a_table(new_browser, data) -> None:
    maya = new_browser().sign_in(data.members["maya"].token)
    response = await maya.get(page_of(data, f"funnel?{YEAR}"))
    shown = assert_page(response, 200, "Sales funnel", "Qualification", "Negotiation", "57.14%", "28.57%")
    [labels] = svg_charts(response.text)
    assert labels == "funnel-chart-title funnel-chart-desc"
    assert '<title id="funnel-chart-title">' in response.text
    assert '<desc id="funnel-chart-desc">' in response.text
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td>', response.text)
    assert rows == [("Qualification", "7"), ("Proposal", "4"), ("Negotiation", "4"), ("Won", "2")]
    assert f'href="/t/{data.company.slug}/reports"' in shown  # the nav entry
    assert 'value="2025-01-01"' in response.text  # the filter keeps its values
    assert "<script" not in response.text.split("</head>")[1]  # no chart library


async def test_forecast_and_reps_pages_show_the_numbers(new_browser, data) -> None:
    maya = new_browser().sign_in(data.members["maya"].token)
    forecast = await maya.get(page_of(data, "forecast"))
    assert_page(forecast, 200, "EUR", "USD", "849.02", "183.36", "Overdue", "No date", "Later")
    assert len(svg_charts(forecast.text)) == 3  # one chart per currency: EUR, USD and deals without one
    reps = await maya.get(page_of(data, f"reps?{YEAR}&pipeline_id={data.sales}"))
    shown = assert_page(reps, 200, "Rita Rep", "Sam Seller", "Unassigned", "66.67%", "36.5", "45.5", "210.03")
    assert "Win rate per rep" in shown


async def test_abc_xyz_page_escapes_account_names(new_browser, data) -> None:
    maya = new_browser().sign_in(data.members["maya"].token)
    response = await maya.get(page_of(data, "abc-xyz?to=2025-12-31"))
    assert_page(response, 200, "Alpha Steel", "60%", "84%", "3.3166", "Star", "Question mark", "Cash cow")
    assert "Epsilon &lt;b&gt;&amp;Co&lt;/b&gt;" in response.text
    assert "<b>&Co</b>" not in response.text
    assert len(svg_charts(response.text)) == 2  # the ABC x XYZ grid and the share/growth scatter
    assert "AX · 1" in response.text
    assert "CZ · 2" in response.text


async def test_bad_filters_show_the_form_with_reasons(new_browser, data) -> None:
    maya = new_browser().sign_in(data.members["maya"].token)
    response = await maya.get(page_of(data, "abc-xyz?from=2025-12-31&to=2025-01-01&abc=80,15,4&currency=U%24"))
    shown = assert_page(response, 400, "Please correct the report settings.", "must not be after to",
                        "three percentages for A, B and C that add up to 100", "a three-letter currency code")
    assert 'aria-invalid="true"' in response.text
    assert "<svg" not in response.text
    assert "Alpha Steel" not in shown
    assert 'value="80,15,4"' in response.text


async def test_reps_see_only_their_share(new_browser, data) -> None:
    rita = new_browser().sign_in(data.members["rita"].token)
    reps = await rita.get(page_of(data, f"reps?{YEAR}&pipeline_id={data.sales}"))
    shown = assert_page(reps, 200, "Rita Rep", "66.67%")
    assert "Sam Seller" not in shown
    assert "Unassigned" not in shown
    abc = await rita.get(page_of(data, "abc-xyz?to=2025-12-31"))
    shown = assert_page(abc, 200, "Alpha Steel", "78.95%")
    assert "Beta Foods" not in shown
    assert "Zeta Mills" not in shown
    viewer = new_browser().sign_in(data.members["vic"].token)
    assert_page(await viewer.get(page_of(data, f"funnel?{YEAR}")), 200, "57.14%")


async def test_outsiders_get_404_and_a_switched_off_module_hides_reports(new_browser, data, company) -> None:
    stranger = new_browser().sign_in(company.token)
    for path in ("", "funnel", "forecast", "abc-xyz", "reps"):
        assert (await stranger.get(page_of(data, path))).status_code == 404
    anonymous = await new_browser().get(page_of(data, "funnel"))
    assert anonymous.status_code in {302, 303}
    await execute(f'UPDATE "{company.tenant.schema}".company_settings SET modules = \'{{sales}}\'')
    own = new_browser().sign_in(company.token)
    assert (await own.get(f"/t/{company.slug}/reports/funnel")).status_code == 404
    home = await own.get(f"/t/{company.slug}/")
    assert home.status_code == 200
    assert 'id="widget-funnel"' not in home.text


async def test_home_dashboard_widgets(client, new_browser, company) -> None:
    manager = await add_member(company.tenant.id, "manager")
    rep = await add_member(company.tenant.id, "rep")
    await execute("UPDATE shared.users SET full_name = 'Mina <Manager>' WHERE id = :i", i=manager.user_id)
    made = await client.post(f"/api/v1/t/{company.slug}/accounts", headers=manager.auth,
                             json={"name": "Private & Co", "owner_user_id": str(manager.user_id)})
    assert made.status_code == 201, made.text
    deal = await client.post(f"/api/v1/t/{company.slug}/deals", headers=manager.auth, json={
        "title": "Dashboard deal", "account_id": made.json()["id"], "amount": "1200.00", "currency": "EUR"})
    assert deal.status_code == 201, deal.text
    home = await new_browser().sign_in(manager.token).get(f"/t/{company.slug}/")
    shown = assert_page(home, 200, "Pipeline by stage", "Qualification", "1,200", "My tasks", "Recent activity",
                        "Mina <Manager>", "Private & Co", "Dashboard deal")
    assert "Mina &lt;Manager&gt;" in home.text
    assert str(manager.user_id) not in shown  # names, never raw ids
    for widget in ("widget-pipeline", "widget-funnel", "widget-forecast", "widget-my-tasks", "widget-recent"):
        assert f'id="{widget}"' in home.text
    rep_home = await new_browser().sign_in(rep.token).get(f"/t/{company.slug}/")
    rep_shown = assert_page(rep_home, 200, "Recent activity", "Nothing has happened yet.", "Nothing due today.")
    assert "Private & Co" not in rep_shown
    assert "Dashboard deal" not in rep_shown


async def test_my_tasks_widget_lists_overdue_and_today_and_the_task_audit_in_recent_activity(
        client, new_browser, company) -> None:
    rep = await add_member(company.tenant.id, "rep")
    today, long_ago, later = date.today(), date.today() - timedelta(days=40), date.today() + timedelta(days=40)
    for title, due in (("Call <Kim> back", today), ("Send the offer", long_ago), ("Plan Q3", later)):
        made = await client.post(f"/api/v1/t/{company.slug}/tasks", headers=rep.auth,
                                 json={"title": title, "due_date": due.isoformat()})
        assert made.status_code == 201, made.text
    home = await new_browser().sign_in(rep.token).get(f"/t/{company.slug}/")
    widget = home.text.split('id="widget-my-tasks"', 1)[1].split("</section>", 1)[0]
    assert "Call &lt;Kim&gt; back" in widget
    assert "Send the offer" in widget
    assert "Plan Q3" not in widget  # not due yet
    assert widget.index("Send the offer") < widget.index("Call &lt;Kim&gt; back")  # overdue first
    owner_home = await new_browser().sign_in(company.token).get(f"/t/{company.slug}/")
    recent = owner_home.text.split('id="widget-recent"', 1)[1].split("</section>", 1)[0]
    assert "Plan Q3" in recent  # the owner reads every task's audit entry, with its title
    assert "Send the offer" not in owner_home.text.split('id="widget-my-tasks"', 1)[1].split("</section>", 1)[0]
