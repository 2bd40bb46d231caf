"""Resource enforcement: cgroups where the machine allows, read back from the kernel; fallbacks."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from coldbrew.runtime import ImageMap, PodResources, PodRuntime, ResourceEnforcer
from coldbrew.runtime.cgroups import Hierarchy, discover
from coldbrew.runtime.specs import ENFORCED_ANNOTATION, PodTemplate

from .conftest import PROBE_APP, eventually, template

MiB, GiB = 1 << 20, 1 << 30
RKEY = "default/coffee-00001/reserve"


def reserve(cpu: float | None, memory: float | None, command: tuple[str, ...] = ()) -> PodTemplate:
    t = template(command=command or (sys.executable, PROBE_APP))
    return replace(t, role="reserve", resources=PodResources(cpu=cpu, memory=memory))


def limits_of(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        out[line[:26].strip()] = line[26:47].strip()
    return out


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def groups_of(pid: int) -> dict[str, Path]:
    """controller -> the directory of the cgroup ``pid`` is in, from ``/proc/<pid>/cgroup``."""
    hierarchies = discover()
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        for c, h in hierarchies.items():
            if (h.version == 2 and hid == "0") or (h.version == 1 and c in ctrls.split(",")):
                out[c] = h.mount / path.lstrip("/")
    return out


@pytest.fixture
async def make_runtime(tmp_path: Path) -> AsyncIterator:
    made: list[PodRuntime] = []

    def make(enforcer: ResourceEnforcer | None = None) -> PodRuntime:
        rt = PodRuntime(log_dir=tmp_path / f"logs{len(made)}", images=ImageMap.load(None),
                        grace=2, enforcer=enforcer, backoff_initial=0.1)  # fmt: skip
        made.append(rt)
        return rt

    yield make
    for rt in made:
        await rt.shutdown(grace=2)


async def test_enforced_on_this_machine(make_runtime) -> None:
    rt = make_runtime()
    rt.scale(reserve(0.5, 128 * MiB), 1)
    assert await rt.wait_ready(RKEY)
    (p,) = rt.pods()
    assert p.pid is not None
    assert p.to_k8s()["metadata"]["annotations"][ENFORCED_ANNOTATION] == p.enforced
    if not p.enforced.startswith("cgroup"):  # no usable cgroups here: the fallback
        assert p.enforced == "nice+10 rlimit-as=1Gi"
        assert limits_of(p.pid)["Max address space"] == str(GiB)
        return
    groups = groups_of(p.pid)
    cpu, mem = groups["cpu"], groups["memory"]
    assert cpu.name.startswith(p.name) and mem.name.startswith(p.name)
    if p.enforced.startswith("cgroup2"):
        assert p.enforced == "cgroup2 cpu=0.5 mem=128Mi"
        assert (cpu / "cpu.max").read_text().split() == ["50000", "100000"]
        assert int((mem / "memory.max").read_text()) == 128 * MiB
    else:
        assert p.enforced == "cgroup1 cpu=0.5 mem=128Mi"
        assert int((cpu / "cpu.cfs_quota_us").read_text()) == 50000
        assert int((cpu / "cpu.cfs_period_us").read_text()) == 100000
        assert int((mem / "memory.limit_in_bytes").read_text()) == 128 * MiB
    assert nice_of(p.pid) == nice_of(os.getpid())  # the quota does it; no nice needed
    rt.scale(reserve(0.5, 128 * MiB), 0)
    await eventually(lambda: not rt.pods(), what="pod gone")
    assert not cpu.exists() and not mem.exists()  # cleaned up with the pod


async def test_memory_limit_really_bites(make_runtime) -> None:
    hog = (sys.executable, "-c", "x = bytearray(400 << 20); print('survived', flush=True)")
    rt = make_runtime()
    rt.scale(reserve(None, 64 * MiB, hog), 1)
    await eventually(lambda: rt.pods()[0].exit_code is not None, what="hog ended")
    (p,) = rt.pods()
    if "mem=" not in p.enforced:
        pytest.skip(f"memory is not cgroup-limited here ({p.enforced})")
    assert p.exit_code == -9 and "survived" not in rt.log(p.name)  # OOM-killed


async def test_fallback_when_cgroup_root_not_writable(make_runtime, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "cgroupfs"
    not_a_dir.write_text("")  # mkdir under a regular file fails, even as root
    fake = {c: Hierarchy(1, not_a_dir) for c in ("cpu", "memory")}
    rt = make_runtime(ResourceEnforcer(fake))
    rt.scale(reserve(1, 2 * GiB), 1)
    std = template(command=(sys.executable, PROBE_APP))
    std = replace(std, resources=PodResources(cpu=2, memory=GiB // 2))
    rt.scale(std, 1)
    assert await rt.wait_ready(RKEY) and await rt.wait_ready(std.key)
    by_role = {p.role: p for p in rt.pods()}
    r, s = by_role["reserve"], by_role["standard"]
    assert r.pid is not None and s.pid is not None
    assert r.enforced == "nice+10 rlimit-as=2Gi"
    assert limits_of(r.pid)["Max address space"] == str(2 * GiB)
    assert nice_of(r.pid) == min(19, nice_of(os.getpid()) + 10)
    assert s.enforced == "cpu-unenforced rlimit-as=1Gi"  # max(memory, 1 GiB)
    assert limits_of(s.pid)["Max address space"] == str(GiB)
    assert nice_of(s.pid) == nice_of(os.getpid())
    assert not any(not_a_dir.parent.glob("**/coldbrew"))


def test_cgroups_off_and_descriptions() -> None:
    off = ResourceEnforcer(cgroups=False)
    e = off.prepare("p", PodResources(cpu=2, memory=4 * GiB), reserve=True)
    assert (e.nice, e.rlimit_as, e.groups, e.created) == (10, 4 * GiB, {}, [])
    assert e.describe() == "nice+10 rlimit-as=4Gi"
    assert off.prepare("p", PodResources(cpu=1), reserve=False).describe() == "cpu-unenforced"
    assert off.prepare("p", PodResources(cpu=1), reserve=False).preexec() is None
    assert off.prepare("p", PodResources(instance_type="x"), reserve=True).describe() == "nice+10"


async def test_cgroup2_files_written_and_unconfirmed_move_falls_back(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    group = tmp_path / "coldbrew" / "pod-a"
    group.mkdir(parents=True)  # a fake cgroupfs: the files the kernel would provide
    (tmp_path / "coldbrew" / "cgroup.controllers").write_text("cpu memory\n")
    for f in ("coldbrew/cgroup.subtree_control", "coldbrew/pod-a/cgroup.procs"):
        (tmp_path / f).write_text("")
    for f in ("cpu.max", "memory.max"):
        (group / f).write_text("")
    h = Hierarchy(2, tmp_path)
    enforcer = ResourceEnforcer({"cpu": h, "memory": h})
    e = enforcer.prepare("pod-a", PodResources(cpu=2, memory=4 * GiB), reserve=True)
    assert (group / "cpu.max").read_text() == "200000 100000"
    assert (group / "memory.max").read_text() == str(4 * GiB)
    assert (tmp_path / "coldbrew" / "cgroup.subtree_control").read_text().startswith("+")
    assert e.describe() == "cgroup2 cpu=2 mem=4Gi" and e.nice == 0 and e.rlimit_as is None
    # a fake cgroupfs cannot move a process: the runtime notices and falls back from outside
    sleeper = (sys.executable, "-c", "import time; time.sleep(30)")
    child = await asyncio.create_subprocess_exec(*sleeper)
    try:
        assert e.confirm(child.pid) == "nice+10 rlimit-as=4Gi"
        assert limits_of(child.pid)["Max address space"] == str(4 * GiB)
        assert nice_of(child.pid) == min(19, nice_of(os.getpid()) + 10)
    finally:
        child.kill()
        await child.wait()
    for f in ("cpu.max", "memory.max", "cgroup.procs"):  # cgroupfs would not need this
        (group / f).unlink()
    for f in ("cgroup.controllers", "cgroup.subtree_control"):
        (tmp_path / "coldbrew" / f).unlink()
    await e.release()
    assert not (tmp_path / "coldbrew").exists()


def test_discover(tmp_path: Path) -> None:
    mountinfo, cgroup = tmp_path / "mountinfo", tmp_path / "cgroup"
    mountinfo.write_text(
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        f"41 31 0:38 / {tmp_path} rw,relatime - cgroup2 cgroup2 rw\n"
    )
    cgroup.write_text("4:memory:/job/7\n1:cpu,cpuacct:/\n0::/\n")
    (tmp_path / "cgroup.controllers").write_text("hugetlb\n")  # hybrid: nothing useful in v2
    found = discover(mountinfo, cgroup)
    assert found == {
        "cpu": Hierarchy(1, Path("/sys/fs/cgroup/cpu"), "/"),
        "memory": Hierarchy(1, Path("/sys/fs/cgroup/memory"), "/job/7"),
    }
    assert found["memory"].base == Path("/sys/fs/cgroup/memory/job/7/coldbrew")
    mountinfo.write_text(f"41 31 0:38 /ns {tmp_path} rw - cgroup2 cgroup2 rw\n")
    cgroup.write_text("0::/ns/svc\n")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "cgroup.controllers").write_text("cpu io memory\n")
    h = Hierarchy(2, tmp_path, "/svc")
    assert discover(mountinfo, cgroup) == {"cpu": h, "memory": h}
