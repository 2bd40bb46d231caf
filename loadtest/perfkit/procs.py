"""Processes under test: the sample app, a standalone gateway, nginx; their CPU and RSS.

Everything listens on 127.0.0.1 and is stopped by :class:`Procs` on exit.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from loadtest.bench_gateway import cpu_split, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx-{port}.pid;
error_log {tmp}/error-{port}.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    upstream app {{
        server 127.0.0.1:{upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port} {listen};
        location / {{
            {location}
        }}
    }}
}}
"""
# The default ``location /``: proxy to the keep-alive pool, adding the headers the gateway
# adds, so the app does the same work behind both.
PROXY_LOCATION = """proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (nginx's worker, a serve process's gateway workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cpu_of(pids: list[int]) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pids`` together."""
    splits = [cpu_split(pid) for pid in pids]
    return sum(u for u, _ in splits), sum(s for _, s in splits)


def machine() -> dict[str, object]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    debian = Path("/etc/debian_version")
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": f"Debian {debian.read_text().strip()}" if debian.exists() else platform.system(),
        "nginx": subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip(),
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class Procs:
    """Starts processes and stops them all (reverse order) when the block ends."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="coldbrew-perf-")
        self.tmp = Path(self._tmp.name)

    def __enter__(self) -> Procs:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._tmp.cleanup()

    def spawn(self, cmd: list[str], **kw: object) -> subprocess.Popen[bytes]:
        kw.setdefault("cwd", ROOT)
        proc: subprocess.Popen[bytes] = subprocess.Popen(cmd, **kw)  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc

    def sample_app(self, target: str = "perf") -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = self.spawn(
            [sys.executable, "-m", "coldbrew.sample"],
            env={**ENV, "PORT": str(port), "TARGET": target},
        )
        wait_listening(port)
        return proc, port

    def gateway(self, host: str, upstream: int, *flags: str) -> tuple[subprocess.Popen[bytes], int]:
        """``python -m gateway`` routing ``host`` to the upstream port; (process, port)."""
        proc = self.spawn(
            [sys.executable, "-m", "gateway", "--route", f"{host}=127.0.0.1:{upstream}", *flags],
            env=ENV,
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        wait_listening(port)
        return proc, port

    def nginx(
        self, upstream: int, listen: str = "reuseport", location: str = PROXY_LOCATION
    ) -> tuple[subprocess.Popen[bytes], int]:
        """Debian's nginx, one worker, keep-alive upstream pool; (master process, port).

        ``listen``: the listen directive's options (``http2`` for h2c); ``location``: the
        directives of ``location /`` (default: proxy_pass with the gateway's headers)."""
        port = free_port()
        conf = self.tmp / f"nginx-{port}.conf"
        conf.write_text(
            NGINX_CONF.format(
                tmp=self.tmp, upstream=upstream, port=port, listen=listen, location=location
            )
        )
        proc = self.spawn(
            [NGINX, "-p", str(self.tmp), "-c", str(conf), "-e", str(self.tmp / "e.log")]
        )
        wait_listening(port)
        return proc, port
