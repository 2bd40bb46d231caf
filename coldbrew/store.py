"""Durable desired state: the applied services and the revisions made from them.

The whole state is one JSON document, rewritten atomically on every change
(write a temporary file, fsync it, rename it over the old one, fsync the
folder), so a crash mid-write leaves either the old state or the new one and
never a torn file. The state is small (manifests, not pods), so rewriting it
whole is cheap and keeps recovery trivial.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
FORMAT_VERSION = 1


class StoreError(RuntimeError):
    """The state folder holds something this version cannot read."""


@dataclass
class ServiceRecord:
    """One applied Service, as the user last applied it."""

    namespace: str
    name: str
    manifest: dict[str, Any]
    generation: int
    uid: str
    created: float
    # Name of the revision the current template maps to.
    latest_created: str | None = None
    # The newest revision that became ready while it was the latest created.
    latest_ready: str | None = None
    # Highest configuration generation ever used for a generated name.
    revision_counter: int = 0

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class RevisionRecord:
    """One immutable revision: the template it was cut from, never changed."""

    namespace: str
    name: str
    service: str
    generation: int
    template_hash: str
    # The service manifest that produced this revision (its template is ours).
    manifest: dict[str, Any]
    uid: str
    created: float
    # Sticky: once a revision has served it stays routable (Knative's Ready).
    ever_ready: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class Store:
    """Keeps services and revisions in memory and on disk, in step."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / STATE_FILE
        self.services: dict[str, ServiceRecord] = {}
        self.revisions: dict[str, RevisionRecord] = {}

    def load(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc
        if data.get("version") != FORMAT_VERSION:
            raise StoreError(f"{self.path}: unknown state format {data.get('version')!r}")
        self.services = {
            f"{s['namespace']}/{s['name']}": ServiceRecord(**s) for s in data["services"]
        }
        self.revisions = {
            f"{r['namespace']}/{r['name']}": RevisionRecord(**r) for r in data["revisions"]
        }

    def save(self) -> None:
        data = {
            "version": FORMAT_VERSION,
            "services": [asdict(s) for s in self.services.values()],
            "revisions": [asdict(r) for r in self.revisions.values()],
        }
        payload = json.dumps(data, indent=1, sort_keys=True).encode()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.state_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.state_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def revisions_of(self, namespace: str, service: str) -> list[RevisionRecord]:
        """The service's revisions, oldest first."""
        revs = [
            r for r in self.revisions.values() if r.namespace == namespace and r.service == service
        ]
        revs.sort(key=lambda r: (r.generation, r.created))
        return revs
