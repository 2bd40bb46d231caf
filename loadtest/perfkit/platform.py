"""The real platform under load: ``coldbrew serve`` with services applied through its API.

Reuses the end-to-end tests' harness (tests/e2e/harness.py): a fresh state folder and
free ports per run. 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from loadtest.perfkit.procs import children
from tests.e2e.harness import (
    EXAMPLES,
    Server,
    wait_for,
)

# The seed's cafe image, as examples/coffee.yaml names it.
IMAGE = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())["spec"]["template"]["spec"][
    "containers"
][0]["image"]
CONFIG = "autoscaler:\n  allow-zero-initial-scale: true\n"
ANN = "autoscaling.knative.dev/"


def manifest(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "template": {
                "metadata": {"annotations": dict(annotations)},
                "spec": {
                    "containers": [{"image": IMAGE, "env": [{"name": "TARGET", "value": name}]}]
                },
            }
        },
    }


def serving(name: str, *, burst: str | None = None) -> dict[str, Any]:
    """A service kept at exactly one standard pod; ``burst``: target-burst-capacity."""
    notes = {ANN + "min-scale": "1", ANN + "max-scale": "1"}
    if burst is not None:
        notes[ANN + "target-burst-capacity"] = burst
    return manifest(name, notes)


def idle(name: str) -> dict[str, Any]:
    """A service applied with no pod at all (scale to zero, initial scale 0)."""
    return manifest(
        name, {ANN + "initial-scale": "0", "knative.aliyun.com/reserve-instance": "disable"}
    )


def host(name: str) -> str:
    return f"{name}.default.example.com"


@contextlib.contextmanager
def platform(tmp: Path, workers: int = 1) -> Iterator[Server]:
    """A running ``coldbrew serve --workers N`` with a fresh state folder."""
    run = tmp / f"serve-{time.monotonic_ns()}"
    run.mkdir()
    config = run / "config.yaml"
    config.write_text(CONFIG)
    server = Server(run / "state", "--workers", str(workers), "--config", str(config))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def gateway_pids(server: Server, workers: int) -> list[int]:
    """The processes that serve the data plane: the serve process, or its workers."""
    assert server.proc is not None
    if workers <= 1:
        return [server.proc.pid]
    pids = []
    for pid in children(server.proc.pid):
        with contextlib.suppress(OSError):
            if b"gateway" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
    return pids


def apply_ready(server: Server, *objs: dict[str, Any], timeout: float = 60) -> None:
    client = server.client()
    for obj in objs:
        client.apply(copy.deepcopy(obj))
    for obj in objs:
        server.wait_ready(obj["metadata"]["name"], timeout=timeout)


def pod_port(server: Server, revision: str) -> int:
    """The port of the revision's (first) ready pod, to load it directly."""
    pods = wait_for(lambda: server.pods(revision), timeout=30, what=f"pods of {revision}")
    return int(pods[0]["spec"]["containers"][0]["ports"][0]["containerPort"])


def apply_many(server: Server, count: int, prefix: str = "idle") -> float:
    """Apply ``count`` pod-less services; seconds until all are listed. No request to them."""
    client = server.client()
    start = time.monotonic()
    for i in range(count):
        client.apply(idle(f"{prefix}-{i:04d}"))

    def listed() -> bool:
        return len(client.get("ksvc")["items"]) >= count

    wait_for(listed, timeout=120, interval=0.5, what=f"{count} services")
    return time.monotonic() - start
