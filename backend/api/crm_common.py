"""Shared pieces of the CRM API: the actor, ETags, If-Match, field maps of partial bodies."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response

from backend.api.context import ROLES_OPT, TenantContext
from backend.domains.crm.visibility import CrmActor
from backend.domains.identity.roles import EVERYONE
from backend.kit.errors import FieldError, Invalid

# Every member may call; the CRM services decide what each role sees and edits (crm/visibility.py).
CRM_ROUTE = {ROLES_OPT: EVERYONE, "module": "crm"}
_IF_MATCH = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def crm_actor(ctx: TenantContext) -> CrmActor:
    return CrmActor(role=ctx.actor.role, user_id=ctx.actor.user_id, api_key_id=ctx.actor.api_key_id)


def etag(version: int) -> str:
    return f'W/"{version}"'


def etagged(body: Any, version: int, status: int = 200) -> Response[Any]:
    """A record's body with ``ETag: W/"<version>"`` (every CRM read and write answers this way)."""
    return Response(body, status_code=status, headers={"ETag": etag(version)})


def expected_version(request: Request[Any, Any, Any]) -> int | None:
    """The version from If-Match (``W/"3"`` or ``"3"``); None when absent or ``*``."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    found = _IF_MATCH.fullmatch(raw.strip())
    if found is None:
        raise Invalid("Invalid If-Match header.", [FieldError("If-Match", 'an ETag such as W/"3"')])
    return int(found.group(1))


def provided(body: msgspec.Struct) -> dict[str, Any]:
    """Only the fields the client sent (UNSET ones are left out): PATCH semantics."""
    return {f: getattr(body, f) for f in body.__struct_fields__ if getattr(body, f) is not msgspec.UNSET}
