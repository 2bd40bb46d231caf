"""``GET /metrics`` of a real ``coldbrew serve``: scraped by a real Prometheus under hey,
a cold start from zero, a gateway worker killed under ``--workers 2``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import EXAMPLES, Hey, Server, free_port, wait_for
from tests.e2e.test_workers import gateway_workers
from tests.tooling import needs_tool

COFFEE = "coffee.default.example.com"
COUNT = "revision_request_count_total"


def scrape(server: Server) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] from the control API's /metrics."""
    text = httpx.get(f"{server.admin_url}/metrics", timeout=5).text
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def total(server: Server, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for ls, v in scrape(server).get(name, []) if want <= set(ls.items()))


class Prometheus:
    """Debian's prometheus on loopback, scraping ``target`` every second, tmp storage."""

    def __init__(self, tmp: Path, target: str) -> None:
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [
                        {"job_name": "coldbrew", "static_configs": [{"targets": [target]}]}
                    ],
                }
            )
        )
        self.log = (tmp / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, timeout=30, interval=0.2, what="prometheus /-/ready")

    def _ready(self) -> bool:
        assert self.proc.poll() is None, "prometheus exited"
        return httpx.get(f"http://127.0.0.1:{self.port}/-/ready", timeout=1).status_code == 200

    def query(self, promql: str, at: float) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query"
        body = httpx.get(url, params={"query": promql, "time": at}, timeout=5).json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def up(self) -> bool:
        result = self.query('up{job="coldbrew"}', time.time())
        return bool(result) and result[0]["value"][1] == "1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


@pytest.fixture
def prometheus(server: Server, tmp_path: Path) -> Iterator[Prometheus]:
    prom = Prometheus(tmp_path, f"127.0.0.1:{server.admin_port}")
    try:
        yield prom
    finally:
        prom.stop()


@needs_tool("prometheus")
@needs_tool("hey")
def test_prometheus_rate_agrees_with_hey(server: Server, prometheus: Prometheus) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    wait_for(prometheus.up, timeout=20, interval=0.5, what="prometheus scraping coldbrew")
    # A fixed rate (-q per worker) for 12 s: 4 x 25 = 100 requests/s.
    with Hey("-z", "12s", "-c", "4", "-q", "25", "-host", COFFEE, f"{server.url}/") as hey:
        start = time.time()
        codes = hey.finish(timeout=60)
        end = time.time()
    assert set(codes) == {"200"}, hey.report
    hey_rate = float(re.search(r"Requests/sec:\s+([\d.]+)", hey.report)[1])
    # The middle 8 s of the run, once scrapes after it landed (stats frames lag <= 1 s).
    at = start + 10
    wait_for(lambda: time.time() > end + 3, timeout=10, interval=0.2)
    query = f'sum(rate({COUNT}{{service_name="coffee",response_code="200"}}[8s]))'
    result = prometheus.query(query, at)
    assert result, f"no samples for {query}"
    prom_rate = float(result[0]["value"][1])
    assert abs(prom_rate - hey_rate) <= 0.10 * hey_rate, (prom_rate, hey_rate, hey.report)
    # The run's requests are all counted, by Knative's labels.
    counted = total(server, COUNT, namespace_name="default", configuration_name="coffee")
    assert counted >= sum(codes.values())


def test_cold_start_from_zero_is_one_observation(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("autoscaler:\n  scale-to-zero-grace-period: 6s\n")
    server = Server(tmp_path / "state", "--config", str(config))
    server.start()
    try:
        manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
        notes = manifest["spec"]["template"]["metadata"]["annotations"]
        notes["autoscaling.knative.dev/window"] = "6s"
        notes["knative.aliyun.com/reserve-instance"] = "disable"  # a true zero
        server.client().apply(manifest)
        server.wait_ready("coffee")
        wait_for(lambda: not server.pods("coffee-00001"), timeout=60, interval=0.5, what="zero")
        name = "coldbrew_cold_start_seconds_count"
        assert total(server, name, service_name="coffee") == 0
        began = time.monotonic()
        response = server.request(COFFEE)
        first = time.monotonic() - began
        assert response.text == "Hello coffee!\n"
        wait_for(lambda: total(server, name, service_name="coffee") >= 1, what=name)
        server.request(COFFEE)  # warm: not a cold start
        wait_for(lambda: total(server, COUNT, service_name="coffee") >= 2, what="both counted")
        assert total(server, name, service_name="coffee") == 1
        assert total(server, "coldbrew_cold_starts_total", service_name="coffee") == 1
        waited = total(server, "coldbrew_cold_start_seconds_sum", service_name="coffee")
        assert 0 < waited <= first
        # Two pods started (the initial one, then the cold start's); each observed once.
        startup = total(server, "coldbrew_pod_startup_seconds_count", service_name="coffee")
        assert startup == 2
        pod_share = total(server, "coldbrew_pod_startup_seconds_sum", service_name="coffee")
        assert pod_share > 0
    finally:
        assert server.stop() == 0, server.log()[-3000:]


def test_counter_survives_a_killed_worker(tmp_path: Path) -> None:
    server = Server(tmp_path / "state", "--workers", "2")
    server.start()
    try:
        server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
        server.wait_ready("coffee")
        for _ in range(40):  # new connections: both workers get some
            assert server.request(COFFEE).status_code == 200
        wait_for(lambda: total(server, COUNT, service_name="coffee") >= 40, what="40 counted")
        workers = gateway_workers(server)
        assert len(workers) == 2
        before = total(server, COUNT, service_name="coffee")
        assert before == 40
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: len(gateway_workers(server)) == 1, what="the worker gone")
        for _ in range(10):
            assert server.request(COFFEE).status_code == 200
        wait_for(lambda: total(server, COUNT, service_name="coffee") >= before + 10, what="+10")
        assert total(server, COUNT, service_name="coffee") == before + 10
    finally:
        server.stop()
