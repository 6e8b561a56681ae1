"""Shared pieces of the interaction, task and timeline tests: records made through the real API, row counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from backend.api.crm_interactions import InteractionController
from backend.api.crm_tasks import TaskController
from backend.api.crm_timeline import TimelineController
from backend.app import create_app
from tests.api.helpers import execute, fetch, hosted, scalar

ROUTES = (("/api/v1/t/{tenant_slug:str}/interactions", InteractionController),
          ("/api/v1/t/{tenant_slug:str}/tasks", TaskController),
          ("/api/v1/t/{tenant_slug:str}/accounts/{account_id:uuid}/timeline", TimelineController))


async def hosted_api(settings: Any, database: Any, client_ip: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database)
    for prefix, controller in ROUTES:
        if not any(route.path.startswith(prefix) for route in app.routes):  # app.py may register them already
            app.register(controller)
    async with hosted(app, client_ip, database) as client:
        yield client


def base(company: Any, resource: str) -> str:
    return f"/api/v1/t/{company.slug}/{resource}"


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_account(api: httpx.AsyncClient, company: Any, auth: dict[str, str] | None = None,
                       **fields: Any) -> dict[str, Any]:
    return await created(await api.post(base(company, "accounts"), headers=auth or company.auth,
                                         json={"name": "Hanbit Trading", **fields}))


async def make_contact(api: httpx.AsyncClient, company: Any, account: dict[str, Any] | None,
                       auth: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"full_name": "Kim Minji", **({"account_id": account["id"]} if account else {}), **fields}
    return await created(await api.post(base(company, "contacts"), headers=auth or company.auth, json=body))


async def make_deal(api: httpx.AsyncClient, company: Any, account: dict[str, Any],
                    auth: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    return await created(await api.post(base(company, "deals"), headers=auth or company.auth,
                                        json={"title": "Forklift fleet", "account_id": account["id"], **fields}))


async def make_interaction(api: httpx.AsyncClient, company: Any, account: dict[str, Any],
                           auth: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"kind": "note", "account_id": account["id"], "body": "Talked about the spring order", **fields}
    return await created(await api.post(base(company, "interactions"), headers=auth or company.auth, json=body))


async def make_task(api: httpx.AsyncClient, company: Any, auth: dict[str, str] | None = None,
                    **fields: Any) -> dict[str, Any]:
    return await created(await api.post(base(company, "tasks"), headers=auth or company.auth,
                                        json={"title": "Call back", **fields}))


async def counts(company: Any, *tables: str) -> tuple[int, ...]:
    schema = company.tenant.schema
    return tuple([await scalar(f'SELECT count(*) FROM "{schema}".{table}') for table in tables])


async def set_user_zone(user_id: Any, zone: str) -> None:
    assert await execute("UPDATE shared.users SET timezone = :z WHERE id = :i", z=zone, i=user_id) == 1


async def audit_actions(company: Any, record_type: str, record_id: str) -> list[str]:
    rows = await fetch(f'SELECT action FROM "{company.tenant.schema}".audit_log'
                       " WHERE record_type = :t AND record_id = :r ORDER BY id", t=record_type, r=record_id)
    return [r.action for r in rows]
