"""The control API's core ``v1`` ConfigMaps and Secrets, as the Kubernetes API has them.

``/api/v1[/namespaces/{ns}]/configmaps[/{name}]`` and ``.../secrets[/{name}]``: GET (a list or
one), PUT (apply a manifest; 201 created, 200 configured/unchanged), DELETE. A refused manifest
gets 422 naming the field, and nothing is stored.
"""

from __future__ import annotations

from aiohttp import web

from coldbrew.api import ValidationError
from coldbrew.api.coreobjects import Kind
from coldbrew.config_objects import PLURALS, ConfigObjects
from coldbrew.control_http import applied, deleted, read_manifest, status_error
from coldbrew.control_lists import get_one, serve_list
from coldbrew.storing import StoreError

CORE = "/api/v1"


def add_config_routes(app: web.Application, configs: ConfigObjects) -> None:
    for kind, plural in PLURALS.items():
        _add_kind(app, configs, kind, plural)


def _add_kind(app: web.Application, configs: ConfigObjects, kind: Kind, plural: str) -> None:
    async def get_list(request: web.Request) -> web.StreamResponse:
        return await serve_list(request, plural, kind, "v1")

    async def get_named(request: web.Request) -> web.Response:
        return get_one(request, plural, plural)

    async def put(request: web.Request) -> web.Response:
        obj = await read_manifest(request)
        if isinstance(obj, web.Response):
            return obj
        ns, name = request.match_info["ns"], request.match_info["name"]
        if obj.get("kind") != kind:
            return status_error(400, "BadRequest", f'kind must be "{kind}" at this path')
        try:
            result, _ = configs.apply(obj)
        except ValidationError as exc:
            why = f'{kind} "{name}" is invalid: {exc}'
            return status_error(422, "Invalid", why, field=exc.field)
        except StoreError as exc:
            return status_error(500, "InternalError", str(exc))
        return applied(result, configs.get(kind, ns, name))

    async def delete(request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        try:
            done = configs.delete(kind, ns, name)
        except StoreError as exc:
            return status_error(500, "InternalError", str(exc))
        return deleted(done, plural, name)

    app.router.add_get(f"{CORE}/{plural}", get_list)
    app.router.add_get(f"{CORE}/namespaces/{{ns}}/{plural}", get_list)
    app.router.add_get(f"{CORE}/namespaces/{{ns}}/{plural}/{{name}}", get_named)
    app.router.add_put(f"{CORE}/namespaces/{{ns}}/{plural}/{{name}}", put)
    app.router.add_delete(f"{CORE}/namespaces/{{ns}}/{plural}/{{name}}", delete)
