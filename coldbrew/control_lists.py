"""Lists and watches of the control API, as the Kubernetes API serves them.

- ``?labelSelector=``: :mod:`coldbrew.selecting` (a bad one: 400 naming it).
- ``?limit=N[&continue=TOKEN]``: pages in key order (namespace/name), every one cut from
  the snapshot of the first page (its ``metadata.resourceVersion``), so each object is on
  exactly one page whatever is written in between. The list's ``metadata.continue`` is the
  next page's token, ``metadata.remainingItemCount`` what is left after this page. A token
  older than the hub's history: 410 Expired, as Kubernetes.
- ``?watch=true[&resourceVersion=N][&timeoutSeconds=S]``: ``application/json;stream=watch``,
  one ``{"type": "ADDED"|"MODIFIED"|"DELETED", "object": {...}}`` a line. Without N (or N
  0), an ADDED for each current object first; with N, every change after N, then the live
  ones; older than the history kept (or newer than the feed: the server restarted since),
  an ``ERROR`` event with a 410 Status, as Kubernetes.

A list always carries ``metadata.resourceVersion``: a watch from it misses nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from typing import Any

from aiohttp import web

from coldbrew.control_http import found, status_error
from coldbrew.selecting import Selector, SelectorError, parse_selector
from coldbrew.watching import BACKLOG, TOO_SLOW, Change, Gone, Obj, WatchHub, key_of

HUB_KEY = web.AppKey("watch_hub", WatchHub)
STREAM_TYPE = "application/json;stream=watch"
IDLE_CHECK = 5.0  # seconds between looks at whether an idle watcher is still there


def _in_namespace(obj: Obj, namespace: str | None) -> bool:
    return namespace is None or obj.get("metadata", {}).get("namespace") == namespace


def _selected(obj: Obj, namespace: str | None, selector: Selector) -> bool:
    return _in_namespace(obj, namespace) and selector.matches(obj["metadata"].get("labels"))


async def serve_list(
    request: web.Request, kind: str, list_kind: str, api_version: str
) -> web.StreamResponse:
    """GET of a collection: a (page of the) list, or a watch of it."""
    hub, query = request.app[HUB_KEY], request.query
    try:
        selector = parse_selector(query.get("labelSelector", ""))
    except SelectorError as exc:
        return status_error(400, "BadRequest", f"labelSelector: {exc}", field="labelSelector")
    namespace = request.match_info.get("ns")
    hub.sync(kind)
    if query.get("watch") in ("true", "1"):
        return await _watch(request, hub, kind, namespace, selector)
    meta: dict[str, Any] = {"resourceVersion": str(hub.version)}
    if "limit" not in query and "continue" not in query:
        items = [o for o in hub.items(kind) if _selected(o, namespace, selector)]
        return _list(list_kind, api_version, meta, items)
    try:
        limit = int(query.get("limit", "0"))
        if limit < 0:
            raise ValueError
    except ValueError:
        return status_error(400, "BadRequest", "limit: expected a non-negative integer")
    version, start = hub.version, ""
    if query.get("continue"):
        token = _read_token(query["continue"])
        if token is None:
            return status_error(400, "BadRequest", "continue: not a token this API gave")
        version, start = token
    try:
        if version > hub.version:  # from before a restart: the counter began again
            raise Gone(f"resource version {version} is newer than the feed's {hub.version}")
        snapshot = hub.at(kind, version)
    except Gone:
        why = ("The provided continue parameter is too old to display a consistent list "
               "result. You can start a new list without the continue parameter.")  # fmt: skip
        return status_error(410, "Expired", why)
    keys = sorted(k for k, o in snapshot.items() if k > start and _selected(o, namespace, selector))
    page = keys[:limit] if limit else keys
    meta["resourceVersion"] = str(version)
    if len(page) < len(keys):
        meta["continue"] = _token(version, page[-1])
        meta["remainingItemCount"] = len(keys) - len(page)
    return _list(list_kind, api_version, meta, [snapshot[k] for k in page])


def _list(kind: str, api_version: str, meta: dict[str, Any], items: list[Obj]) -> web.Response:
    body = {"apiVersion": api_version, "kind": f"{kind}List", "metadata": meta, "items": items}
    return web.json_response(body)


def _token(version: int, last: str) -> str:
    raw = json.dumps({"rv": version, "start": last}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str) -> tuple[int, str] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
        version, start = fields["rv"], fields["start"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None
    if not isinstance(version, int) or not isinstance(start, str) or version < 0:
        return None
    return version, start


def get_one(request: web.Request, kind: str, plural: str) -> web.Response:
    """GET of one object, stamped with the hub's resourceVersion."""
    hub = request.app[HUB_KEY]
    hub.sync(kind)
    ns, name = request.match_info["ns"], request.match_info["name"]
    return found(hub.get(kind, f"{ns}/{name}"), plural, name)


