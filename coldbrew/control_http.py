"""The control API's shared HTTP pieces: Kubernetes ``Status`` errors, lists, manifests.

Both :mod:`coldbrew.control_api` (Services, DomainMappings, read-only kinds) and
:mod:`coldbrew.control_configs` (ConfigMaps, Secrets) answer with these, so every kind's
PUT reads its body, and every refusal is shaped, the same way.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def status_error(code: int, reason: str, message: str, **details: Any) -> web.Response:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Status", "status": "Failure",
                            "code": code, "reason": reason, "message": message}  # fmt: skip
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


def found(obj: dict[str, Any] | None, plural: str, name: str) -> web.Response:
    """The object, or 404 naming it."""
    if obj is None:
        return status_error(404, "NotFound", f'{plural} "{name}" not found', name=name, kind=plural)
    return web.json_response(obj)


async def read_manifest(request: web.Request) -> dict[str, Any] | web.Response:
    """The PUT body as a manifest whose metadata names the URL's object, or the refusal."""
    ns, name = request.match_info["ns"], request.match_info["name"]
    try:
        obj = json.loads(await request.read())
    except ValueError as exc:
        return status_error(400, "BadRequest", f"body is not JSON: {exc}")
    if not isinstance(obj, dict):
        return status_error(400, "BadRequest", "body must be a JSON object")
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return status_error(422, "Invalid", "expected a mapping: metadata", field="metadata")
    metadata.setdefault("namespace", ns)
    if metadata.get("name") != name or metadata.get("namespace") != ns:
        return status_error(
            400, "BadRequest", "metadata.name and metadata.namespace must match the URL"
        )
    return obj


def applied(result: str, obj: dict[str, Any] | None) -> web.Response:
    """A PUT's answer: 201 when it created the object, 200 otherwise."""
    body = {"result": result, "object": obj}
    return web.json_response(body, status=201 if result == "created" else 200)


def deleted(done: bool, plural: str, name: str) -> web.Response:
    """A DELETE's answer: Success, or 404 when there was no such object."""
    if not done:
        return status_error(404, "NotFound", f'{plural} "{name}" not found', name=name)
    return web.json_response({"kind": "Status", "status": "Success", "details": {"name": name}})
