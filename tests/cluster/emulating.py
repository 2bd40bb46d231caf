"""A small in-process Kubernetes API emulator (aiohttp) for the cluster controller's tests.

Why not kmock's ``KubernetesEmulator``: it was tried (kmock 0.8) and falls short of what the
controller relies on: it stamps no ``resourceVersion``/``uid``/``generation``, has no status
or ``/scale`` subresource semantics (``/scale`` is the whole Deployment), ignores label
selectors, serves kubernetes-asyncio's ``?watch=True`` as a plain list, and cannot replay a
watch from a resourceVersion or answer 410 Gone. Patching those in meant overriding most of
its private request handling, so this module is a small emulator of its own.

What is emulated (and only this):

* generic ``/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]`` paths for
  any resource (``serving.knative.dev/v1`` services and revisions, ``apps/v1`` deployments);
* list (with ``labelSelector`` equality terms ``k=v``, ``k==v``, ``k``), get, create (409
  AlreadyExists), replace (409 Conflict on a stale ``metadata.resourceVersion``), JSON merge
  patch (RFC 7386), delete with cascading deletion of dependents by ``ownerReferences`` uid
  (the garbage collector, done synchronously);
* a global, increasing ``resourceVersion``, ``uid``, ``creationTimestamp`` and
  ``metadata.generation`` (bumped when ``spec`` changes);
* the ``status`` subresource (writes to the main resource keep the stored status; writes
  to ``/status`` change only the status) and ``/scale`` (autoscaling/v1 Scale of
  ``spec.replicas``);
* watch streams (``watch=true`` in any spelling) from a ``resourceVersion``: events after it
  are replayed, then new ones streamed; ``timeoutSeconds`` ends the stream;
  :meth:`Emulator.compact` forgets history so a resume from an older version gets an
  ``ERROR`` event with a 410 ``Status`` (as the real API server sends it), and
  :meth:`Emulator.drop_watches` cuts every open stream (a disconnect);
* fault injection: :meth:`Emulator.fail_next` answers the next matching request with an error.

Not emulated: admission, defaulting of pod templates, strategic merge patch, field selectors,
bookmarks, authentication, pods or kubelets (tests set Deployment status themselves).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Key = tuple[str, str, str, str]  # (group/version, plural, namespace, name)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


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


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.strip() not in labels:
            return False
    return True


@dataclass
class Fault:
    method: str
    predicate: Callable[[str], bool]
    code: int
    times: int


@dataclass
class Emulator:
    """The state (objects, event history) and the aiohttp app serving it."""

    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[int, str, str, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    faults: list[Fault] = field(default_factory=list)
    rv: int = 100
    compacted: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    watches: set[web.StreamResponse] = field(default_factory=set)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _epoch: int = 0

    # -- test helpers --------------------------------------------------------

    def fail_next(
        self, method: str, predicate: Callable[[str], bool], code: int = 409, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests ``method`` whose path satisfies ``predicate``."""
        self.faults.append(Fault(method.upper(), predicate, code, times))

    def compact(self) -> None:
        """Forget the event history: resuming a watch from before now yields 410 Gone."""
        self.history.clear()
        self.rv += 1  # every version handed out so far is now too old
        self.compacted = self.rv

    async def drop_watches(self) -> None:
        """Cut every open watch stream (a network disconnect)."""
        self._epoch += 1
        async with self.changed:
            self.changed.notify_all()

    def get(self, gv: str, plural: str, ns: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((gv, plural, ns, name))

    def list(self, gv: str, plural: str, ns: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for (g, p, n, _), o in sorted(self.objects.items())
            if g == gv and p == plural and (ns is None or n == ns)
        ]

    def creates(self, path_part: str) -> int:
        """How many POSTs (answered or not) went to a path containing ``path_part``."""
        return sum(1 for m, p in self.requests if m == "POST" and path_part in p)

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait (on change notifications, no polling) until ``predicate()`` is truthy."""

        async def waiting() -> Any:
            async with self.changed:
                while not (value := predicate()):
                    await self.changed.wait()
                return value

        return await asyncio.wait_for(waiting(), within)

    async def put_status(
        self, gv: str, plural: str, ns: str, name: str, status: dict[str, Any]
    ) -> None:
        """What a kubelet/deployment controller would do: merge into ``status``."""
        obj = self.objects[(gv, plural, ns, name)]
        await self._store(
            "MODIFIED",
            (gv, plural, ns, name),
            {**obj, "status": merge_patch(obj.get("status") or {}, status)},
        )

    # -- storage -------------------------------------------------------------

    async def _store(self, kind: str, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.history.append((self.rv, key[0], key[1], kind, obj))
        async with self.changed:
            self.changed.notify_all()
        return obj

    async def _delete(self, key: Key) -> dict[str, Any]:
        obj = self.objects[key]
        uid = obj["metadata"]["uid"]
        out = await self._store("DELETED", key, obj)
        for other_key, other in list(self.objects.items()):
            refs = other["metadata"].get("ownerReferences") or []
            if other_key in self.objects and any(r.get("uid") == uid for r in refs):
                await self._delete(other_key)
        return out

    # -- HTTP ----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        base = "/apis/{group}/{version}"
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
        gv, plural = f"{m['group']}/{m['version']}", m["plural"]
        ns, name, sub = m.get("ns"), m.get("name"), m.get("sub")
        if name is None:
            if request.method == "POST" and ns is not None:
                return await self.create(request, gv, plural, ns)
            if request.query.get("watch", "").lower() in ("true", "1"):
                return await self.watch(request, gv, plural, ns)
            return self.list_response(request, gv, plural, ns)
        assert ns is not None
        key = (gv, plural, ns, name)
        if key not in self.objects:
            return _error(404, "NotFound", f'{plural} "{name}" not found')
        if request.method == "GET":
            return web.json_response(self._view(self.objects[key], sub))
        if request.method == "DELETE":
            return web.json_response(await self._delete(key))
        body = await request.json()
        current = self.objects[key]
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
        return web.json_response(
            self._view(await self.write(key, current, body, sub, request.method), sub)
        )

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
        meta = body.setdefault("metadata", {})
        key = (gv, plural, ns, meta.get("name", ""))
        if key in self.objects:
            return _error(409, "AlreadyExists", f'{plural} "{key[3]}" already exists')
        meta.update(
            namespace=ns,
            uid=str(uuid.uuid4()),
            generation=1,
            creationTimestamp=f"2024-05-01T12:00:{next(self._counter) % 60:02d}Z",
        )
        body.setdefault("status", {})
        return web.json_response(await self._store("ADDED", key, body), status=201)

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
            if _matches(o["metadata"].get("labels") or {}, selector)
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
                        and _matches(meta.get("labels") or {}, selector)
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
