"""``serve --workers 2``: two gateway processes share the port and follow the control plane."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.harness import EXAMPLES, Server, wait_for
from tests.tooling import needs_tool

COFFEE = "coffee.default.example.com"


def gateway_workers(server: Server) -> list[int]:
    assert server.proc is not None
    out = subprocess.run(
        ["pgrep", "-P", str(server.proc.pid), "-f", "coldbrew gateway"],
        capture_output=True,
        text=True,
    )
    return [int(p) for p in out.stdout.split()]


def test_two_workers_serve_and_follow_rollouts(two_workers: Server) -> None:
    server = two_workers
    assert len(gateway_workers(server)) == 2
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    answers = {server.request(COFFEE).text for _ in range(50)}
    assert answers == {"Hello coffee!\n"}
    server.cli("apply", "-f", str(EXAMPLES / "coffee-v1.yaml"))
    wait_for(
        lambda: server.service("coffee")["status"].get("latestReadyRevisionName") == "coffee-v1"
    )
    wait_for(lambda: not server.pods("coffee-00001"), timeout=35, what="old pods drained")
    answers = {server.request(COFFEE).text for _ in range(50)}
    assert answers == {"Hello coffee-v1!\n"}


@needs_tool("hey")
def test_both_workers_take_connections(two_workers: Server) -> None:
    server = two_workers
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")  # Ready only once both workers applied the route
    workers = gateway_workers(server)

    def cpu(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    before = {pid: cpu(pid) for pid in workers}
    out = subprocess.run(
        ["hey", "-n", "4000", "-c", "40", "-host", COFFEE, f"{server.url}/"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "[200]\t4000 responses" in out.stdout, out.stdout
    used = {pid: cpu(pid) - before[pid] for pid in workers}
    assert all(ticks > 0 for ticks in used.values()), used
