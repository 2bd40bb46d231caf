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


def test_workers_stop_when_serve_is_killed(tmp_path: Path) -> None:
    server = Server(tmp_path / "state", "--workers", "2")
    server.start()
    assert server.proc is not None
    try:
        workers = wait_for(
            lambda: (pids := gateway_workers(server)) and len(pids) == 2 and pids,
            what="two workers",
        )
    except BaseException:
        server.stop()
        raise
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    wait_for(lambda: not any(alive(p) for p in workers), timeout=40, what="workers gone")


def test_process_pods_stop_when_serve_is_killed(tmp_path: Path) -> None:
    server = Server(tmp_path / "state")
    server.start()
    assert server.proc is not None
    try:
        server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
        server.wait_ready("coffee")
        pods = wait_for(lambda: children(server.proc.pid, "coldbrew.sample"), what="a pod")
    except BaseException:
        server.stop()
        raise
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    wait_for(lambda: not any(alive(p) for p in pods), timeout=40, what="pods gone")


def children(parent: int, pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent), "-f", pattern], capture_output=True)
    return [int(p) for p in out.stdout.split()]
