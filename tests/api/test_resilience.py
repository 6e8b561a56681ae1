"""A committed write stays a success when the queue is down; names cannot smuggle headers."""

from __future__ import annotations

import pytest

from backend.kit import jobs
from tests.api.helpers import assert_problem, new_email, scalar


async def test_queue_outage_after_commit_does_not_fail_the_request(client, company) -> None:
    sent_before = jobs.current_job_sender()

    async def broken(_jobs) -> None:
        raise ConnectionError("redis is down")

    jobs.set_job_sender(broken)
    try:
        response = await client.post(f"/api/v1/t/{company.slug}/invitations", headers=company.auth,
                                     json={"email": "queue-outage@example.com", "role": "rep"})
    finally:
        jobs.set_job_sender(sent_before)
    assert response.status_code == 201, response.text
    stored = await scalar("SELECT count(*) FROM shared.invitations WHERE tenant_id = :t AND email = :e",
                          t=company.tenant.id, e="queue-outage@example.com")
    assert stored == 1


@pytest.mark.parametrize(("field", "value"), [("company_name", "Evil\r\nBcc: all@example.com"),
                                              ("full_name", "Mallory\nX-Header: 1")])
async def test_names_with_line_breaks_are_refused(client, field, value) -> None:
    body = {"company_name": "Fine Company", "email": new_email("crlf"), "password": "Correct-Horse-Battery-9",
            field: value}
    response = await client.post("/api/v1/signup", json=body)
    problem = assert_problem(response, 422)
    assert field in {e["field"] for e in problem["errors"]}


async def test_signups_and_reset_requests_are_limited_per_ip(settings, database) -> None:
    from backend.app import create_app
    from tests.api.helpers import hosted

    strict = settings.with_overrides(signups_per_ip_per_hour=2, reset_requests_per_ip_per_hour=2)
    async with hosted(create_app(strict, database=database), "198.51.100.77", database) as c:
        made = [await c.post("/api/v1/signup", json={"company_name": f"Limited {i}", "email": new_email("lim"),
                                                     "password": "Correct-Horse-Battery-9"}) for i in range(3)]
        assert [r.status_code for r in made[:2]] == [201, 201]
        limited = assert_problem(made[2], 429, "rate_limited")
        assert "Retry-After" in made[2].headers
        assert limited["detail"].startswith("Too many new companies")
        resets = [await c.post("/api/v1/auth/password-reset", json={"email": new_email("r")}) for _ in range(3)]
        assert [r.status_code for r in resets] == [202, 202, 429]
