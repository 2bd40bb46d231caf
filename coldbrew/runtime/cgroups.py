"""Where this process's cpu and memory cgroup controllers are, and small cgroupfs helpers.

Pods' groups are created *under this process's own cgroup* (``<mount>/<own path>/coldbrew/``),
so they stay inside whatever limits the runtime itself runs under.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("cpu", "memory")
PARENT = "coldbrew"


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """One mounted cgroup hierarchy holding a controller."""

    version: int  # 1 or 2
    mount: Path  # where it is mounted
    own: str = "/"  # this process's cgroup, relative to the mount's root

    @property
    def base(self) -> Path:
        """The directory pods' groups are created in."""
        return self.mount / self.own.strip("/") / PARENT

    def member(self, pid: int, group: Path, controller: str) -> bool:
        """True if ``pid`` is in ``group`` (read from ``/proc/<pid>/cgroup``)."""
        want = "/" + str(group.relative_to(self.mount)).strip("/")
        for line in _lines(Path(f"/proc/{pid}/cgroup")):
            hid, ctrls, path = line.split(":", 2)
            ours = hid == "0" if self.version == 2 else controller in ctrls.split(",")
            if ours and path.rstrip("/").endswith(want):  # the mount may be a subtree
                return True
        return False


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def discover(
    mountinfo: Path = Path("/proc/self/mountinfo"), cgroup_file: Path = Path("/proc/self/cgroup")
) -> dict[str, Hierarchy]:
    """``{"cpu": Hierarchy, "memory": Hierarchy}`` for the controllers this machine has.

    A controller in the v2 hierarchy's ``cgroup.controllers`` is used there; else the v1
    hierarchy it is bound to (``cpu`` or ``cpu,cpuacct``, ``memory``).
    """
    own: dict[str, str] = {}  # "0" (v2) or controller name -> own path
    for line in _lines(cgroup_file):
        hid, ctrls, path = line.split(":", 2)
        if hid == "0" and not ctrls:
            own["0"] = path
        for c in ctrls.split(","):
            if c:
                own[c] = path
    found: dict[str, Hierarchy] = {}
    v1: dict[str, Hierarchy] = {}
    for line in _lines(mountinfo):
        pre, _, post = line.partition(" - ")
        fields, after = pre.split(), post.split()
        if len(fields) < 5 or len(after) < 3:
            continue
        root, mount, fstype, opts = fields[3], Path(fields[4]), after[0], after[2].split(",")
        if fstype == "cgroup2" and "0" in own:
            h = Hierarchy(2, mount, _relative(own["0"], root))
            try:
                available = (mount / h.own.strip("/") / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            for c in CONTROLLERS:
                if c in available:
                    found[c] = h
        elif fstype == "cgroup":
            for c in CONTROLLERS:
                if c in opts and c in own:
                    v1[c] = Hierarchy(1, mount, _relative(own[c], root))
    return {**v1, **found}


def _relative(path: str, root: str) -> str:
    if root != "/" and (path == root or path.startswith(root.rstrip("/") + "/")):
        return path[len(root.rstrip("/")) :] or "/"
    return path


def write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def make_group(h: Hierarchy, name: str) -> Path:
    """Create ``<base>/<name>`` (v2: with the cpu and memory controllers enabled for it)."""
    if h.version == 2:
        # children only get a controller their parent enables in cgroup.subtree_control
        own = h.base.parent
        wanted = set(CONTROLLERS) & set((own / "cgroup.controllers").read_text().split())
        for c in sorted(wanted):
            with contextlib.suppress(OSError):  # may already be on; checked below
                write(own / "cgroup.subtree_control", f"+{c}")
    h.base.mkdir(exist_ok=True)
    if h.version == 2:
        available = set((h.base / "cgroup.controllers").read_text().split())
        for c in sorted(set(CONTROLLERS) & available):
            write(h.base / "cgroup.subtree_control", f"+{c}")
    group = h.base / name
    group.mkdir(exist_ok=True)
    return group


def procs(group: Path) -> list[int]:
    return [int(x) for x in _lines(group / "cgroup.procs") if x.strip()]


def remove_group(group: Path) -> bool:
    """rmdir ``group`` and then its parent if empty; False if ``group`` is still busy."""
    try:
        group.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    with contextlib.suppress(OSError):  # in use by other pods (or other runtimes)
        group.parent.rmdir()
    return True
