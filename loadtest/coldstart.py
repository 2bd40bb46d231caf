"""Scale-from-zero overhead: first-response latency minus the pod's own start time.

    python loadtest/coldstart.py [--rounds 5] [--runtime process|docker]

Starts ``coldbrew serve`` (fresh state, free ports), applies coffee with a 6 s
window and no reserve instance, and for each round waits until the revision is at zero pods, then
times one request through the gateway (held by the activator, autoscaler
poked, pod started, request forwarded). Separately it times the bundled
sample app's own start-to-listening (spawn, then connect every millisecond)
the same number of times. The difference of the medians is what coldbrew
adds to a cold start. Prints a Markdown table and writes JSON to
loadtest/results/. Traffic goes to 127.0.0.1 only.

``--runtime docker`` (default 10 rounds) runs coffee as the test image
(``tests/containers/images.py``: busybox httpd, imported into the engine) in a container, and
the baseline is the engine's own create, start and first listen of the same image with the same
settings (coldbrew's create body), timed through the same API client. It needs an engine
answering (``$DOCKER_HOST``, ``/var/run/docker.sock`` or ``/run/podman/podman.sock``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import Server, free_port, wait_for  # noqa: E402

HOST = "coffee.default.example.com"


def app_start_seconds() -> float:
    """Spawn the sample app and time until it accepts a connection."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), TARGET="coffee")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "coldbrew.sample"], env=env)
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return time.perf_counter() - start
            if proc.poll() is not None or time.perf_counter() - start > 20:
                raise RuntimeError("sample app did not start")
            time.sleep(0.001)
    finally:
        proc.terminate()
        proc.wait()


def timed_get(port: int, host: str, path: str = "/") -> tuple[float, bytes]:
    """One request on a raw socket: (seconds, response bytes).

    An HTTP client library's own set-up (an SSL context, pools) would otherwise
    be counted as request time.
    """
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(request)
        response = b""
        while chunk := s.recv(65536):
            response += chunk
    return time.perf_counter() - start, response


def cold_request_seconds(server: Server, revision: str = "coffee-00001", host: str = HOST) -> float:
    wait_for(lambda: not server.pods(revision), timeout=90, interval=0.2, what="zero pods")
    took, response = timed_get(server.port, host)
    assert response.startswith(b"HTTP/1.1 200"), response
    return took


def main() -> int:
    p = argparse.ArgumentParser(description="scale-from-zero overhead")
    p.add_argument("--rounds", type=int)
    p.add_argument("--runtime", choices=["process", "docker"], default="process")
    args = p.parse_args()
    args.rounds = args.rounds or (10 if args.runtime == "docker" else 5)
    manifest = yaml.safe_load((ROOT / "examples" / "coffee.yaml").read_text())
    notes = manifest["spec"]["template"]["metadata"]["annotations"]
    notes["autoscaling.knative.dev/window"] = "6s"
    notes["knative.aliyun.com/reserve-instance"] = "disable"  # a real cold start from zero
    app_start = app_start_seconds
    if args.runtime == "docker":
        from loadtest.containerstart import prepare_engine

        image, app_start = prepare_engine()
        container = manifest["spec"]["template"]["spec"]["containers"][0]
        container.update(image=image, imagePullPolicy="Never")
    cold: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "state", "--runtime", args.runtime)
        server.start()
        try:
            server.client().apply(manifest)
            server.wait_ready("coffee", timeout=15)
            for _ in range(args.rounds):
                cold.append(cold_request_seconds(server))
        finally:
            server.stop()
    starts = [app_start() for _ in range(args.rounds)]
    cold_ms, start_ms = statistics.median(cold) * 1e3, statistics.median(starts) * 1e3
    print(f"\n### Scale from zero, {args.runtime} runtime ({args.rounds} rounds, medians)\n")
    print("| first response | pod start-to-listening | coldbrew overhead |")
    print("|---:|---:|---:|")
    print(f"| {cold_ms:.1f} ms | {start_ms:.1f} ms | {cold_ms - start_ms:.1f} ms |")
    out = ROOT / "loadtest" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"coldstart-{args.runtime}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps({"runtime": args.runtime, "cold_s": cold, "app_start_s": starts}, indent=1)
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
