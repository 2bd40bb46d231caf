"""ASK reserved instances: which revisions have one, its size, and the hand-over.

Source: the ASK article "Knative on Alibaba Cloud" (reserved instances). By default an idle
revision is not scaled to zero but kept on one cheap reserve instance (burstable
``ecs.t5-lc1m2.small`` unless ``knative.aliyun.com/reserve-instance-eci-use-specs`` names
others); "you can specify the system to reserve at least one standard instance, so that
the reserved instance feature is disabled"; when traffic comes, standard instances are
scaled out and "after the standard instances enter the ready state, the reserved instances
will be scaled in". The reserve is for revisions traffic can reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from rulebook.ask import use_specs_value

Address = tuple[str, int]


class Instance(Protocol):
    """An instance type a reserve pod runs on."""

    @property
    def name(self) -> str: ...


S = TypeVar("S")  # what the user asked for (``eci-use-specs``), resolved by the caller
I = TypeVar("I", bound=Instance)  # noqa: E741 - the instance type the specs resolve to


@dataclass(frozen=True, slots=True)
class Reserve(Generic[I]):
    """A revision's reserve: on ``instance``, ``eci-use-specs`` value ``use_specs``."""

    instance: I
    use_specs: str
    replicas: int


def reserve_configured(enabled: bool | None, default: bool, resolved_min: int) -> bool:
    """The revision has a reserve: ``reserve-instance`` (else the default) says enable,
    and its min-scale (:func:`rulebook.scale_bounds.min_scale`) is 0 - a min-scale of 1 or
    more "reserves at least one standard instance", which disables the reserve."""
    return (default if enabled is None else enabled) and resolved_min < 1


def reserve_serves(*, configured: bool, routed: bool) -> bool:
    """A configured reserve takes over only while traffic can reach the revision."""
    return configured and routed


def choose_reserve(
    *,
    enabled: bool | None,
    replicas: int | None,
    specs: S | None,
    default_enabled: bool,
    default_replicas: int,
    default_specs: S,
    resolved_min: int,
    resolve: Callable[[S], I],
    instance_types: Callable[[S], Sequence[str]],
) -> Reserve[I] | None:
    """The revision's reserve, or None: annotations win over the platform's defaults.

    ``resolve`` picks the instance of the specs (first known type, a CPU-memory size or the
    default); ``instance_types`` lists the types the specs name, in order.
    """
    if not reserve_configured(enabled, default_enabled, resolved_min):
        return None
    chosen = default_specs if specs is None else specs
    instance = resolve(chosen)
    return Reserve(
        instance=instance,
        use_specs=use_specs_value(instance_types(chosen), instance.name),
        replicas=default_replicas if replicas is None else replicas,
    )


@dataclass(frozen=True, slots=True)
class Replicas:
    """Replica counts to set: the standard pods' and the reserve's."""

    standard: int
    reserve: int


def hand_over(
    desired: int,
    *,
    standard_ready: int,
    reserve_ready: int,
    has_reserve: bool,
    reserve_count: int = 1,
    standard_spec: int = 0,
    reserve_spec: int = 0,
) -> Replicas:
    """The replica counts for a KPA decision of ``desired`` standard pods, now.

    ``standard_spec`` and ``reserve_spec`` are the current desired counts: what a side that
    must wait keeps until the other is ready. Level-triggered: re-evaluate on every
    decision and every pod change.

    * without a reserve (see :func:`reserve_serves`), the KPA decides alone;
    * ``desired == 0``: the reserve goes to ``reserve_count`` first; the standard pods stay
      until that many reserve pods are ready, and only then go to zero;
    * ``desired > 0``: the standard pods go to ``desired`` at once; the reserve keeps its
      count until a standard pod is ready, and only then goes to zero.

    In both directions the side taking the traffic is ready before the other side leaves,
    so a revision that had a ready pod never has none.
    """
    desired = max(0, desired)
    if not has_reserve:
        return Replicas(standard=desired, reserve=0)
    count = max(1, reserve_count)
    if desired == 0:
        handed = reserve_ready >= count
        return Replicas(standard=0 if handed else max(0, standard_spec), reserve=count)
    taken_back = standard_ready >= 1
    return Replicas(standard=desired, reserve=0 if taken_back else max(0, reserve_spec))


def traffic_endpoints(
    standard: Sequence[Address], reserve: Sequence[Address]
) -> tuple[list[Address], bool]:
    """Where a revision's requests go: its ready standard pods, else its ready reserve pods.

    The flag is ``wake_on_request``: True while the reserve serves, so every arrival pokes
    the autoscaler and traffic wakes the standard pods up.
    """
    if standard:
        return list(standard), False
    return list(reserve), bool(reserve)
