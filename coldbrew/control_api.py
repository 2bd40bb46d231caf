"""The control API: a small Kubernetes-shaped HTTP API over the controller.

Paths follow the Kubernetes API so that the objects, and later kubectl
habits, carry over:

- ``/apis/serving.knative.dev/v1[/namespaces/{ns}]/services[/{name}]``
  (GET; PUT applies a manifest; DELETE)
- ``/apis/serving.knative.dev/v1[/namespaces/{ns}]/revisions[/{name}]`` (GET; DELETE of a
  revision neither latest nor named in its service's traffic, else 409)
- ``/apis/serving.knative.dev/v1beta1[/namespaces/{ns}]/domainmappings[/{name}]``
  (GET; PUT applies a manifest; DELETE)
- ``/apis/autoscaling.internal.knative.dev/v1alpha1[/namespaces/{ns}]/podautoscalers[/{name}]``
  (GET; the KPA's decisions and observed concurrency)
- ``/api/v1[/namespaces/{ns}]/pods[/{name}[/log]]`` (GET)
- ``/api/v1[/namespaces/{ns}]/events`` (GET; ``?after=N``: only events created or repeated
  after resource version N, the list's ``metadata.resourceVersion`` being the cursor to
  poll with next; ``?fieldSelector=involvedObject.kind=Pod,involvedObject.name=x``)
- ``/api/v1[/namespaces/{ns}]/configmaps|secrets[/{name}]`` (GET; PUT; DELETE;
  :mod:`coldbrew.control_configs`)
- every list above but events: ``?labelSelector=``, ``?limit=&continue=``, ``?watch=true``
  (:mod:`coldbrew.control_lists`, over the change feed of :mod:`coldbrew.watching`)
- ``/apis/coldbrew.dev/v1/applies`` (POST: Services in batches, :mod:`coldbrew.control_batch`)
- ``/healthz``, ``/readyz`` (``gateway.admin.admin_app``)

``coldbrew serve`` adds the console (``/``, ``/console/...``: :mod:`coldbrew.console`).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from coldbrew.api import ValidationError
from coldbrew.authorizing import bearer_middleware
from coldbrew.config_objects import PLURALS
from coldbrew.control_batch import add_batch_routes
from coldbrew.control_configs import add_config_routes
from coldbrew.control_http import applied, deleted, read_manifest, status_error
from coldbrew.control_lists import HUB_KEY, get_one, serve_list
from coldbrew.controlling import Controller
from coldbrew.presenting import Presenter
from coldbrew.storing import StoreError
from coldbrew.watching import WatchHub
from gateway.admin import admin_app

SERVING = "/apis/serving.knative.dev/v1"
SERVING_BETA = "/apis/serving.knative.dev/v1beta1"
CORE = "/api/v1"
AUTOSCALING = "/apis/autoscaling.internal.knative.dev/v1alpha1"
CONTROLLER_KEY = web.AppKey("controller", Controller)
PRESENTER_KEY = web.AppKey("presenter", Presenter)
# How many changes a watch may replay (a smaller ring: tests of 410 Gone).
HISTORY_ENV, DEFAULT_HISTORY = "COLDBREW_WATCH_HISTORY", 1000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STOPPING_KEY = web.AppKey("stopping", asyncio.Event)  # set on shutdown: followers end


async def put_service(request: web.Request) -> web.Response:
    obj = await read_manifest(request)
    if isinstance(obj, web.Response):
        return obj
    try:
        result, _ = request.app[CONTROLLER_KEY].apply(obj)
    except ValidationError as exc:
        return status_error(422, "Invalid", str(exc), field=exc.field)
    except StoreError as exc:  # not saved, and not applied either
        return status_error(500, "InternalError", str(exc))
    ns, name = request.match_info["ns"], request.match_info["name"]
    return applied(result, request.app[PRESENTER_KEY].service(ns, name))


async def delete_service(request: web.Request) -> web.Response:
    ns, name = request.match_info["ns"], request.match_info["name"]
    try:
        done = request.app[CONTROLLER_KEY].delete(ns, name)
    except StoreError as exc:  # not saved, and not deleted either
        return status_error(500, "InternalError", str(exc))
    return deleted(done, "services", name)


async def delete_revision(request: web.Request) -> web.Response:
    """Delete one revision; refused (409) while its service still needs it."""
    ns, name = request.match_info["ns"], request.match_info["name"]
    controller = request.app[CONTROLLER_KEY]
    rev = controller.store.revisions.get(f"{ns}/{name}")
    if rev is None:
        return deleted(False, "revisions", name)
    rec = controller.store.services.get(f"{ns}/{rev.service}")
    view = controller.views.get(f"{ns}/{rev.service}")
    named = {t.revision_name for t in (view.service.traffic or ())} if view else set()
    if rec is not None and rec.latest_created == name:
        why = f'revision "{name}" is the latest of service "{rev.service}"'
        return status_error(409, "Conflict", why, name=name, kind="revisions")
    if name in named or (view is not None and rev.key in view.routed()):
        why = f'revision "{name}" is in the traffic of service "{rev.service}"'
        return status_error(409, "Conflict", why, name=name, kind="revisions")
    try:
        controller.delete_revisions([rev.key])
    except StoreError as exc:  # not saved, and not deleted either
        return status_error(500, "InternalError", str(exc))
    return deleted(True, "revisions", name)


async def put_domain_mapping(request: web.Request) -> web.Response:
    obj = await read_manifest(request)
    if isinstance(obj, web.Response):
        return obj
    try:
        result, _ = request.app[CONTROLLER_KEY].apply_domain_mapping(obj)
    except ValidationError as exc:
        return status_error(422, "Invalid", str(exc), field=exc.field)
    except StoreError as exc:
        return status_error(500, "InternalError", str(exc))
    ns, name = request.match_info["ns"], request.match_info["name"]
    return applied(result, request.app[PRESENTER_KEY].domain_mapping(ns, name))


async def delete_domain_mapping(request: web.Request) -> web.Response:
    ns, name = request.match_info["ns"], request.match_info["name"]
    try:
        done = request.app[CONTROLLER_KEY].delete_domain_mapping(ns, name)
    except StoreError as exc:
        return status_error(500, "InternalError", str(exc))
    return deleted(done, "domainmappings", name)


async def pod_log(request: web.Request) -> web.Response:
    ns, name = request.match_info["ns"], request.match_info["name"]
    if request.app[PRESENTER_KEY].pod(ns, name) is None:
        return status_error(404, "NotFound", f'pods "{name}" not found', name=name)
    runtime = request.app[CONTROLLER_KEY].runtime
    container = request.query.get("container") or None  # as Kubernetes: ?container=NAME
    try:
        if request.query.get("follow") in ("true", "1"):
            return await _follow_log(request, runtime.follow_log(name, container=container))
        text = runtime.log(name, container)
    except KeyError:
        if container is not None:
            why = f"container {container} is not valid for pod {name}"
            return status_error(400, "BadRequest", why, name=name)
        return status_error(404, "NotFound", f'pods "{name}" not found', name=name)
    return web.Response(text=text)


async def _follow_log(request: web.Request, chunks: AsyncIterator[bytes]) -> web.StreamResponse:
    """``?follow=true``: the log so far, then as the pod writes it, until the pod is gone."""
    first = await anext(chunks, b"")  # KeyError (no such pod) before the response starts
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    await response.prepare(request)
    if first:
        await response.write(first)
    stopping = request.app[STOPPING_KEY]
    async for chunk in chunks:  # b"" while idle: a chance to notice the server stopping
        if stopping.is_set():
            break
        if chunk:
            await response.write(chunk)
    await response.write_eof()
    return response


SELECTABLE = ("involvedObject.kind", "involvedObject.name", "involvedObject.namespace")


async def get_events(request: web.Request) -> web.Response:
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        return status_error(400, "BadRequest", "after: expected a resource version (an integer)")
    involved: dict[str, str] = {}
    selector = request.query.get("fieldSelector", "")
    for term in filter(None, selector.split(",")):
        field_name, eq, value = term.partition("=")
        if not eq or field_name not in SELECTABLE:
            allowed = ", ".join(SELECTABLE)
            return status_error(
                400, "BadRequest", f"fieldSelector: {term!r} is not field=value of {allowed}"
            )
        involved[field_name.removeprefix("involvedObject.")] = value
    events = request.app[PRESENTER_KEY].event_list(request.match_info.get("ns"), after, involved)
    return web.json_response(events)


async def _stopping(app: web.Application) -> None:
    app[STOPPING_KEY].set()
    app[HUB_KEY].close()


@web.middleware
async def _feed_watches(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a write (committed or refused: the hub tells), the watches look again."""
    try:
        return await handler(request)
    finally:
        if request.method in ("PUT", "POST", "DELETE"):
            request.app[HUB_KEY].changed()


