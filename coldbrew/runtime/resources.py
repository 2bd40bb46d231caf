"""Enforcing a pod's cpu/memory as far as the machine allows.

Each resource on its own, best mechanism first:

* cpu: a cgroup quota (v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``);
  without one, reserve pods run at nice +10 (standard pods are left alone).
* memory: a cgroup limit (v2 ``memory.max``, else v1 ``memory.limit_in_bytes``); without one,
  ``RLIMIT_AS`` of ``max(memory, 1 GiB)``. RLIMIT_AS caps address space, not RSS: Python,
  its allocator and thread stacks reserve far more than they use, so a tighter cap breaks
  ordinary apps. It is a guard against runaway pods, not an exact memory size.

The pod's process joins its groups before exec (``preexec_fn``), so its children are born
inside; the runtime then checks ``/proc/<pid>/cgroup`` and moves the process itself (or falls
back) if that did not happen. Failures never stop a pod: they are logged, the next mechanism is
used, and :attr:`Enforcement.describe` says what was really enforced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

from coldbrew.runtime import cgroups
from coldbrew.runtime.cgroups import Hierarchy
from coldbrew.runtime.specs import PodResources, format_bytes

log = logging.getLogger(__name__)
PERIOD_US = 100_000
MIN_QUOTA_US = 1_000
RESERVE_NICE = 10
MIN_RLIMIT_AS = 1 << 30


class Enforcement:
    """What one pod gets; reused across the pod's restarts, released when the pod ends."""

    def __init__(self, resources: PodResources, reserve: bool) -> None:
        self.resources, self.reserve = resources, reserve
        self.groups: dict[str, tuple[Hierarchy, Path]] = {}  # controller -> group it is in
        self.created: list[Path] = []  # groups to remove at the end
        self.nice = 0
        self.rlimit_as: int | None = None

    def fall_back(self, controller: str) -> None:
        self.groups.pop(controller, None)
        if controller == "cpu" and self.reserve:
            self.nice = RESERVE_NICE
        elif controller == "memory" and self.resources.memory is not None:
            self.rlimit_as = max(int(self.resources.memory), MIN_RLIMIT_AS)

    def preexec(self) -> Callable[[], None] | None:
        """Runs in the child between fork and exec: join groups, lower priority, cap memory."""
        targets = sorted({str(group / "cgroup.procs") for _, group in self.groups.values()})
        nice, rlimit = self.nice, self.rlimit_as
        if not targets and not nice and rlimit is None:
            return None

        def run() -> None:  # must not raise: the pod would not start
            pid = str(os.getpid()).encode()
            for target in targets:
                try:
                    fd = os.open(target, os.O_WRONLY)
                    try:
                        os.write(fd, pid)
                    finally:
                        os.close(fd)
                except Exception:
                    pass
            with contextlib.suppress(Exception):
                if nice:
                    os.nice(nice)
            with contextlib.suppress(Exception):
                if rlimit is not None:
                    resource.setrlimit(resource.RLIMIT_AS, (rlimit, rlimit))

        return run

    def confirm(self, pid: int) -> str:
        """Check with the kernel that ``pid`` is in its groups; fix or fall back; describe."""
        for controller, (h, group) in list(self.groups.items()):
            if h.member(pid, group, controller):
                continue
            with contextlib.suppress(OSError):
                cgroups.write(group / "cgroup.procs", str(pid))
            if h.member(pid, group, controller):
                continue
            log.warning("pod process %s is not in %s; falling back for %s", pid, group, controller)
            self.fall_back(controller)
            with contextlib.suppress(OSError):  # the child's preexec did not do it either
                if controller == "cpu" and self.nice:
                    mine = os.getpriority(os.PRIO_PROCESS, 0)
                    os.setpriority(os.PRIO_PROCESS, pid, mine + self.nice)
                elif controller == "memory" and self.rlimit_as is not None:
                    resource.prlimit(pid, resource.RLIMIT_AS, (self.rlimit_as, self.rlimit_as))
        return self.describe()

    def describe(self) -> str:
        """E.g. ``cgroup1 cpu=2 mem=4Gi``, ``nice+10 rlimit-as=4Gi``."""
        parts: list[tuple[str, str]] = []
        r = self.resources
        if "cpu" in self.groups:
            parts.append((f"cgroup{self.groups['cpu'][0].version}", f"cpu={r.cpu:g}"))
        elif self.nice:
            parts.append(("", f"nice+{self.nice}"))
        elif r.cpu is not None:
            parts.append(("", "cpu-unenforced"))
        if "memory" in self.groups and r.memory is not None:
            version = self.groups["memory"][0].version
            parts.append((f"cgroup{version}", f"mem={format_bytes(r.memory)}"))
        elif self.rlimit_as is not None:
            parts.append(("", f"rlimit-as={format_bytes(self.rlimit_as)}"))
        words: list[str] = []
        mechanism = ""
        for mech, text in parts:
            if mech and mech != mechanism:
                words.append(mech)
            mechanism = mech
            words.append(text)
        return " ".join(words) or "none"

    async def release(self) -> None:
        """Kill what is left in the pod's groups and remove them (and empty parents)."""
        for group in self.created:
            for _ in range(100):
                for pid in cgroups.procs(group):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                if cgroups.remove_group(group):
                    break
                await asyncio.sleep(0.02)
            else:
                log.warning("could not remove cgroup %s", group)
        self.created.clear()
        self.groups.clear()


