"""Runs a real ``coldbrew serve`` process for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from coldbrew.cli.client import Client
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
T = TypeVar("T")


def idle_service(name: str, namespace: str = "default") -> dict[str, Any]:
    """A Service that is Ready with no pod (``initial-scale: "0"``, which needs
    ``allow-zero-initial-scale`` in the autoscaler config) and has no reserve."""
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "autoscaling.knative.dev/initial-scale": "0",
                        "knative.aliyun.com/reserve-instance": "disable",
                    }
                },
                "spec": {"containers": [{"image": "registry.example.com/idle:1"}]},
            }
        },
    }


def wait_for(
    probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except (httpx.TransportError, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}: {last}")
        time.sleep(interval)


class Server:
    """One ``coldbrew serve`` process on free ports with its own state folder."""

    def __init__(self, state_dir: Path, *extra: str) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.admin_port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir.parent / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> None:
        # The process runtime unless the test asks for another (an engine may be up).
        runtime = [] if "--runtime" in self.extra else ["--runtime", "process"]
        cmd = [
            sys.executable,
            "-m",
            "coldbrew",
            "serve",
            "--port",
            str(self.port),
            "--admin-port",
            str(self.admin_port),
            "--state-dir",
            str(self.state_dir),
            *runtime,
            *self.extra,
        ]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_for(self._healthy, timeout=30, what="coldbrew serve to answer /healthz")

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"coldbrew serve exited: {self.log()}")
        return httpx.get(f"{self.admin_url}/healthz", timeout=1).status_code == 200

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Server:
        """``with Server(...) as srv:`` starts it, and at the end stops it and checks that it
        exited 0 (as a fixture: ``with Server(...) as srv: yield srv``)."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        code = self.stop()
        assert code == 0, f"coldbrew serve exited {code}:\n{self.log()[-4000:]}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def client(self) -> Client:
        return Client(self.admin_url)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, COLDBREW_SERVER=self.admin_url)
        return subprocess.run(
            [sys.executable, "-m", "coldbrew", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )

    def request(self, host: str, path: str = "/", **kw: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Host": host}, timeout=10, **kw)

    def service(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.client().get("ksvc", name, namespace)  # type: ignore[no-any-return]

    def ready(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        svc = self.service(name, namespace)
        for cond in svc.get("status", {}).get("conditions", []):
            if cond["type"] == "Ready" and cond["status"] == "True":
                return svc
        return None

    def wait_ready(self, name: str, timeout: float = 10) -> dict[str, Any]:
        return wait_for(lambda: self.ready(name), timeout=timeout, what=f"ksvc {name} Ready")

    def pods(self, revision: str | None = None) -> list[dict[str, Any]]:
        items = self.client().get("pods")["items"]
        if revision is None:
            return list(items)
        label = "serving.knative.dev/revision"
        return [p for p in items if p["metadata"]["labels"].get(label) == revision]


def hey_codes(report: str) -> dict[str, int]:
    """Status code -> responses, from a hey report's "Status code distribution"."""
    return {c: int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", report)}


class Hey:
    """A ``hey`` load run in the background; ``finish()`` waits and checks its report."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            ["hey", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.report = ""

    def __enter__(self) -> Hey:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 60) -> dict[str, int]:
        """End the run now (hey reports what it did on SIGINT); as :meth:`finish`."""
        self.proc.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def finish(self, timeout: float = 60) -> dict[str, int]:
        """Status code -> count; fails on any transport error hey reports."""
        self.report, _ = self.proc.communicate(timeout=timeout)
        assert "Error distribution" not in self.report, self.report
        return hey_codes(self.report)