def _hub(controller: Controller, presenter: Presenter) -> WatchHub:
    """The change feed of every kind listed here, fed by the controller's passes."""
    listers: dict[str, Callable[[], list[dict[str, Any]]]] = {
        plural: functools.partial(getattr(presenter, many), None)
        for _, plural, _, _, _, many in READ_ONLY
    }
    for kind, plural in PLURALS.items():
        listers[plural] = functools.partial(controller.configs.list, kind, None)
    hub = WatchHub(listers, history=int(os.environ.get(HISTORY_ENV) or DEFAULT_HISTORY))
    controller.subscribe(hub.reconciled)
    return hub


# Read-only kinds: (API prefix, plural, list kind, apiVersion, Presenter method for
# one object, Presenter method for a list).
READ_ONLY = (
    (SERVING, "services", "Service", "serving.knative.dev/v1", "service", "services"),
    (SERVING, "revisions", "Revision", "serving.knative.dev/v1", "revision", "revisions"),
    (
        SERVING_BETA,
        "domainmappings",
        "DomainMapping",
        "serving.knative.dev/v1beta1",
        "domain_mapping",
        "domain_mappings",
    ),
    (
        AUTOSCALING,
        "podautoscalers",
        "PodAutoscaler",
        "autoscaling.internal.knative.dev/v1alpha1",
        "kpa",
        "kpas",
    ),
    (CORE, "pods", "Pod", "v1", "pod", "pods"),
)


