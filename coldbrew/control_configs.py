"""The control API's core ``v1`` ConfigMaps and Secrets, as the Kubernetes API has them.

``/api/v1[/namespaces/{ns}]/configmaps[/{name}]`` and ``.../secrets[/{name}]``: GET (a list or
one), PUT (apply a manifest; 201 created, 200 configured/unchanged), DELETE. A refused manifest
gets 422 naming the field, and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from coldbrew.api import ValidationError
from coldbrew.api.coreobjects import Kind
from coldbrew.config_objects import PLURALS, ConfigObjects
from coldbrew.storing import StoreError

CORE = "/api/v1"


def _status(code: int, reason: str, message: str, **details: Any) -> web.Response:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Status", "status": "Failure",
                            "code": code, "reason": reason, "message": message}  # fmt: skip
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


def add_config_routes(app: web.Application, configs: ConfigObjects) -> None:
    for kind, plural in PLURALS.items():
        _add_kind(app, configs, kind, plural)


def _add_kind(app: web.Application, configs: ConfigObjects, kind: Kind, plural: str) -> None:
    async def get_list(request: web.Request) -> web.Response:
        items = configs.list(kind, request.match_info.get("ns"))
        return web.json_response(
            {"apiVersion": "v1", "kind": f"{kind}List", "metadata": {}, "items": items}
        )

    async def get_one(request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        obj = configs.get(kind, ns, name)
        if obj is None:
            return _status(404, "NotFound", f'{plural} "{name}" not found', name=name, kind=plural)
        return web.json_response(obj)

    async def put(request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        try:
            obj = json.loads(await request.read())
        except ValueError as exc:
            return _status(400, "BadRequest", f"body is not JSON: {exc}")
        if not isinstance(obj, dict) or not isinstance(obj.setdefault("metadata", {}), dict):
            return _status(400, "BadRequest", "body must be a JSON object with metadata")
        obj["metadata"].setdefault("namespace", ns)
        if obj["metadata"].get("name") != name or obj["metadata"].get("namespace") != ns:
            return _status(400, "BadRequest", "metadata.name and metadata.namespace must match")
        if obj.get("kind") != kind:
            return _status(400, "BadRequest", f'kind must be "{kind}" at this path')
        try:
            result, _ = configs.apply(obj)
        except ValidationError as exc:
            return _status(422, "Invalid", f'{kind} "{name}" is invalid: {exc}', field=exc.field)
        except StoreError as exc:
            return _status(500, "InternalError", str(exc))
        body = {"result": result, "object": configs.get(kind, ns, name)}
        return web.json_response(body, status=201 if result == "created" else 200)

    async def delete(request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        try:
            deleted = configs.delete(kind, ns, name)
        except StoreError as exc:
            return _status(500, "InternalError", str(exc))
        if not deleted:
            return _status(404, "NotFound", f'{plural} "{name}" not found', name=name)
        return web.json_response({"kind": "Status", "status": "Success", "details": {"name": name}})

    app.router.add_get(f"{CORE}/{plural}", get_list)
    app.router.add_get(f"{CORE}/namespaces/{{ns}}/{plural}", get_list)
    app.router.add_get(f"{CORE}/namespaces/{{ns}}/{plural}/{{name}}", get_one)
    app.router.add_put(f"{CORE}/namespaces/{{ns}}/{plural}/{{name}}", put)
    app.router.add_delete(f"{CORE}/namespaces/{{ns}}/{plural}/{{name}}", delete)
