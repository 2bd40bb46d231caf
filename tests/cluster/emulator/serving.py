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

from .discovery import Catalog
from .errors import Refused, error, status, warning_headers
from .kubectl import KubectlSide
from .storing import Key, Store, matches, merge_patch, now_stamp
from .tables import wants_table


@dataclass
class Fault:
    method: str
    predicate: Callable[[str], bool]
    code: int
    times: int


@dataclass
class Emulator(Store, KubectlSide):
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
                return error(
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
            return error(404, "NotFound", f'{plural} "{name}" not found')
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
                return error(
                    409,
                    "Conflict",
                    "the object has been modified; "
                    "please apply your changes to the latest version and try again",
                )
        elif request.method != "PATCH":
            return error(405, "MethodNotAllowed", request.method)
        method = "PUT" if request.method == "PATCH" and sub is None else request.method
        written = await self.write(key, current, body, sub, method)
        return web.json_response(self._view(written, sub), headers=warning_headers(warnings))

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
            return error(409, "AlreadyExists", f'{plural} "{key[3]}" already exists')
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
        return web.json_response(stored, status=201, headers=warning_headers(warnings))

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
                    "object": status(
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
