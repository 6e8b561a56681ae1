"""Structured logs: the access line carries request id, tenant and user; secrets are redacted."""

from __future__ import annotations

import json
import logging

from backend import logs


async def test_access_line_has_request_id_tenant_and_user(client, alpha, capsys) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.configure("INFO", json=True)
        response = await client.get(f"/api/v1/t/{alpha.slug}/members", headers={**alpha.auth,
                                                                             "X-Request-ID": "req-12345678"})
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "req-12345678"
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [e for e in lines if e.get("logger") == "tandem.access" and "/members" in e["event"]]
    assert access, lines
    assert access[-1]["request_id"] == "req-12345678"
    assert access[-1]["tenant"] == alpha.slug
    assert access[-1]["user"] == str(alpha.user_id)


def test_redaction_processor_hides_secret_fields() -> None:
    event = logs._redact(None, "info", {"event": "x", "password": "hunter22", "access_token": "tdm_at_x",
                                         "Authorization": "Bearer y", "tenant": "acme"})
    assert event["password"] == "[redacted]"
    assert event["access_token"] == "[redacted]"
    assert event["Authorization"] == "[redacted]"
    assert event["tenant"] == "acme"


async def test_unmatched_route_gets_matching_request_id_header_and_body(client) -> None:
    response = await client.get("/api/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == response.json()["request_id"]
