"""The emulator's side that the real kubectl needs beyond CRUD.

Discovery and OpenAPI v3 (:mod:`.discovery`), the ``Table`` form (:mod:`.tables`), JSON
and strategic merge patches and ``fieldValidation`` (:mod:`.patching`), and a core
Service's defaults. :class:`KubectlSide` is mixed into :class:`.serving.Emulator`, whose
fields (``catalog``, ``patches``, ``rv``) it uses.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

from .discovery import Catalog, Resource
from .errors import Refused, error
from .patching import json_patch, prune, strategic_merge_patch, unknown_fields
from .storing import merge_patch
from .tables import table

MERGE, STRATEGIC, JSON_PATCH = (
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
)
VALIDATION = ("Strict", "Warn", "Ignore")


class KubectlSide:
    """Handlers and write steps for kubectl, mixed into :class:`.serving.Emulator`."""

    catalog: Catalog  # the Emulator's fields this side uses
    patches: list[tuple[str, str]]
    rv: int
    _counter: itertools.count[int]

    def _allocate(self, svc: dict[str, Any]) -> None:
        """A core Service's defaults: type, a cluster IP, ports' protocol/targetPort/nodePort."""
        spec = svc.setdefault("spec", {})
        kind = spec.setdefault("type", "ClusterIP")
        n = next(self._counter)
        spec.setdefault("clusterIP", f"10.96.{n // 250}.{n % 250 + 1}")
        for index, port in enumerate(spec.get("ports") or []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if kind in ("NodePort", "LoadBalancer"):
                port.setdefault("nodePort", 30000 + (n * 7 + index) % 2768)

    async def discovery(self, request: web.Request) -> web.Response:
        m = request.match_info
        if request.path == "/api":
            return web.json_response(self.catalog.api_versions())
        if request.path == "/apis":
            return web.json_response(self.catalog.api_group_list())
        gv = f"{m['group']}/{m['version']}" if "group" in m else m["version"]
        listing = self.catalog.resource_list(gv)
        if listing is None:
            return error(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(listing)

    async def openapi(self, request: web.Request) -> web.Response:
        tail = request.match_info.get("tail")
        if not tail:
            return web.json_response(self.catalog.openapi_root())
        gv = tail.split("/", 1)[1] if "/" in tail else ""
        doc = self.catalog.openapi_document(gv)
        if doc is None:
            return error(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(doc)

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.0-emulated",
                "platform": "linux/amd64",
            }
        )

    def _table(
        self, request: web.Request, resource: Resource, objects: list[dict[str, Any]]
    ) -> web.Response:
        include = request.query.get("includeObject", "Metadata")
        return web.json_response(table(resource, objects, str(self.rv), include))

    def _patched(
        self,
        request: web.Request,
        gv: str,
        plural: str,
        current: dict[str, Any],
        patch: Any,
    ) -> dict[str, Any]:
        """The whole object after the request's patch (by its Content-Type)."""
        kind = request.content_type
        self.patches.append((request.path, kind))
        resource = self.catalog.get(gv, plural)
        if kind == STRATEGIC:
            if resource is None or resource.custom:
                raise Refused(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types "
                    f"include: {JSON_PATCH}, {MERGE}, application/apply-patch+yaml",
                )
            out = strategic_merge_patch(current, patch)
        elif kind == JSON_PATCH:
            try:
                out = json_patch(current, patch)
            except Exception as exc:  # jsonpatch's errors: a bad patch is the client's
                raise Refused(422, "Invalid", f"the server rejected our request: {exc}") from None
        else:
            out = merge_patch(current, patch)
        meta = out.setdefault("metadata", {})
        meta.setdefault("resourceVersion", current["metadata"]["resourceVersion"])
        return out

    def _validated(
        self, request: web.Request, gv: str, plural: str, body: Any, warnings: list[str]
    ) -> Any:
        """Field validation (``fieldValidation``) of a custom resource against its schema."""
        directive = request.query.get("fieldValidation")
        resource = self.catalog.get(gv, plural)
        if directive is None or resource is None or resource.schema is None:
            return body
        if directive not in VALIDATION:
            raise Refused(
                400,
                "BadRequest",
                f'fieldValidation parameter unsupported: "{directive}" '
                "(valid values: Ignore, Warn, Strict)",
            )
        unknown = unknown_fields(body, resource.schema)
        if unknown and directive == "Strict":
            listed = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise Refused(
                400,
                "BadRequest",
                f'{resource.kind} in version "{resource.version}" cannot be handled as a '
                f"{resource.kind}: strict decoding error: {listed}",
            )
        if directive == "Warn":
            warnings += [f'unknown field "{u}"' for u in unknown]
        return prune(body, unknown)