def _event(change: Change, namespace: str | None, selector: Selector) -> Obj | None:
    """The watch event a change makes for this watcher, if any: an object that starts or
    stops matching the selector is ADDED or DELETED, as the API server does."""
    now = _selected(change.obj, namespace, selector)
    before = change.prev is not None and _selected(change.prev, namespace, selector)
    if change.type == "DELETED":
        return {"type": "DELETED", "object": change.obj} if before else None
    if now and not before:
        return {"type": "ADDED", "object": change.obj}
    if before and not now:
        return {"type": "DELETED", "object": change.obj}
    return {"type": change.type, "object": change.obj} if now else None


async def _watch(
    request: web.Request, hub: WatchHub, kind: str, namespace: str | None, selector: Selector
) -> web.StreamResponse:
    query = request.query
    try:
        since = int(query.get("resourceVersion") or "0")
        timeout = float(query["timeoutSeconds"]) if "timeoutSeconds" in query else None
        if since < 0 or (timeout is not None and not math.isfinite(timeout)):
            raise ValueError
    except ValueError:
        why = "resourceVersion and timeoutSeconds: expected non-negative numbers"
        return status_error(400, "BadRequest", why)
    queue = hub.subscribe()  # before the replay: nothing falls between the two
    response = web.StreamResponse(headers={"Content-Type": STREAM_TYPE})
    try:
        first: list[Obj] = []
        if since == 0:
            items = [o for o in hub.items(kind) if _selected(o, namespace, selector)]
            first = [{"type": "ADDED", "object": o} for o in sorted(items, key=key_of)]
        else:
            try:
                if since > hub.version:  # from before a restart: the counter began again
                    raise Gone(f"resource version {since} is newer than the feed's {hub.version}")
                replay = hub.since(kind, since)
            except Gone as exc:
                first = [_expired(str(exc))]
            else:
                first = [e for c in replay if (e := _event(c, namespace, selector)) is not None]
        await response.prepare(request)
        for event in first:
            await _send(response, event)
        if not (first and first[0]["type"] == "ERROR"):
            deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
            await _follow(request, response, queue, kind, namespace, selector, deadline)
    except ConnectionError:  # the watcher went away mid-write
        pass
    finally:
        hub.unsubscribe(queue)
    return response


async def _follow(request: web.Request, response: web.StreamResponse,
                  queue: asyncio.Queue[Change | None], kind: str, namespace: str | None,
                  selector: Selector, deadline: float | None) -> None:  # fmt: skip
    """Send the live changes until ``deadline`` (loop time), the hub closes or the
    watcher goes away."""
    loop = asyncio.get_running_loop()
    while True:
        wait = IDLE_CHECK if deadline is None else min(IDLE_CHECK, deadline - loop.time())
        if wait <= 0:
            return
        try:
            change = await asyncio.wait_for(queue.get(), wait)
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return  # the watcher went away
            continue
        if change is None:  # the server is stopping
            return
        if change is TOO_SLOW:
            await _send(response, _expired(f"the watch fell {BACKLOG} changes behind"))
            return
        if change.kind != kind:
            continue
        event = _event(change, namespace, selector)
        if event is not None:
            await _send(response, event)


async def _send(response: web.StreamResponse, event: Obj) -> None:
    await response.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")


def _expired(message: str) -> Obj:
    status = {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 410,
              "reason": "Expired", "message": message}  # fmt: skip
    return {"type": "ERROR", "object": status}
