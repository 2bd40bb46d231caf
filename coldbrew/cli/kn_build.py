"""Service manifests made or changed as kn's flags say (``service create|update``).

The result is the same ``serving.knative.dev/v1`` object ``coldbrew apply`` takes;
whether it is valid is decided by :mod:`coldbrew.api` (on the server, or locally
for ``--dry-run``). kn semantics: ``--traffic``/``--tag``/``--untag`` edit
``spec.traffic`` only, so alone they make no new revision; a template change
without ``--revision-name`` drops a chosen revision name so the server names
the new revision (a name can only be used once).
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from coldbrew.cli import kn_flags
from coldbrew.cli.kn_flags import LATEST, UsageError

API_VERSION = "serving.knative.dev/v1"
AUTOSCALING = "autoscaling.knative.dev/"
Obj = dict[str, Any]


def new_service(name: str, namespace: str) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{}]}}},
    }


def editable(current: Obj) -> Obj:
    """What of a served Service goes back in a PUT: no status, no server-set metadata."""
    meta = current.get("metadata", {})
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    spec = copy.deepcopy(current.get("spec") or {})
    return {"apiVersion": API_VERSION, "kind": "Service", "metadata": kept, "spec": spec}


def _set(mapping: Obj, changes: dict[str, str | None]) -> None:
    for key, value in changes.items():
        if value is None:
            mapping.pop(key, None)
        else:
            mapping[key] = value


def _env(container: Obj, changes: dict[str, str | None]) -> None:
    env = [e for e in container.get("env") or [] if e.get("name") not in changes]
    env += [{"name": k, "value": v} for k, v in changes.items() if v is not None]
    if env:
        container["env"] = env
    else:
        container.pop("env", None)


def edit_template(obj: Obj, args: argparse.Namespace, generation: int = 1) -> None:
    """Image, env, port, concurrency, annotations and scale onto ``spec.template``;
    ``generation``: the Service's once applied (``{{.Generation}}`` of --revision-name)."""
    template = obj["spec"].setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    tspec = template.setdefault("spec", {})
    containers = tspec.setdefault("containers", [{}]) or [{}]
    tspec["containers"] = containers
    container = containers[0]
    if args.image is not None:
        container["image"] = args.image
    _env(container, kn_flags.key_values("--env", args.env))
    ports = kn_flags.port(args.port)
    if ports is not None:
        container["ports"] = [ports]
    if args.concurrency_limit is not None:
        tspec["containerConcurrency"] = args.concurrency_limit
    annotations = kn_flags.key_values("--annotation", args.annotation)
    scale = kn_flags.Scale.of(
        args.scale,
        args.scale_min,
        args.scale_max,
        target=args.scale_target,
        window=args.scale_window,
        **{"initial-scale": args.scale_init},
    )
    # As kn's --annotation: on the Service and its revisions, autoscaling ones on revisions.
    service_side = {k: v for k, v in annotations.items() if not k.startswith(AUTOSCALING)}
    _set(obj["metadata"].setdefault("annotations", {}), service_side)
    _set(tmeta.setdefault("annotations", {}), {**annotations, **scale.annotations})
    name = kn_flags.revision_name(obj["metadata"]["name"], args.revision_name, generation)
    if name is not None:
        tmeta["name"] = name
    for mapping, key in ((tmeta, "annotations"), (obj["metadata"], "annotations")):
        if not mapping.get(key):
            mapping.pop(key, None)
    if not tmeta:
        template.pop("metadata")


def _find(targets: list[Obj], ident: str) -> Obj | None:
    """The entry ``--traffic``/``--tag`` means: @latest, a tag, or a revision (untagged first)."""
    if ident == LATEST:
        floating = [t for t in targets if t.get("latestRevision")]
        return next((t for t in floating if not t.get("tag")), floating[0] if floating else None)
    for t in targets:
        if t.get("tag") == ident:
            return t
    named = [t for t in targets if t.get("revisionName") == ident]
    return next((t for t in named if not t.get("tag")), named[0] if named else None)


def _entry(ident: str) -> Obj:
    if ident == LATEST:
        return {"latestRevision": True, "percent": 0}
    return {"revisionName": ident, "latestRevision": False, "percent": 0}


def edit_traffic(obj: Obj, args: argparse.Namespace) -> bool:
    """``--untag``, ``--tag``, then ``--traffic`` onto ``spec.traffic``; False when none given."""
    split = kn_flags.traffic(getattr(args, "traffic", None))
    tagged = kn_flags.tags(getattr(args, "tag", None))
    untagged = kn_flags.untags(getattr(args, "untag", None), tagged)
    if not (split or tagged or untagged):
        return False
    spec = obj["spec"]
    targets = copy.deepcopy(spec.get("traffic") or [{"latestRevision": True, "percent": 100}])
    present = {t.get("tag") for t in targets}
    for tag in untagged:
        if tag not in present:
            raise UsageError(f'--untag: no traffic target has tag "{tag}"')
        for t in targets:
            if t.get("tag") == tag:
                del t["tag"]
    for ident, tag in tagged:
        holder = next((t for t in targets if t.get("tag") == tag), None)
        if holder is not None:
            if holder is _find(targets, ident):
                continue
            raise UsageError(f'--tag: tag "{tag}" is already in use; --untag {tag} first')
        target = _find([t for t in targets if not t.get("tag")], ident)
        if target is None:
            target = _entry(ident)
            targets.append(target)
        target["tag"] = tag
    if split:
        for t in targets:
            t["percent"] = 0
        for ident, percent in split:
            target = _find(targets, ident)
            if target is None:
                target = _entry(ident)
                targets.append(target)
            target["percent"] = percent
    spec["traffic"] = [t for t in targets if t.get("percent") or t.get("tag")]
    return True


def template_changed(before: Obj, after: Obj) -> bool:
    return bool(before["spec"].get("template") != after["spec"].get("template"))


def check(args: argparse.Namespace) -> None:
    """Read every flag's shape before anything is fetched or sent (UsageError)."""
    probe = new_service(args.name, args.namespace)
    edit_template(probe, args)
    kn_flags.untags(getattr(args, "untag", None), kn_flags.tags(getattr(args, "tag", None)))
    kn_flags.traffic(getattr(args, "traffic", None))
