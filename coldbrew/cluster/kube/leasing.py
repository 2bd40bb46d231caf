"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's leaderelection does.

One replica holds the Lease ``{namespace}/{name}``: its ``spec.holderIdentity`` names it,
``renewTime`` (a MicroTime) moves every ``retry_period`` while it leads. The others
read the Lease every ``retry_period`` and take it only once the record they see has not
changed for ``lease_duration`` (measured on their own monotonic clock from when they first
saw that record, so clock skew between machines does not matter), or at once when the
holder released it (empty ``holderIdentity``). Taking it is a PUT carrying the
``resourceVersion`` read, so of two replicas racing for an expired Lease one gets 409 and
stays a follower; a missing Lease is created (409 AlreadyExists: someone was first).

Never two leaders: a leader counts itself leader only until ``renew_deadline`` after the
start of its last successful renewal (and steps down when it could not renew by then),
while a follower waits at least ``lease_duration`` (> ``renew_deadline``) after it saw
that renewal. On shutdown the leader steps down first and then releases the Lease, so
another replica takes over at its next retry instead of after ``lease_duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .accessing import LEASES, Kube, status_of

log = logging.getLogger(__name__)

MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def microtime(moment: datetime) -> str:
    """A Kubernetes MicroTime string (UTC, microseconds)."""
    return moment.astimezone(UTC).strftime(MICROTIME)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """Hold the Lease ``namespace/name`` as ``identity`` while :meth:`run` runs."""

    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        jitter: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utcnow,
        on_started_leading: Callable[[], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self.kube = kube
        self.namespace, self.name, self.identity = namespace, name, identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.jitter = jitter
        self.clock = clock
        self.wall_clock = wall_clock
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.leading = asyncio.Event()  # set while this replica leads
        self.following = asyncio.Event()  # set while it does not
        self.following.set()
        self.transitions = 0  # times this replica became leader
        self._leader = False
        self._renewed_at = 0.0  # start of the last successful acquire/renew
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, transitions)
        self._observed_at = 0.0
        self._observed_holder = ""

    # -- state ----------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this replica holds a lease it renewed less than renew_deadline ago."""
        return self._leader and self.clock() < self._renewed_at + self.renew_deadline

    @property
    def holder(self) -> str:
        """The holder last seen in the Lease ("" when free or never read)."""
        return self._observed_holder

    def _set_leader(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        if leader:
            self.transitions += 1
            self.following.clear()
            self.leading.set()
            log.info("%s became the leader (lease %s/%s)", self.identity, self.namespace, self.name)
        else:
            self.leading.clear()
            self.following.set()
            log.info("%s stopped leading (lease %s/%s)", self.identity, self.namespace, self.name)
        callback = self.on_started_leading if leader else self.on_stopped_leading
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("leader election callback failed")

    # -- loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire and renew until cancelled; then step down and release the Lease."""
        try:
            while True:
                await self._round()
                delay = self.retry_period
                if not self._leader:
                    delay *= 1.0 + random.uniform(0.0, self.jitter)
                await asyncio.sleep(delay)
        finally:
            was_leader = self._leader
            self._set_leader(False)
            if was_leader:
                await asyncio.shield(self._release_quietly())

    async def _round(self) -> None:
        started = self.clock()
        if self._leader:
            timeout = max(0.0, self._renewed_at + self.renew_deadline - started)
        else:
            timeout = self.renew_deadline
        try:
            held = await asyncio.wait_for(self._try_acquire_or_renew(started), timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("lease %s/%s: %r", self.namespace, self.name, exc or "timed out")
            held = False
        if held:
            self._renewed_at = started
            self._set_leader(True)
        elif self._leader and (
            self._observed_holder not in ("", self.identity)
            or self.clock() >= self._renewed_at + self.renew_deadline
        ):
            self._set_leader(False)  # someone else holds it, or renewal is overdue

    def _observe(self, spec: dict[str, Any]) -> None:
        record = (
            spec.get("holderIdentity") or "",
            spec.get("renewTime"),
            spec.get("leaseTransitions"),
        )
        if record != self._observed:
            self._observed = record
            self._observed_at = self.clock()
        self._observed_holder = record[0]

    async def _try_acquire_or_renew(self, started: float) -> bool:
        now = microtime(self.wall_clock())
        lease = await self.kube.get(LEASES, self.namespace, self.name)
        if lease is None:
            body = {
                "apiVersion": LEASES.api_version,
                "kind": LEASES.kind,
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(now, acquire=now, transitions=0),
            }
            try:
                created = await self.kube.create(LEASES, self.namespace, body)
            except Exception as exc:
                if status_of(exc) == 409:
                    return False  # another replica created it first: read it next round
                raise
            self._observe(created.get("spec") or {})
            return True
        spec = lease.get("spec") or {}
        self._observe(spec)
        holder = self._observed_holder
        mine = holder == self.identity
        expired = self.clock() >= self._observed_at + self._duration_of(spec)
        if holder and not mine and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        lease["spec"] = self._spec(
            now,
            acquire=(spec.get("acquireTime") or now) if mine else now,
            transitions=transitions if mine else transitions + 1,
        )
        try:
            written = await self.kube.replace(LEASES, self.namespace, self.name, lease)
        except Exception as exc:
            if status_of(exc) == 409:
                return False  # the Lease changed since we read it: lost the race
            raise
        self._observe(written.get("spec") or {})
        return True

    def _duration_of(self, spec: dict[str, Any]) -> float:
        seconds = spec.get("leaseDurationSeconds")
        return float(seconds) if isinstance(seconds, int | float) else self.lease_duration

    def _spec(self, now: str, *, acquire: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, math.ceil(self.lease_duration)),
            "acquireTime": acquire,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    # -- release --------------------------------------------------------------------------

    async def release(self) -> bool:
        """Give the Lease up if this replica holds it (empty holder); True when released."""
        lease = await self.kube.get(LEASES, self.namespace, self.name)
        if lease is None:
            return False
        spec = lease.get("spec") or {}
        if spec.get("holderIdentity") != self.identity:
            return False
        now = microtime(self.wall_clock())
        lease["spec"] = {
            **spec,
            "holderIdentity": None,
            "leaseDurationSeconds": 1,
            "renewTime": now,
        }
        await self.kube.replace(LEASES, self.namespace, self.name, lease)
        log.info("%s released lease %s/%s", self.identity, self.namespace, self.name)
        return True

    async def _release_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.release(), self.renew_deadline)
