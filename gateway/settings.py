"""The gateway's control API: typed revision settings and the Protocol that programs it.

The data plane owns this API. The control plane (local controller, worker feed, cluster
mirror) builds a :class:`RevisionSettings` and hands it to anything that satisfies
:class:`GatewayControl`: the :class:`~gateway.Gateway` itself, or the fan-out that forwards
to worker processes. The worker feed serialises settings here and nowhere else
(:func:`revision_frame` / :func:`read_revision_frame`), under the same names.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Protocol

from activator.throttler import DEFAULT_MAX_BUFFERED, DEFAULT_QUEUE_DEPTH

Address = tuple[str, int]
Routes = Mapping[str, Sequence[tuple[str, int]]]  # host -> [(revision key, percent)]
DEFAULT_TIMEOUT = 300.0
PROTOCOLS = frozenset({"http1", "h2c"})  # to the pods


@dataclass(frozen=True, slots=True)
class RevisionSettings:
    """How the gateway serves one revision. Timeouts of None are disabled.

    - ``timeout_seconds``: arrival -> response start, else 504 (Knative's timeoutSeconds).
    - ``response_start_timeout_seconds``: forwarded -> response head, else 504.
    - ``idle_timeout_seconds``: no bytes either way once forwarded: 504 before the
      response, else the connection is closed.
    - ``container_concurrency``: > 0, a hard limit of requests per pod from this gateway.
    - ``activator_in_path``: False, pods are chosen by power of two choices for every
      container concurrency (the KPA's decision, Knative's target-burst-capacity).
    - ``wake_on_request``: the endpoints are reserve pods; every arrival pokes the
      autoscaler (at most one poke per revision per 100 ms).
    - ``queue_depth``: requests waiting beyond this get 503 at once.
    - ``max_buffered_bytes``: waiting requests' body bytes beyond this get 503.
    - ``protocol``: how the gateway speaks to the pods: ``"http1"`` (HTTP/1.1), or
      ``"h2c"`` (HTTP/2 with prior knowledge; Knative's rule: the container port is named
      ``h2c``).
    """

    timeout_seconds: float = DEFAULT_TIMEOUT
    container_concurrency: int = 0
    response_start_timeout_seconds: float | None = None
    idle_timeout_seconds: float | None = None
    activator_in_path: bool = True
    wake_on_request: bool = False
    queue_depth: int = DEFAULT_QUEUE_DEPTH
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED
    protocol: str = "http1"

    def __post_init__(self) -> None:
        if not self.timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be > 0, got {self.timeout_seconds!r}")
        if self.container_concurrency < 0:
            raise ValueError(
                f"container_concurrency must be >= 0, got {self.container_concurrency!r}"
            )
        for name in ("response_start_timeout_seconds", "idle_timeout_seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None, got {value!r}")
        if self.queue_depth < 0 or self.max_buffered_bytes < 0:
            raise ValueError("queue_depth and max_buffered_bytes must be >= 0")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {self.protocol!r}")

    def to_wire(self) -> dict[str, float | int | bool | str | None]:
        """JSON scalars under the field names (one shared dict per distinct settings:
        read it, do not change it; 10,000 idle revisions mostly share a few)."""
        return _wire(self)

    @classmethod
    def from_wire(cls, obj: Mapping[str, object]) -> RevisionSettings:
        """The inverse of :meth:`to_wire`; unknown names or wrong types raise ValueError.

        Cached by value and type (``True == 1``): a snapshot of 10,000 revisions repeats a
        few settings. An unhashable value is read uncached (and refused)."""
        key = tuple((k, type(v), v) for k, v in obj.items())
        try:
            hash(key)
        except TypeError:
            return cls._read(obj)
        return _read_cached(key)

    @classmethod
    def _read(cls, obj: Mapping[str, object]) -> RevisionSettings:
        known = {f.name: f for f in fields(cls)}
        unknown = set(obj) - set(known)
        if unknown:
            raise ValueError(f"unknown revision settings: {sorted(unknown)}")
        values: dict[str, object] = {}
        for name, value in obj.items():
            values[name] = _coerce(name, str(known[name].type), value)
        return cls(**values)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1024)
def _read_cached(items: tuple[tuple[str, type, object], ...]) -> RevisionSettings:
    return RevisionSettings._read({name: value for name, _, value in items})


def _coerce(name: str, kind: str, value: object) -> object:
    if value is None and "None" in kind:
        return None
    if kind.startswith("str"):
        if isinstance(value, str):
            return value
    elif kind.startswith("bool"):
        if isinstance(value, bool):
            return value
    elif kind.startswith("int"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"revision setting {name} must be {kind}, got {value!r}")


class GatewayControl(Protocol):
    """Something that programs a gateway: the Gateway, or a fan-out to worker processes."""

    def set_routes(self, routes: Routes, redirected: Collection[str] = ()) -> None:
        """Replace the whole host table; hosts lower-case without port, weights sum to 100.

        ``redirected``: hosts of the table whose plain HTTP requests get a 301 to https
        (``http-protocol: Redirected``) when the gateway listens for HTTPS.
        """

    def update_routes(
        self,
        changed: Routes,
        removed: Collection[str] = (),
        redirected: Collection[str] = (),
    ) -> None:
        """Change part of the host table: ``changed`` hosts are added or replaced whole,
        ``removed`` hosts leave it; ``redirected``: which hosts of ``changed`` answer plain
        HTTP with a 301 (the others of ``changed`` do not). Other hosts are untouched.
        ``gateway.route_deltas.RoutePublisher`` computes these from whole tables.
        """

    def set_revision(
        self, key: str, endpoints: Sequence[Address], settings: RevisionSettings
    ) -> None:
        """Set a revision's ready endpoints (replacing the list) and its settings."""

    def forget_revision(self, key: str) -> None:
        """Drop a revision; requests for it get 503."""

    def routes_synced(self) -> bool:
        """Every gateway serving traffic applied the newest route table (or delta)."""

    async def drain_endpoint(self, endpoint: Address, timeout: float = 30.0) -> bool:  # noqa: ASYNC109
        """Return once no request is in flight on ``endpoint`` (False on timeout)."""


@functools.lru_cache(maxsize=1024)
def _wire(settings: RevisionSettings) -> dict[str, float | int | bool | str | None]:
    return {name: getattr(settings, name) for name in _SETTING_NAMES}


_SETTING_NAMES = tuple(f.name for f in fields(RevisionSettings))


def revision_frame(
    key: str, endpoints: Sequence[Address], settings: RevisionSettings
) -> dict[str, object]:
    """The worker feed's ``set_revision`` arguments."""
    return {
        "key": key,
        "endpoints": [[host, port] for host, port in endpoints],
        "settings": settings.to_wire(),
    }


def read_revision_frame(
    args: Mapping[str, object],
) -> tuple[str, list[Address], RevisionSettings]:
    """The inverse of :func:`revision_frame`; a malformed frame raises ValueError."""
    key, endpoints, settings = args.get("key"), args.get("endpoints"), args.get("settings")
    if not isinstance(key, str) or not isinstance(endpoints, list):
        raise ValueError("set_revision needs a string key and a list of endpoints")
    if not isinstance(settings, Mapping):
        raise ValueError("set_revision needs a settings object")
    addresses: list[Address] = []
    for endpoint in endpoints:
        if not (isinstance(endpoint, list | tuple) and len(endpoint) == 2):
            raise ValueError(f"an endpoint is [host, port], got {endpoint!r}")
        addresses.append((str(endpoint[0]), int(endpoint[1])))
    return key, addresses, RevisionSettings.from_wire(settings)
