"""Process pods as the pod user (``PodRuntime(pod_user=...)``) when coldbrew runs as root.

This interpreter may live where that user cannot look (``/root``): every Python process of
the pod (serving, sidecar) must still start, in the pod's private mount namespace.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from coldbrew.runtime import ContainerSpec, ImageMap, PodRuntime, ProbeSpec
from coldbrew.runtime.container_specs import SecuritySpec
from coldbrew.runtime.identity import NOBODY
from coldbrew.runtime.naming import free_port

from .conftest import PROBE_APP, Changes, eventually, template

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="switching users needs root")
KEY = "default/coffee-00001"
AS_NOBODY = ("/bin/sh", "-c", 'test "$(id -u):$(id -g)" = 65534:65534')


def uid_gid(pid: int) -> tuple[int, int]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["Uid"].split()[0]), int(status["Gid"].split()[0])


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
async def as_nobody(tmp_path: Path, changes: Changes) -> AsyncIterator[PodRuntime]:
    rt = PodRuntime(
        log_dir=tmp_path / "logs", images=ImageMap.load(None), on_change=changes, grace=5,
        pod_user=NOBODY,
    )  # fmt: skip
    try:
        yield rt
    finally:
        await rt.shutdown(grace=2)


async def test_a_python_pod_its_exec_probe_and_sidecar_run_as_the_pod_user(
    as_nobody: PodRuntime,
) -> None:
    side_port = free_port("127.0.0.1")
    sidecar = ContainerSpec(
        image="registry.example.com/helper:1",
        command=(sys.executable, "-m", "http.server", str(side_port), "--bind", "127.0.0.1"),
        name="helper",
        readiness_probe=ProbeSpec(kind="tcp", port=side_port),
    )
    t = template(command=(sys.executable, PROBE_APP), env={})
    t = replace(
        t, container=replace(t.container, readiness_probe=ProbeSpec(kind="exec", command=AS_NOBODY))
    )
    as_nobody.scale(replace(t, sidecars=(sidecar,)), 1)
    assert await as_nobody.wait_ready(KEY, timeout=20)  # the exec probe passed as nobody
    (info,) = as_nobody.pods()
    assert info.pid is not None and uid_gid(info.pid) == (65534, 65534)
    # The exec probe does not wait for the app: ask until both answer.
    await eventually(lambda: answers(info.port) and answers(side_port), 15, "app and sidecar")
    # The sidecar: this test's other child serving side_port (the session may have started
    # more children, e.g. the engine's API service for the container tests).
    helper = [
        p for p in _children_of(os.getpid()) if p != info.pid and str(side_port) in cmdline(p)
    ]
    assert len(helper) == 1 and uid_gid(helper[0]) == (65534, 65534)


async def test_run_as_user_beats_the_pod_user_and_home_follows(as_nobody: PodRuntime) -> None:
    script = 'echo "ids $(id -u):$(id -g) home $HOME"; exec sleep 600'
    t = template(command=("/bin/sh", "-c", script), env={})
    sec = SecuritySpec(run_as_user=4242)  # no group: the pod user's
    as_nobody.scale(replace(t, container=replace(t.container, security=sec)), 1)
    await eventually(lambda: as_nobody.pods() and "ids" in as_nobody.log(as_nobody.pods()[0].name))
    (info,) = as_nobody.pods()
    line = next(x for x in as_nobody.log(info.name).splitlines() if x.startswith("ids"))
    home = Path(line.split(" home ")[1])
    assert line.startswith("ids 4242:65534") and home.name == info.name
    owner = os.stat(home)
    assert (owner.st_uid, owner.st_gid) == (4242, 65534)
    as_nobody.scale(t, 0)
    await eventually(lambda: as_nobody.pods() == [] and not home.exists(), 20, "pod and home gone")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children_of(pid: int) -> list[int]:
    """Every live process whose parent is ``pid`` (the pods' processes: serving, sidecars)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.fixture
def nested() -> Iterator[tuple[Path, Path]]:
    """(wanted, other): /tmp/x (0700)/open/closed-too (0700)/file.txt, /tmp/x/open/other.txt."""
    base = Path(tempfile.mkdtemp(prefix="coldbrew-reach-", dir="/tmp"))
    deep = base / "open" / "closed-too"
    deep.mkdir(parents=True)
    (base / "open").chmod(0o755)
    deep.chmod(0o700)
    other = base / "open" / "other.txt"
    other.write_text("not for the pod\n")
    wanted = deep / "file.txt"
    wanted.write_text("brought back\n")
    wanted.chmod(0o644)
    try:
        yield wanted, other
    finally:
        shutil.rmtree(base)


async def test_a_file_behind_closed_dirs_nested_in_reach_is_brought_back(
    as_nobody: PodRuntime, nested: tuple[Path, Path]
) -> None:
    """A path on the command line is reached, what is next to it is not."""
    wanted, other = nested
    script = f'cat "$0"; cat {other} || echo other: hidden; exec sleep 600'
    t = template(command=("/bin/sh", "-c", script, str(wanted)), env={})
    as_nobody.scale(t, 1)
    await eventually(
        lambda: as_nobody.pods() and "hidden" in as_nobody.log(as_nobody.pods()[0].name)
    )
    log = as_nobody.log(as_nobody.pods()[0].name)
    assert "brought back" in log and "not for the pod" not in log, log
