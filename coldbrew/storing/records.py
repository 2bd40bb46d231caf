"""What the store keeps: one record per applied Service and per Revision cut from it.

Records are frozen: a caller changes stored state only by building a new record
(``dataclasses.replace``) and ``put``-ting it inside a transaction. The repository
also copies the mutable parts (``manifest``, ``labels``) on the way in and out, so
neither a record handed to ``put`` nor one returned by ``get``/``list`` is a live
view of the stored state.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar


class StoreError(RuntimeError):
    """The state cannot be read or written, or the store was used wrongly."""


@dataclass(frozen=True, slots=True)
class StoredService:
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


@dataclass(frozen=True, slots=True)
class StoredRevision:
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


Record = TypeVar("Record", StoredService, StoredRevision)


def detached(record: Record) -> Record:
    """A copy of ``record`` sharing no mutable part with it."""
    if isinstance(record, StoredRevision):
        return dataclasses.replace(
            record, manifest=copy.deepcopy(record.manifest), labels=dict(record.labels)
        )
    return dataclasses.replace(record, manifest=copy.deepcopy(record.manifest))
