"""Idempotent writes: create-or-patch objects, replace statuses, retry 409s on fresh reads.

* :func:`ensure` creates an object; if it exists (a 409 AlreadyExists, or found by a
  read first) it patches only what differs from the desired object, leaving fields
  other writers own (``spec.replicas``, which the autoscaler sets through
  ``/scale``) alone. Nothing is written when the object already matches.
* :func:`write_status` computes a status from a fresh read and PUTs it to the
  ``status`` subresource with the read's ``resourceVersion``; on a 409 Conflict it
  reads again, recomputes and retries. An unchanged status is not written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from .accessing import Kube, Resource, status_of

log = logging.getLogger(__name__)

ATTEMPTS = 5
OWNED_META = ("labels", "annotations", "ownerReferences")


def is_subset(want: Any, have: Any) -> bool:
    """``want`` is contained in ``have`` (extra keys in ``have`` are server defaults)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(is_subset(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(is_subset(w, h) for w, h in zip(want, have, strict=True))
        )
    return bool(want == have)


def _patch_for(
    desired: dict[str, Any], existing: dict[str, Any], keep: Collection[str]
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    meta = {
        k: desired["metadata"][k]
        for k in OWNED_META
        if k in desired["metadata"]
        and not is_subset(desired["metadata"][k], existing["metadata"].get(k))
    }
    if meta:
        patch["metadata"] = meta
    spec = {
        k: v
        for k, v in (desired.get("spec") or {}).items()
        if k not in keep and not is_subset(v, (existing.get("spec") or {}).get(k))
    }
    if spec:
        patch["spec"] = spec
    return patch


async def ensure(
    kube: Kube, res: Resource, desired: dict[str, Any], *, keep: Collection[str] = ()
) -> dict[str, Any]:
    """The object as stored after making it match ``desired`` (``keep``: spec keys not patched)."""
    ns, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
    for _ in range(ATTEMPTS):
        existing = await kube.get(res, ns, name)
        try:
            if existing is None:
                created = await kube.create(res, ns, desired)
                log.info("created %s %s/%s", res.kind, ns, name)
                return created
            patch = _patch_for(desired, existing, keep)
            if not patch:
                return existing
            log.info("patching %s %s/%s: %s", res.kind, ns, name, sorted(patch))
            return await kube.patch(res, ns, name, patch)
        except Exception as exc:
            if status_of(exc) != 409:
                raise
            log.info("conflict on %s %s/%s; retrying on a fresh read", res.kind, ns, name)
    raise RuntimeError(f"{res.kind} {ns}/{name}: still conflicting after {ATTEMPTS} attempts")


async def write_status(
    kube: Kube,
    res: Resource,
    current: dict[str, Any],
    compute: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """Write ``compute(obj)`` as ``obj``'s status; ``current`` is the first read."""
    ns, name = current["metadata"]["namespace"], current["metadata"]["name"]
    obj: dict[str, Any] | None = current
    for _ in range(ATTEMPTS):
        if obj is None:
            return None  # deleted meanwhile
        status = compute(obj)
        if status is None or status == obj.get("status"):
            return obj
        body = {
            "apiVersion": obj.get("apiVersion", res.api_version),
            "kind": obj.get("kind", res.kind),
            "metadata": {
                "name": name,
                "namespace": ns,
                "resourceVersion": obj["metadata"].get("resourceVersion"),
            },
            "status": status,
        }
        try:
            return await kube.replace_status(res, ns, name, body)
        except Exception as exc:
            if status_of(exc) != 409:
                raise
            log.info("status conflict on %s %s/%s; re-reading", res.kind, ns, name)
        obj = await kube.get(res, ns, name)
    raise RuntimeError(f"{res.kind} {ns}/{name}: status still conflicting")
