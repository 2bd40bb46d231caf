"""HTTP/2 through the gateway, side by side with nginx (http2 on), measured by h2load.

    python loadtest/http2_vs_nginx.py [--rounds 3] [--requests 20000] [--clients 10] [--streams 10]
                          [--only h2 grpc]

- ``h2``: h2load (h2c, prior knowledge) to ``GET /`` of the sample app (an HTTP/1 pod)
  through ``python -m gateway`` and through nginx (``listen ... http2``, keep-alive
  HTTP/1.1 upstream pool), interleaved rounds;
- ``grpc``: h2load posting one gRPC unary call (a length-prefixed message, ``te:
  trailers``) to tests/apps/grpc_app.py (an h2c pod) through the gateway
  (``--protocol h2c``) and through nginx's ``grpc_pass``.

Per target: requests/s (h2load's own figure) and the proxy's CPU per request (user +
system of the proxy's processes, from /proc, over the round), medians of the rounds.
Writes loadtest/results/h2.json and prints a Markdown table. Needs h2load (Debian
nghttp2-client) and /usr/sbin/nginx; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.bench_gateway import free_port, wait_listening  # noqa: E402
from loadtest.perfkit.procs import (  # noqa: E402
    ENV,
    NGINX,
    PROXY_LOCATION,
    Procs,
    children,
    cpu_of,
    loadavg,
)

HOST = "perf.example.com"
RESULTS = ROOT / "loadtest" / "results"

GRPC = "grpc_pass grpc://app;"


def h2load(port: int, args: argparse.Namespace, extra: list[str], path: str) -> dict[str, float]:
    cmd = ["h2load", "-n", str(args.requests), "-c", str(args.clients), "-m", str(args.streams),
           "-H", f":authority: {HOST}", *extra, f"http://127.0.0.1:{port}{path}"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if not done or not rate:
        raise RuntimeError(f"unexpected h2load output:\n{out}")
    return {"done": int(done.group(1)), "ok": int(done.group(2)), "rps": float(rate.group(1))}


def run_case(name: str, args: argparse.Namespace) -> dict[str, Any]:
    with Procs() as procs:
        if name == "h2":
            _, app = procs.sample_app()
            extra: list[str] = []
            path, protocol, location = "/", "http1", PROXY_LOCATION
        else:
            app = free_port()
            grpc_app = [sys.executable, "-m", "tests.apps.grpc_app"]
            procs.spawn(grpc_app, env={**ENV, "PORT": str(app)})
            wait_listening(app)
            body = procs.tmp / "unary.bin"
            body.write_bytes(b"\x00" + struct.pack(">I", 5) + b"hello")
            extra = ["-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers"]
            path, protocol, location = "/demo.Echo/Unary", "h2c", GRPC
        gw, gw_port = procs.gateway(HOST, app, "--protocol", protocol)
        ng, ng_port = procs.nginx(app, listen="http2", location=location)
        targets = {"gateway": (gw_port, [gw.pid]), "nginx": (ng_port, [ng.pid, *children(ng.pid)])}
        for port, _ in targets.values():  # warm up
            h2load(port, argparse.Namespace(**{**vars(args), "requests": 2000}), extra, path)
        rounds: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
        for _ in range(args.rounds):
            for target, (port, pids) in targets.items():
                before = sum(cpu_of(pids))
                got = h2load(port, args, extra, path)
                cpu = sum(cpu_of(pids)) - before
                got["cpu_us_per_req"] = cpu / max(got["ok"], 1) * 1e6
                rounds[target].append(got)
    median = {
        t: {k: statistics.median(r[k] for r in rs) for k in ("rps", "cpu_us_per_req", "ok")}
        for t, rs in rounds.items()
    }
    median["ratio_cpu"] = {
        "gateway/nginx": median["gateway"]["cpu_us_per_req"] / median["nginx"]["cpu_us_per_req"]
    }
    return {"rounds": rounds, "median": median}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python loadtest/http2_vs_nginx.py", description=__doc__.split("\n")[0]
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--clients", type=int, default=5, help="h2load connections")
    p.add_argument("--streams", type=int, default=10, help="concurrent streams per connection")
    p.add_argument("--only", nargs="+", choices=["h2", "grpc"], default=["h2", "grpc"])
    args = p.parse_args(argv)
    for tool in ("h2load", NGINX):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (Debian: apt-get install -y nghttp2-client nginx)")
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                               "args": vars(args), "loadavg_before": loadavg()}  # fmt: skip
    for case in args.only:
        results[case] = run_case(case, args)
    results["loadavg_after"] = loadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "h2.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"load average before {results['loadavg_before']}, after {results['loadavg_after']}")
    print("| case | target | req/s | proxy CPU µs/req |\n|---|---|---:|---:|")
    for case in args.only:
        for target in ("gateway", "nginx"):
            m = results[case]["median"][target]
            print(f"| {case} | {target} | {m['rps']:.0f} | {m['cpu_us_per_req']:.0f} |")
        ratio = results[case]["median"]["ratio_cpu"]["gateway/nginx"]
        print(f"| {case} | gateway/nginx CPU | | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
