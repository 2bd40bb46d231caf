"""A clean stop leaves the data plane's last table; the next start serves it at once.

After a restart the controller brings every stored Service back (each manifest parsed,
each route resolved, one pass over all of them) before it can publish a route table: at
10,000 services that is seconds, and until then every host answered 404. So a clean stop
writes what the data plane was last given (the route table, its redirected hosts, each
revision's settings) to ``dataplane.json`` in the state dir, and the next start, before
anything else, reads it, deletes it and hands it to the data plane as it stood, with no
endpoints: the old pods are gone, so every request is held by the activator until the
controller's first pass brings the real state (as a delta: usually nothing changes) and
the revision's pods come up. What Knative's data plane does too: the ingress keeps its
last programmed configuration while the controller restarts.

It is used at most once, and only if nothing changed in between: it carries the state
file's size and modification time after the store was closed, the domain and the config
file's digest; any difference, or a start after a crash (nothing written, or the file of
the start before already deleted), and the start goes the usual way. Whatever it got
wrong, the first pass corrects.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.route_deltas import read_targets
from gateway.settings import RevisionSettings

log = logging.getLogger(__name__)
SNAPSHOT_FILE = "dataplane.json"
FORMAT = 1


@dataclass(frozen=True)
class DataPlaneState:
    """What the data plane was last given: routes, redirected hosts, revision settings."""

    routes: dict[str, list[tuple[str, int]]]
    redirected: frozenset[str]
    revisions: dict[str, RevisionSettings]


def stamp(state_file: Path, domain: str, config: Path | None) -> dict[str, Any]:
    """What must not have changed between the stop that wrote it and the start."""
    out: dict[str, Any] = {"domain": domain, "state": _file_stamp(state_file)}
    out["config"] = None if config is None else _digest(config)
    return out


def _digest(path: Path) -> str | None:
    """The file's content (a config file is rewritten unchanged by tools: not its time)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _file_stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def save(state_dir: Path, state: DataPlaneState, stamped: dict[str, Any]) -> None:
    """Write ``state`` (atomically: a stop cut short leaves no half file)."""
    doc = {
        "format": FORMAT,
        "stamp": stamped,
        "routes": state.routes,
        "redirected": sorted(state.redirected),
        "revisions": {key: s.to_wire() for key, s in state.revisions.items()},
    }
    path = state_dir / SNAPSHOT_FILE
    tmp = path.with_suffix(".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError as exc:  # a cold start next time, nothing worse
        log.warning("could not keep the data plane's table for the next start: %s", exc)


def take(state_dir: Path, stamped: dict[str, Any]) -> DataPlaneState | None:
    """The state a clean stop left, if it still holds; the file is gone either way."""
    path = state_dir / SNAPSHOT_FILE
    try:
        text = path.read_text()
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    try:
        doc = json.loads(text)
        if doc.get("format") != FORMAT or doc.get("stamp") != stamped:
            return None
        routes = {str(host): read_targets(t) for host, t in doc["routes"].items()}
        revisions = {str(k): RevisionSettings.from_wire(v) for k, v in doc["revisions"].items()}
        return DataPlaneState(routes, frozenset(map(str, doc["redirected"])), revisions)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
