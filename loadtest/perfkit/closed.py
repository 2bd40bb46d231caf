"""Closed-loop throughput: wrk at fixed concurrency, interleaved rounds, medians.

Each target is a port plus the processes whose CPU counts as the proxy's own (none for
direct). CPU per request is their utime+stime over the round (from /proc) divided by the
requests wrk completed, also split into user and system (kernel) time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from loadtest.bench_gateway import run_wrk
from loadtest.perfkit.procs import cpu_of


@dataclass
class Target:
    name: str
    port: int
    pids: list[int] = field(default_factory=list)  # the proxy's processes
    host: str = "perf.default.example.com"
    rounds: list[dict[str, float]] = field(default_factory=list)


def measure(target: Target, duration: int, connections: int, threads: int = 1) -> dict[str, float]:
    user0, sys0 = cpu_of(target.pids)
    result = run_wrk(target.port, duration, connections, threads, target.host)
    if target.pids:
        user1, sys1 = cpu_of(target.pids)
        per = 1e6 / result["requests"]
        result["cpu_user_us_per_request"] = (user1 - user0) * per
        result["cpu_sys_us_per_request"] = (sys1 - sys0) * per
        result["cpu_us_per_request"] = (user1 - user0 + sys1 - sys0) * per
    target.rounds.append(result)
    return result


def interleaved(
    targets: list[Target], rounds: int, duration: int, connections: int, threads: int = 1
) -> None:
    """Warm every target up, then run the targets in turn, ``rounds`` times."""
    for target in targets:
        run_wrk(target.port, 1, connections, threads, target.host)
    for i in range(rounds):
        order = targets if i % 2 == 0 else list(reversed(targets))  # no fixed position
        for target in order:
            measure(target, duration, connections, threads)


def medians(target: Target) -> dict[str, float]:
    keys = (
        "rps",
        "p50_ms",
        "p99_ms",
        "cpu_us_per_request",
        "cpu_user_us_per_request",
        "cpu_sys_us_per_request",
        "non_2xx",
    )
    out: dict[str, float] = {}
    for key in keys:
        values = [r[key] for r in target.rounds if key in r]
        if values:
            out[key] = statistics.median(values)
    return out
