"""Benchmark the gateway against direct access to the same upstream (not a test).

    python loadtest/bench_gateway.py [--duration 10] [--connections 50] [--rounds 2]

Starts the sample app (``python -m coldbrew.sample``, $PORT) and a gateway process
(``python -m gateway``) routing a Host to it, then runs ``wrk`` directly and through the
gateway in interleaved rounds. Reports requests/s, p50/p99 latency and the gateway's CPU
microseconds per request (utime+stime from /proc/PID/stat). Prints a Markdown table and
writes JSON to loadtest/results/. Only 127.0.0.1 targets; every run is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "bench.default.example.com"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pid`` (utime, stime from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(
    port: int, duration: int, connections: int, threads: int, host: str = HOST, path: str = "/"
) -> dict[str, float]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-H",
        f"Host: {host}",
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    result: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if line.strip().startswith("50%"):
            result["p50_ms"] = _ms(parts[1])
        elif line.strip().startswith("99%"):
            result["p99_ms"] = _ms(parts[1])
        elif line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif "requests in" in line:
            result["requests"] = float(parts[0])
        elif "Non-2xx" in line:
            result["non_2xx"] = float(parts[-1])
    if "rps" not in result:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed")
    args.duration = max(1, min(args.duration, 120))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    up_port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upstream = subprocess.Popen(
            [sys.executable, "-m", "coldbrew.sample"],
            env={**env, "PORT": str(up_port), "TARGET": "bench"},
            cwd=ROOT,
        )
        procs.append(upstream)
        wait_listening(up_port)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--route", f"{HOST}=127.0.0.1:{up_port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        procs.append(gateway)
        assert gateway.stdout is not None
        gw_port = int(gateway.stdout.readline())
        wait_listening(gw_port)
        run_wrk(gw_port, 1, args.connections, args.threads)  # warm up both paths
        run_wrk(up_port, 1, args.connections, args.threads)

        rounds: list[dict[str, object]] = []
        for i in range(args.rounds):
            direct = run_wrk(up_port, args.duration, args.connections, args.threads)
            before = cpu_seconds(gateway.pid)
            via = run_wrk(gw_port, args.duration, args.connections, args.threads)
            via["cpu_us_per_request"] = (cpu_seconds(gateway.pid) - before) / via["requests"] * 1e6
            rounds.append({"round": i + 1, "direct": direct, "gateway": via})
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def mean(path: str, key: str) -> float:
        values = [r[path][key] for r in rounds if key in r[path]]  # type: ignore[index]
        return sum(values) / len(values) if values else float("nan")

    summary = {
        "direct_rps": mean("direct", "rps"),
        "gateway_rps": mean("gateway", "rps"),
        "direct_p50_ms": mean("direct", "p50_ms"),
        "direct_p99_ms": mean("direct", "p99_ms"),
        "gateway_p50_ms": mean("gateway", "p50_ms"),
        "gateway_p99_ms": mean("gateway", "p99_ms"),
        "gateway_cpu_us_per_request": mean("gateway", "cpu_us_per_request"),
    }
    summary["throughput_ratio"] = summary["gateway_rps"] / summary["direct_rps"]

    print(
        f"\n### Gateway benchmark ({args.duration}s x {args.rounds} rounds, "
        f"{args.connections} connections, wrk -t{args.threads})\n"
    )
    print("| round | path | req/s | p50 ms | p99 ms | gateway CPU us/req |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rounds:
        for path in ("direct", "gateway"):
            m: dict[str, float] = r[path]  # type: ignore[assignment]
            cpu = f"{m['cpu_us_per_request']:.1f}" if "cpu_us_per_request" in m else "-"
            print(
                f"| {r['round']} | {path} | {m['rps']:.0f} | {m.get('p50_ms', 0):.2f} | "
                f"{m.get('p99_ms', 0):.2f} | {cpu} |"
            )
    print(
        f"\nthroughput ratio gateway/direct: {summary['throughput_ratio']:.2f}; "
        f"gateway CPU: {summary['gateway_cpu_us_per_request']:.1f} us/request"
    )

    results = ROOT / "loadtest" / "results"
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"bench_gateway-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"args": vars(args), "rounds": rounds, "summary": summary}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
