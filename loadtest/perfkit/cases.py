"""The benchmark's cases; each returns a JSON-able dict.

- ``proxies``: direct vs the standalone gateway (metrics on, and ``--no-metrics``) vs nginx,
  same sample-app process, wrk.
- ``probe``: Knative's dataplane-probe shape, fixed rate to ``?sleep=100``, on the platform,
  with the activator out of and forced into the path (target-burst-capacity 0 / -1).
- ``platforms``: ``coldbrew serve`` with 1 service and --workers 1, --workers 2, and with
  1000 more (pod-less) services applied; wrk interleaved across them, gateway RSS.
- ``held``: 10 000 requests held for a revision with no pod (loadtest/held_memory.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from loadtest import held_memory
from loadtest.perfkit import platform as pf
from loadtest.perfkit.closed import Target, interleaved, medians
from loadtest.perfkit.openloop import fixed_rate
from loadtest.perfkit.procs import Procs, children, rss_mb

HOST = "perf.default.example.com"


def proxies(rounds: int, duration: int, connections: int) -> dict[str, Any]:
    with Procs() as procs:
        _, app = procs.sample_app()
        gateway, gw_port = procs.gateway(HOST, app)
        bare, bare_port = procs.gateway(HOST, app, "--no-metrics")
        nginx, ng_port = procs.nginx(app)
        targets = [
            Target("direct", app),
            Target("gateway", gw_port, [gateway.pid]),
            Target("gateway --no-metrics", bare_port, [bare.pid]),
            Target("nginx", ng_port, [nginx.pid, *children(nginx.pid)]),
        ]
        interleaved(targets, rounds, duration, connections)
        rss = {"gateway": rss_mb(gateway.pid)}
    return {
        "rounds": {t.name: t.rounds for t in targets},
        "median": {t.name: medians(t) for t in targets},
        "rss_mb": rss,
    }


def _kpa(server: Any, revision: str) -> dict[str, Any]:
    got: dict[str, Any] = server.client().get("kpa", revision)
    return dict(got.get("status", {}).get("coldbrew", {}))


def probe(tmp: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Fixed rate to ``?sleep=100``: direct to the pod, nginx, gateway, activator in path."""
    path = "/?sleep=100"
    out: dict[str, Any] = {"rate": rate, "seconds": seconds, "path": path}
    with pf.platform(tmp) as server, Procs() as procs:
        direct = pf.serving("probe", burst="0")
        direct["spec"]["template"]["metadata"]["annotations"][pf.ANN + "target"] = "1000"
        forced = pf.serving("probe-act", burst="-1")
        forced["spec"]["template"]["metadata"]["annotations"][pf.ANN + "target"] = "1000"
        pf.apply_ready(server, direct, forced)
        pod = pf.pod_port(server, "probe-00001")
        _, nginx = procs.nginx(pod)
        runs = [
            ("direct", pod, pf.host("probe")),
            ("nginx", nginx, pf.host("probe")),
            ("gateway", server.port, pf.host("probe")),
            ("gateway+activator", server.port, pf.host("probe-act")),
        ]
        fixed_rate(server.port, pf.host("probe"), path, rate, 2.0)  # warm up
        fixed_rate(server.port, pf.host("probe-act"), path, rate, 2.0)
        for name, port, host in runs:
            out[name] = fixed_rate(port, host, path, rate, seconds).summary()
        out["in_path"] = {
            "gateway": _kpa(server, "probe-00001").get("activatorInPath"),
            "gateway+activator": _kpa(server, "probe-act-00001").get("activatorInPath"),
        }
    base = out["direct"]["p95_ms"]
    for name in ("nginx", "gateway", "gateway+activator"):
        out[name]["p95_added_ms"] = out[name]["p95_ms"] - base
    return out


def platforms(
    tmp: Path, services: int, rounds: int, duration: int, connections: int
) -> dict[str, Any]:
    """--workers 1 vs 2 (one service), and 1 vs 1+``services`` services on --workers 2."""
    out: dict[str, Any] = {"services": services}
    with contextlib.ExitStack() as stack:
        w1 = stack.enter_context(pf.platform(tmp, workers=1))
        w2 = stack.enter_context(pf.platform(tmp, workers=2))
        many = stack.enter_context(pf.platform(tmp, workers=2))
        for server in (w1, w2, many):
            pf.apply_ready(server, pf.serving("perf"))
        before = {pid: rss_mb(pid) for pid in pf.gateway_pids(many, 2)}
        out["apply_seconds"] = pf.apply_many(many, services)
        pids = {
            "workers1": pf.gateway_pids(w1, 1),
            "workers2": pf.gateway_pids(w2, 2),
            f"workers2+{services}svc": pf.gateway_pids(many, 2),
        }
        ports = {"workers1": w1.port, "workers2": w2.port, f"workers2+{services}svc": many.port}
        targets = [Target(name, ports[name], pids[name], HOST) for name in pids]
        interleaved(targets, rounds, duration, connections)
        rss = {name: [rss_mb(pid) for pid in pids[name]] for name in pids}
        assert many.proc is not None and w1.proc is not None
        rss["serve_process_1svc"] = [rss_mb(w1.proc.pid)]
        rss[f"serve_process_{services}svc"] = [rss_mb(many.proc.pid)]
        out["gateway_rss_before_mb"] = list(before.values())
    out["rss_mb"] = rss
    out["rounds"] = {t.name: t.rounds for t in targets}
    out["median"] = {t.name: medians(t) for t in targets}
    return out


def held(requests: int) -> dict[str, Any]:
    before, after, took = held_memory.measure(requests)
    return {
        "requests": requests,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "extra_mb": after - before,
        "seconds": took,
    }
