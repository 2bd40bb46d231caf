"""What the store keeps: one record per applied Service and per Revision cut from it.

Records are immutable values, all the way down: the dataclasses are frozen and a
record's ``manifest`` and ``labels`` are made read-only copies (:mod:`.frozen`) when
the record is built, so changing them raises ``TypeError`` and the caller's own dict
is not aliased. A Service's or Revision's manifest is kept as its JSON text (a
:class:`~.frozen.JsonManifest`: 10,000 of them take a quarter of the memory so). A
caller changes stored state only by building a new record (``dataclasses.replace``)
and ``put``-ting it inside a transaction. The repository can hand out the records it
holds without copying them, and no reader can change what another reader, or the
repository, sees.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .frozen import JsonManifest, freeze


def _key(namespace: str, name: str) -> str:
    """``namespace/name``, one shared string per key (``sys.intern``): a key is kept by a
    dozen tables (views, autoscaler, data plane...), at 10,000 services a copy each adds up."""
    return sys.intern(f"{namespace}/{name}")


class StoreError(RuntimeError):
    """The state cannot be read or written, or the store was used wrongly."""


@dataclass(frozen=True, slots=True)
class StoredService:
    """One applied Service, as the user last applied it."""

    namespace: str
    name: str
    manifest: Mapping[str, Any]
    generation: int
    uid: str
    created: float
    # Name of the revision the current template maps to.
    latest_created: str | None = None
    # The newest revision that became ready while it was the latest created.
    latest_ready: str | None = None
    # Highest configuration generation ever used for a generated name.
    revision_counter: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifest", JsonManifest.of(self.manifest))

    @property
    def key(self) -> str:
        return _key(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class StoredRevision:
    """One immutable revision: the template it was cut from, never changed."""

    namespace: str
    name: str
    service: str
    generation: int
    template_hash: str
    # The service manifest that produced this revision (its template is ours).
    manifest: Mapping[str, Any]
    uid: str
    created: float
    # Sticky: once a revision has served it stays routable (Knative's Ready).
    ever_ready: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    # Wall-clock time the route last stopped referencing it (Knative's
    # routingStateModified); None: never routed-then-unrouted. Revision GC reads it.
    last_active: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifest", JsonManifest.of(self.manifest))
        object.__setattr__(self, "labels", freeze(self.labels))

    @property
    def key(self) -> str:
        return _key(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One applied object kept as its manifest (a DomainMapping, a ConfigMap, a Secret)."""

    namespace: str
    name: str
    manifest: Mapping[str, Any]
    uid: str
    created: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifest", freeze(self.manifest))

    @property
    def key(self) -> str:
        return _key(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class StoredDomainMapping(StoredObject):
    """One applied DomainMapping: ``name`` is the custom host it maps."""


@dataclass(frozen=True, slots=True)
class StoredConfig(StoredObject):
    """One applied ConfigMap or Secret: ``manifest`` is its Kubernetes form (Secret data base64).

    ``version`` counts its changes (its ``resourceVersion``).
    """

    version: int = 1


@dataclass(frozen=True, slots=True)
class StoredConfigMap(StoredConfig):
    """A ConfigMap (see :class:`StoredConfig`)."""


@dataclass(frozen=True, slots=True)
class StoredSecret(StoredConfig):
    """A Secret (see :class:`StoredConfig`); the state file holding it is the owner's only."""


Record = TypeVar(
    "Record", StoredService, StoredRevision, StoredConfigMap, StoredSecret, StoredDomainMapping
)