def _add_read_only(
    app: web.Application, prefix: str, plural: str, kind: str, version: str, one: str, many: str
) -> None:
    """GET of a list (all namespaces or one) and of one object of a kind."""

    async def get_list(request: web.Request) -> web.StreamResponse:
        return await serve_list(request, plural, kind, version)

    async def get_named(request: web.Request) -> web.Response:
        return get_one(request, plural, plural)

    app.router.add_get(f"{prefix}/{plural}", get_list)
    app.router.add_get(f"{prefix}/namespaces/{{ns}}/{plural}", get_list)
    app.router.add_get(f"{prefix}/namespaces/{{ns}}/{plural}/{{name}}", get_named)


def make_app(
    controller: Controller, presenter: Presenter, token: str | None = None
) -> web.Application:
    """The control API on a ``gateway.admin.admin_app`` (``/healthz``, ``/readyz``).

    With ``token``, every other request must present it (:mod:`coldbrew.authorizing`)."""
    guards = [bearer_middleware(token)] if token else []
    app = admin_app(client_max_size=8 * 1024 * 1024, middlewares=[*guards, _feed_watches])
    app[CONTROLLER_KEY] = controller
    app[PRESENTER_KEY] = presenter
    app[HUB_KEY] = _hub(controller, presenter)
    app[STOPPING_KEY] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    ns = "/namespaces/{ns}"
    for entry in READ_ONLY:
        _add_read_only(app, *entry)
    app.router.add_put(f"{SERVING}{ns}/services/{{name}}", put_service)
    app.router.add_delete(f"{SERVING}{ns}/services/{{name}}", delete_service)
    app.router.add_delete(f"{SERVING}{ns}/revisions/{{name}}", delete_revision)
    app.router.add_put(f"{SERVING_BETA}{ns}/domainmappings/{{name}}", put_domain_mapping)
    app.router.add_delete(f"{SERVING_BETA}{ns}/domainmappings/{{name}}", delete_domain_mapping)
    app.router.add_get(f"{CORE}{ns}/pods/{{name}}/log", pod_log)
    app.router.add_get(f"{CORE}/events", get_events)
    app.router.add_get(f"{CORE}{ns}/events", get_events)
    add_config_routes(app, controller.configs)
    add_batch_routes(app, controller)
    return app
