"""coldbrew at scale: many services in one ``coldbrew serve``.

    python loadtest/scale.py [--services 10000] [--only apply|dataplane] [--profile DIR]

Cases (``--only`` picks some; default: all), each a small function taking the options
and returning its figures:

- ``apply``: one ``coldbrew apply -f`` of a file holding N Services (initial-scale 0 with
  ``allow-zero-initial-scale``, ``reserve-instance: disable``: no pod starts), timed end
  to end: from the CLI's start (YAML parse, validation, the control API, the store)
  until the controller has reconciled the last of them (revision created, route
  computed: the Service is Ready). Then, untimed, that every one is listed, and ``state.db``'s size.

- ``dataplane``: :mod:`loadtest.scale_dataplane` with ``--workers 2``: ``coldbrew serve``
  restarted on a state of N idle services (time until the first, middle and last are
  routed), the RSS of serve and of each gateway worker, and hey against one hot service
  with the N idle ones over alone (rounds interleaved). The issue's goals at 10,000: apply
  <= 10 s, restart routed <= 5 s, serve and each worker <= 150 MB, throughput >= 0.95x.

``--tree PATH`` runs another checkout's coldbrew (serve and CLI) with these cases, for a
before/after comparison: run both, alternated, on a shared machine.
``--profile DIR`` runs ``coldbrew serve`` and the CLI under cProfile and leaves
``serve.prof`` and ``cli.prof`` there (``python -m pstats DIR/serve.prof``).
Everything listens on 127.0.0.1 and is stopped at the end; the state is a temporary dir.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.bench_gateway import free_port  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # --tree: another checkout's
SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"
CONFIG = "autoscaler:\n  allow-zero-initial-scale: true\nreserve:\n  reserve-instance: disable\n"
SERVICE = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc-{i:05d}
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - image: registry.example.com/cafe/coffee:1
          env:
            - name: TARGET
              value: svc-{i:05d}
"""


def services_yaml(n: int) -> str:
    """N Services, one YAML stream."""
    return "---\n".join(SERVICE.format(i=i) for i in range(n))


class Serve:
    """``coldbrew serve`` (process runtime) on free ports over a fresh state dir."""

    def __init__(self, state_dir: Path, profile: Path | None = None) -> None:
        self.state_dir = state_dir
        self.admin_port = free_port()
        config = state_dir.parent / "config.yaml"
        config.write_text(CONFIG)
        cmd = [sys.executable]
        if profile is not None:
            cmd += ["-m", "cProfile", "-o", str(profile / "serve.prof")]
        cmd += ["-m", "coldbrew", "serve", "--port", str(free_port())]
        cmd += ["--admin-port", str(self.admin_port), "--state-dir", str(state_dir)]
        cmd += ["--runtime", "process", "--config", str(config), "--no-metrics"]
        self.log = (state_dir.parent / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            cmd, env=ENV, cwd=ENV["PYTHONPATH"], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.admin_port}"
        self.http = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coldbrew serve did not start; see {self.log.name}")
            time.sleep(0.1)

    def ready(self, name: str) -> bool:
        answer = self.http.get(f"{SERVICES}/{name}")
        if answer.status_code != 200:
            return False
        conditions = answer.json().get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def stop(self) -> None:
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def case_apply(opts: argparse.Namespace) -> dict[str, Any]:
    """One ``coldbrew apply -f`` of N Services: seconds until the last is Ready."""
    n = opts.services
    with tempfile.TemporaryDirectory(prefix="coldbrew-scale-") as tmp:
        manifests = Path(tmp) / "services.yaml"
        manifests.write_text(services_yaml(n))
        serve = Serve(Path(tmp) / "state", opts.profile)
        try:
            cmd = [sys.executable]
            if opts.profile is not None:
                cmd += ["-m", "cProfile", "-o", str(opts.profile / "cli.prof")]
            cmd += ["-m", "coldbrew", "apply", "-f", str(manifests), "--server", serve.url]
            start = time.monotonic()
            out = subprocess.run(
                cmd, env=ENV, cwd=ENV["PYTHONPATH"], capture_output=True, text=True, check=False
            )
            cli = time.monotonic() - start
            if out.returncode != 0:
                raise RuntimeError(f"apply failed ({out.returncode}): {out.stderr[-2000:]}")
            last = f"svc-{n - 1:05d}"  # the controller reconciles in key order
            deadline = time.monotonic() + 600
            while not serve.ready(last):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{last} not Ready after 600 s")
                time.sleep(0.25)  # each GET is work for the loop under test too
            total = time.monotonic() - start
            listed = serve.http.get(SERVICES).json()["items"]
            ready = sum(
                any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in s["status"]["conditions"]
                )
                for s in listed
            )
            db = serve.state_dir / "state.db"
            size = sum(p.stat().st_size for p in db.parent.glob("state.*"))
        finally:
            serve.stop()
    if len(listed) != n or ready != n:
        raise RuntimeError(f"{len(listed)} listed, {ready} Ready of {n}")
    printed = len(out.stdout.splitlines())
    return {"services": n, "cli_s": round(cli, 2), "until_ready_s": round(total, 2),
            "printed": printed, "state_bytes": size}  # fmt: skip


def case_dataplane(opts: argparse.Namespace) -> dict[str, Any]:
    """:mod:`loadtest.scale_dataplane`'s run: restart (until routed; after a clean stop,
    then after one that kept no table), RSS of serve and of each worker, and one hot
    service's throughput with N idle ones over alone."""
    from loadtest import scale_dataplane

    args = argparse.Namespace(services=opts.services, workers=2, rounds=opts.rounds,
                              duration=opts.duration, only=None, populate="clone",
                              cold=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="coldbrew-scale-") as tmp:
        return scale_dataplane.run(args, Path(tmp))


CASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "apply": case_apply,
    "dataplane": case_dataplane,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=10000, help="how many (default 10000)")
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="these cases")
    parser.add_argument("--profile", type=Path, help="write cProfile output to this dir")
    parser.add_argument("--tree", type=Path, help="run this checkout's coldbrew (apply only)")
    parser.add_argument("--rounds", type=int, default=4, help="dataplane: hey rounds (4)")
    parser.add_argument("--duration", type=int, default=8, help="dataplane: s per round (8)")
    opts = parser.parse_args(argv)
    if opts.tree is not None:
        ENV["PYTHONPATH"] = str(opts.tree.resolve())
    if opts.profile is not None:
        opts.profile.mkdir(parents=True, exist_ok=True)
    for name in opts.only or list(CASES):
        figures = CASES[name](opts)
        tree = str(opts.tree or ROOT)
        print(json.dumps({"case": name, "tree": tree, **figures}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
