"""``coldbrew serve`` killed outright leaves no gateway worker and no process pod behind."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.e2e.harness import EXAMPLES, Server, wait_for
from tests.e2e.test_workers import gateway_workers


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def kill_serve_then_wait_for(server: Server, children: list[int], what: str) -> None:
    """``kill -9`` serve; ``children`` (its processes) must be gone within the deadline."""
    assert server.proc is not None and children
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    wait_for(lambda: not any(alive(p) for p in children), timeout=40, what=f"{what} gone")


def children_of(server: Server, pattern: str) -> list[int]:
    assert server.proc is not None
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid), "-f", pattern], capture_output=True)
    return [int(p) for p in out.stdout.split()]


def test_workers_stop_when_serve_is_killed(tmp_path: Path) -> None:
    server = Server(tmp_path / "state", "--workers", "2")
    server.start()
    try:
        workers = wait_for(lambda: len(pids := gateway_workers(server)) == 2 and pids)
    except BaseException:
        server.stop()
        raise
    kill_serve_then_wait_for(server, workers, "workers")


def test_process_pods_stop_when_serve_is_killed(tmp_path: Path) -> None:
    server = Server(tmp_path / "state")
    server.start()
    try:
        server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
        server.wait_ready("coffee")
        pods = wait_for(lambda: children_of(server, "coldbrew.sample"), what="a pod")
    except BaseException:
        server.stop()
        raise
    kill_serve_then_wait_for(server, pods, "pods")
