"""API reference rendered on the server from the OpenAPI document: no JavaScript, no CDN."""

from __future__ import annotations

import html
import json
from typing import Any

from litestar import MediaType, Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
.op{border:1px solid #d0d7de;border-radius:6px;margin:.8rem 0;padding:.6rem .9rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}
.get{color:#0a6b2f}.post{color:#0b4fa8}.patch,.put{color:#8a5a00}.delete{color:#a40e26}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:.6rem;overflow:auto}
details summary{cursor:pointer}a{color:#0b4fa8}:focus-visible{outline:3px solid #0b4fa8}
"""


def _params(op: dict[str, Any]) -> str:
    rows = [
        f"<li><code>{html.escape(p.get('name', ''))}</code> ({html.escape(p.get('in', ''))})"
        f"{' — required' if p.get('required') else ''}</li>"
        for p in op.get("parameters", [])
        if isinstance(p, dict)
    ]
    return f"<p>Parameters:</p><ul>{''.join(rows)}</ul>" if rows else ""


def _body(op: dict[str, Any]) -> str:
    content: dict[str, Any] = op.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {}) if content else {}
    schema = first.get("schema")
    if not schema:
        return ""
    return f"<details><summary>Request body</summary><pre>{html.escape(json.dumps(schema, indent=2))}</pre></details>"


def render_reference(schema: dict[str, Any], json_url: str) -> str:
    info = schema.get("info", {})
    by_tag: dict[str, list[str]] = {}
    for path, item in sorted(schema.get("paths", {}).items()):
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            tag = (op.get("tags") or ["other"])[0]
            responses = ", ".join(sorted(op.get("responses", {})))
            by_tag.setdefault(tag, []).append(
                f'<div class="op"><span class="m {method}">{method.upper()}</span> <code>{html.escape(path)}</code>'
                f"<div>{html.escape(op.get('summary', ''))}</div>{_params(op)}{_body(op)}"
                f"<div>Responses: {html.escape(responses)}</div></div>"
            )
    sections = "".join(f"<h2>{html.escape(tag)}</h2>{''.join(ops)}" for tag, ops in sorted(by_tag.items()))
    components = html.escape(json.dumps(schema.get("components", {}).get("schemas", {}), indent=2))
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        f'content="width=device-width,initial-scale=1"><title>{html.escape(info.get("title", "API"))} reference'
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(info.get('title', 'API'))}</h1>"
        f"<p>Version {html.escape(str(info.get('version', '')))} · OpenAPI {html.escape(schema.get('openapi', ''))}"
        f' · <a href="{html.escape(json_url)}">openapi.json</a></p>'
        "<p>Errors are RFC 9457 <code>application/problem+json</code> with <code>code</code> and, for bad "
        "fields, <code>errors[].field</code> / <code>errors[].reason</code>.</p>"
        f"{sections}<h2>Schemas</h2><details><summary>All component schemas</summary><pre>{components}</pre>"
        "</details></body></html>"
    )


class ReferenceRenderPlugin(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path=["/docs", "/"], media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return render_reference(openapi_schema, self.get_openapi_json_route(request)).encode()
