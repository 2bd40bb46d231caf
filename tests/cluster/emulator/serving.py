"""The emulator's HTTP side: the aiohttp app, list/get/write handlers, watch streams."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .discovery import Catalog, Resource
from .patching import json_patch, prune, strategic_merge_patch, unknown_fields
from .storing import Key, Store, matches, merge_patch, now_stamp
from .tables import table, wants_table

MERGE, STRATEGIC, JSON_PATCH = (
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
)
VALIDATION = ("Strict", "Warn", "Ignore")


class Refused(Exception):
    """A write the API server answers with an error Status."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.response = _error(code, reason, message)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


def _error(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(_status(code, reason, message), status=code)


def _warning_headers(warnings: list[str]) -> dict[str, str] | None:
    if not warnings:
        return None
    return {"Warning": ", ".join('299 - "{}"'.format(w.replace('"', '\\"')) for w in warnings)}


@dataclass
class Fault:
    method: str
    predicate: Callable[[str], bool]
    code: int
    times: int


@dataclass
class Emulator(Store):
    """The state of :class:`Store` served over HTTP as a Kubernetes API server."""

    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    faults: list[Fault] = field(default_factory=list)
    watches: set[web.StreamResponse] = field(default_factory=set)
    catalog: Catalog = field(default_factory=Catalog.default)
    patches: list[tuple[str, str]] = field(default_factory=list)  # (path, Content-Type)

    def fail_next(
        self, method: str, predicate: Callable[[str], bool], code: int = 409, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests ``method`` whose path satisfies ``predicate``."""
        self.faults.append(Fault(method.upper(), predicate, code, times))

    def creates(self, path_part: str) -> int:
        """How many POSTs (answered or not) went to a path containing ``path_part``."""
        return sum(1 for m, p in self.requests if m == "POST" and path_part in p)

    # -- HTTP ----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api", self.discovery)
        app.router.add_get("/apis", self.discovery)
        app.router.add_get("/api/{version}", self.discovery)
        app.router.add_get("/apis/{group}/{version}", self.discovery)
        app.router.add_get("/openapi/v3", self.openapi)
        app.router.add_get("/openapi/v3/{tail:.*}", self.openapi)
        app.router.add_get("/version", self.version)
        for base in ("/apis/{group}/{version}", "/api/{version}"):
            app.router.add_route("*", base + "/{plural}", self.handle)
            app.router.add_route("*", base + "/namespaces/{ns}/{plural}", self.handle)
            app.router.add_route("*", base + "/namespaces/{ns}/{plural}/{name}", self.handle)
            app.router.add_route("*", base + "/namespaces/{ns}/{plural}/{name}/{sub}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        for fault in self.faults:
            if fault.method == request.method and fault.predicate(request.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return _error(
                    fault.code, "Conflict" if fault.code == 409 else "Injected", "injected fault"
                )
        m = request.match_info
        gv = f"{m['group']}/{m['version']}" if "group" in m else m["version"]
        plural = m["plural"]
        ns, name, sub = m.get("ns"), m.get("name"), m.get("sub")
        if name is None:
            if request.method == "POST" and ns is not None:
                return await self.create(request, gv, plural, ns)
            if request.query.get("watch", "").lower() in ("true", "1"):
                return await self.watch(request, gv, plural, ns)
            resource = self.catalog.get(gv, plural)
            if resource is not None and wants_table(request.headers.get("Accept", "")):
                objects = self._select(request, gv, plural, ns)
                return self._table(request, resource, objects)
            return self.list_response(request, gv, plural, ns)
        assert ns is not None
        key = (gv, plural, ns, name)
        if key not in self.objects:
            return _error(404, "NotFound", f'{plural} "{name}" not found')
        if request.method == "GET":
            resource = self.catalog.get(gv, plural)
            if (
                sub is None
                and resource is not None
                and wants_table(request.headers.get("Accept", ""))
            ):
                return self._table(request, resource, [self.objects[key]])
            return web.json_response(self._view(self.objects[key], sub))
        if request.method == "DELETE":
            return web.json_response(await self._delete(key))
        current = self.objects[key]
        warnings: list[str] = []
        try:
            body = await request.json()
            if request.method == "PATCH" and sub is None:
                body = self._patched(request, gv, plural, current, body)
            if sub is None:
                body = self._validated(request, gv, plural, body, warnings)
        except Refused as refused:
            return refused.response
        if request.method == "PUT":
            want = body.get("metadata", {}).get("resourceVersion")
            if want and want != current["metadata"]["resourceVersion"]:
                return _error(
                    409,
                    "Conflict",
                    "the object has been modified; "
                    "please apply your changes to the latest version and try again",
                )
        elif request.method != "PATCH":
            return _error(405, "MethodNotAllowed", request.method)
        method = "PUT" if request.method == "PATCH" and sub is None else request.method
        written = await self.write(key, current, body, sub, method)
        return web.json_response(self._view(written, sub), headers=_warning_headers(warnings))

    async def write(
        self, key: Key, current: dict[str, Any], body: dict[str, Any], sub: str | None, method: str
    ) -> dict[str, Any]:
        new = copy.deepcopy(current)
        if sub == "scale":
            replicas = body.get("spec", {}).get("replicas")
            if replicas is not None:
                new["spec"]["replicas"] = replicas
        elif sub == "status":
            new["status"] = (
                (body.get("status") or {})
                if method == "PUT"
                else merge_patch(current.get("status") or {}, body.get("status") or {})
            )
        else:
            merged = body if method == "PUT" else merge_patch(current, body)
            new = {**merged, "status": current.get("status") or {}}
            meta = new.setdefault("metadata", {})
            for k in ("uid", "creationTimestamp", "generation", "namespace", "name"):
                meta[k] = current["metadata"][k]
            if new.get("spec") != current.get("spec"):
                meta["generation"] = current["metadata"]["generation"] + 1
        return await self._store("MODIFIED", key, new)

    async def create(self, request: web.Request, gv: str, plural: str, ns: str) -> web.Response:
        body = await request.json()
        warnings: list[str] = []
        try:
            body = self._validated(request, gv, plural, body, warnings)
        except Refused as refused:
            return refused.response
        meta = body.setdefault("metadata", {})
        key = (gv, plural, ns, meta.get("name", ""))
        if key in self.objects:
            return _error(409, "AlreadyExists", f'{plural} "{key[3]}" already exists')
        meta.update(
            namespace=ns,
            uid=str(uuid.uuid4()),
            generation=1,
            creationTimestamp=now_stamp(),
        )
        body.setdefault("status", {})
        if (gv, plural) == ("v1", "services"):
            self._allocate(body)
        stored = await self._store("ADDED", key, body)
        return web.json_response(stored, status=201, headers=_warning_headers(warnings))

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

    # -- what kubectl needs beyond CRUD ------------------------------------------

    async def discovery(self, request: web.Request) -> web.Response:
        m = request.match_info
        if request.path == "/api":
            return web.json_response(self.catalog.api_versions())
        if request.path == "/apis":
            return web.json_response(self.catalog.api_group_list())
        gv = f"{m['group']}/{m['version']}" if "group" in m else m["version"]
        listing = self.catalog.resource_list(gv)
        if listing is None:
            return _error(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(listing)

    async def openapi(self, request: web.Request) -> web.Response:
        tail = request.match_info.get("tail")
        if not tail:
            return web.json_response(self.catalog.openapi_root())
        gv = tail.split("/", 1)[1] if "/" in tail else ""
        doc = self.catalog.openapi_document(gv)
        if doc is None:
            return _error(404, "NotFound", "the server could not find the requested resource")
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
        self, request: web.Request, gv: str, plural: str, current: dict[str, Any], patch: Any
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

    def _view(self, obj: dict[str, Any], sub: str | None) -> dict[str, Any]:
        if sub != "scale":
            return obj
        meta = obj["metadata"]
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion")},
            "spec": {"replicas": obj["spec"].get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0)},
        }

    def _select(
        self, request: web.Request, gv: str, plural: str, ns: str | None
    ) -> list[dict[str, Any]]:
        selector = request.query.get("labelSelector", "")
        return [
            o
            for o in self.list(gv, plural, ns)
            if matches(o["metadata"].get("labels") or {}, selector)
        ]

    def list_response(
        self, request: web.Request, gv: str, plural: str, ns: str | None
    ) -> web.Response:
        return web.json_response(
            {
                "kind": "List",
                "apiVersion": gv,
                "metadata": {"resourceVersion": str(self.rv)},
                "items": self._select(request, gv, plural, ns),
            }
        )

    async def watch(
        self, request: web.Request, gv: str, plural: str, ns: str | None
    ) -> web.StreamResponse:
        since = int(request.query.get("resourceVersion") or self.rv)
        selector = request.query.get("labelSelector", "")
        timeout = float(request.query.get("timeoutSeconds") or 300)
        response = web.StreamResponse()
        response.content_type = "application/json"
        await response.prepare(request)
        epoch = self._epoch

        async def send(event: dict[str, Any]) -> None:
            await response.write(json.dumps(event).encode() + b"\n")

        if since < self.compacted:
            await send(
                {
                    "type": "ERROR",
                    "object": _status(
                        410, "Expired", f"too old resource version: {since} ({self.compacted})"
                    ),
                }
            )
            return response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        sent = since
        try:
            while epoch == self._epoch and loop.time() < deadline:
                for rv, egv, eplural, kind, obj in list(self.history):
                    meta = obj["metadata"]
                    if rv <= sent:
                        continue
                    sent = rv
                    if (
                        egv == gv
                        and eplural == plural
                        and (ns is None or meta["namespace"] == ns)
                        and matches(meta.get("labels") or {}, selector)
                    ):
                        await send({"type": kind, "object": obj})
                async with self.changed:
                    if epoch == self._epoch and not any(e[0] > sent for e in self.history):
                        try:
                            await asyncio.wait_for(
                                self.changed.wait(), max(0.0, deadline - loop.time())
                            )
                        except TimeoutError:
                            break
        except (ConnectionResetError, asyncio.CancelledError):
            return response
        return response
