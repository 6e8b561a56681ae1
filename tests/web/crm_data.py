"""Records for the CRM page tests, made through the real API (so services, audit and versions are the real ones)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import execute
from tests.conftest import Company


async def api_account(client: httpx.AsyncClient, company: Company, auth: dict[str, str] | None = None,
                      **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/t/{company.slug}/accounts", headers=auth or company.auth,
                                 json={"name": "Card Co", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def api_deal(client: httpx.AsyncClient, company: Company, account: dict[str, Any] | None = None,
                   auth: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    account = account or await api_account(client, company, auth)
    response = await client.post(f"/api/v1/t/{company.slug}/deals", headers=auth or company.auth,
                                 json={"account_id": account["id"], "title": "Card deal", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def api_get(client: httpx.AsyncClient, company: Company, path: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/t/{company.slug}/{path}", headers=company.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def stages(client: httpx.AsyncClient, company: Company) -> dict[str, dict[str, Any]]:
    """The default pipeline's stages by name (id, kind, probability, required_fields) plus the pipeline id."""
    items = (await api_get(client, company, "pipelines"))["items"]
    default = next(p for p in items if p["is_default"])
    found = {s["name"]: s for s in default["stages"]}
    found["_pipeline"] = default
    return found


async def require_on(client: httpx.AsyncClient, company: Company, stage: str, fields: list[str]) -> None:
    """Make a stage of the default pipeline require deal fields on entry."""
    pipeline = (await stages(client, company))["_pipeline"]
    specs = [{"id": s["id"], "name": s["name"], "kind": s["kind"], "probability": s["probability"],
              "required_fields": fields if s["name"] == stage else s["required_fields"]} for s in pipeline["stages"]]
    response = await client.patch(f"/api/v1/t/{company.slug}/pipelines/{pipeline['id']}", headers=company.auth,
                                  json={"stages": specs})
    assert response.status_code == 200, response.text


async def name_user(user_id: Any, full_name: str) -> None:
    await execute("UPDATE shared.users SET full_name = :n WHERE id = :i", n=full_name, i=user_id)
