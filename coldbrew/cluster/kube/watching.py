"""A resumable list-then-watch of one resource, in all namespaces.

List once (remembering the list's ``resourceVersion``), then watch from the
last version seen. A dropped stream or a server timeout resumes from that
version, so nothing is missed or replayed; a 410 Gone (as an HTTP status or an
``ERROR`` event) means the history is gone: list again and carry on. Every
object listed or watched goes to ``on_object``; the controller is
level-triggered, so seeing an object twice is harmless. A caller that keeps its
own copy of the objects (the gateway's view) passes ``on_list`` instead, gets
each list whole and replaces its copy, so objects deleted while a watch was
away (no DELETED event after a 410) disappear too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from .accessing import Kube, Resource, decode_line, status_of

log = logging.getLogger(__name__)

OnObject = Callable[[str, dict[str, Any]], None]  # (event type, object)
OnList = Callable[[list[dict[str, Any]]], None]  # every object of a (re-)list, at once


class Gone(Exception):
    """The watch's resourceVersion is too old (410): re-list."""


class Watcher:
    """Feed every change of ``resource`` to ``on_object``; :attr:`synced` after a list."""

    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        on_object: OnObject,
        *,
        selector: str | None = None,
        on_list: OnList | None = None,
        timeout_seconds: int = 290,
        retry_delay: float = 0.5,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.on_object = on_object
        self.selector = selector
        self.on_list = on_list
        self.timeout_seconds = timeout_seconds
        self.retry_delay = retry_delay
        self.synced = asyncio.Event()
        self.on_synced: Callable[[], None] | None = None
        self.resource_version: str | None = None
        self.lists = 0  # how many times it listed (1 + one per 410)

    async def run(self) -> None:
        while True:
            try:
                if self.resource_version is None:
                    await self._list()
                await self._watch()
            except Gone:
                log.info("watch of %s: 410 Gone, re-listing", self.resource.plural)
                self.resource_version = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # disconnects, server errors: resume after a pause
                if status_of(exc) == 410:
                    self.resource_version = None
                    continue
                log.warning("watch of %s failed: %r; resuming", self.resource.plural, exc)
                await asyncio.sleep(self.retry_delay)

    async def _list(self) -> None:
        listing = await self.kube.list(self.resource, selector=self.selector)
        self.lists += 1
        items = listing.get("items") or []
        if self.on_list is not None:
            self.on_list(items)  # a state kept by the caller is replaced: deletions show
        else:
            for item in items:
                self.on_object("LISTED", item)
        self.resource_version = listing["metadata"]["resourceVersion"]
        self.synced.set()
        if self.on_synced is not None:
            self.on_synced()

    async def _watch(self) -> None:
        assert self.resource_version is not None
        response = await self.kube.watch(
            self.resource, self.resource_version, self.timeout_seconds, self.selector
        )
        try:
            while line := await response.content.readline():
                event = decode_line(line)
                if event is not None:
                    self._event(event)
        except aiohttp.ClientPayloadError as exc:
            raise ConnectionError("watch stream broken") from exc
        finally:
            response.release()

    def _event(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone(obj.get("message", ""))
            raise RuntimeError(f"watch error: {obj}")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = version
        if kind != "BOOKMARK":
            self.on_object(str(kind), obj)