class ResourceEnforcer:
    """Plans pods' enforcement. ``cgroups=False`` (or no usable hierarchy) forces the fallback.

    ``hierarchies`` overrides discovery (``/proc/self/mountinfo``), e.g. for tests.
    """

    def __init__(
        self, hierarchies: Mapping[str, Hierarchy] | None = None, *, cgroups: bool = True
    ) -> None:
        self.use_cgroups = cgroups
        self._hierarchies = dict(hierarchies) if hierarchies is not None else None

    @property
    def hierarchies(self) -> dict[str, Hierarchy]:
        if self._hierarchies is None:
            self._hierarchies = cgroups.discover()
        return self._hierarchies

    def prepare(self, name: str, resources: PodResources, *, reserve: bool) -> Enforcement:
        """Create and configure the pod's groups; fallbacks for what cannot have one."""
        e = Enforcement(resources, reserve)
        made: dict[Path, Path] = {}  # hierarchy mount -> the pod's group in it
        for controller, amount in (("cpu", resources.cpu), ("memory", resources.memory)):
            h = self.hierarchies.get(controller) if self.use_cgroups else None
            if amount is None or h is None:
                continue
            try:
                if h.mount not in made:
                    made[h.mount] = cgroups.make_group(h, name)
                    e.created.append(made[h.mount])
                _set_limit(h, made[h.mount], controller, amount)
                e.groups[controller] = (h, made[h.mount])
            except OSError as exc:
                log.warning("cannot limit %s of pod %s with cgroup v%s: %s", controller, name,
                            h.version, exc)  # fmt: skip
        for controller in ("cpu", "memory"):
            if controller not in e.groups:
                e.fall_back(controller)
        return e


def _set_limit(h: Hierarchy, group: Path, controller: str, amount: float) -> None:
    if controller == "cpu":
        quota = max(MIN_QUOTA_US, round(amount * PERIOD_US))
        if h.version == 2:
            cgroups.write(group / "cpu.max", f"{quota} {PERIOD_US}")
        else:
            cgroups.write(group / "cpu.cfs_period_us", str(PERIOD_US))
            cgroups.write(group / "cpu.cfs_quota_us", str(quota))
    elif h.version == 2:
        cgroups.write(group / "memory.max", str(int(amount)))
    else:
        cgroups.write(group / "memory.limit_in_bytes", str(int(amount)))
