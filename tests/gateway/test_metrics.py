"""The gateway's request figures, their exposition, traceparent, cold-start header, request log.

Real gateway, real upstream (aiohttp echo), real sockets; the exposition is parsed with
prometheus-client's own text parser.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import Gateway
from gateway.exposition import RequestCollector, metrics_route, registry_of, revision_labels
from gateway.settings import RevisionSettings
from tests.gateway.conftest import HOST, KEY, Upstream, raw_request, wait_for

TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01$")


def samples(gw: Gateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = registry_of([RequestCollector(gw.totals)])
    from prometheus_client import generate_latest

    out = {}
    for family in text_string_to_metric_families(generate_latest(text).decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(gw: Gateway, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples(gw).items() if n == name and want <= ls)


async def get(
    gw: Gateway, path: str = "/", headers: dict[str, str] | None = None, http2: bool = False
) -> httpx.Response:
    """GET through ``gw``: HTTP/1.1, or with ``http2`` HTTP/2 (prior knowledge)."""
    async with httpx.AsyncClient(http1=not http2, http2=http2) as client:
        reply = await client.get(
            f"http://127.0.0.1:{gw.port}{path}", headers={"Host": HOST, **(headers or {})}
        )
    assert reply.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
    return reply


async def test_requests_counted_by_code_with_latency(routed: Gateway) -> None:
    for _ in range(3):
        assert (await get(routed)).status_code == 200
    labels = {"revision_name": "coffee-00001", "service_name": "coffee"}
    assert value(routed, "revision_request_count_total", response_code="200", **labels) == 3
    assert value(routed, "revision_request_count_total", response_code_class="2xx") == 3
    assert value(routed, "revision_request_latencies_count", response_code="200") == 3
    inf = value(routed, "revision_request_latencies_bucket", le="+Inf", response_code="200")
    assert inf == 3
    assert value(routed, "revision_request_latencies_sum", response_code="200") > 0
    assert value(routed, "coldbrew_cold_starts_total") == 0


async def test_unknown_revision_and_full_queue_counted_by_cause(gateway: Gateway) -> None:
    gateway.set_revision(
        KEY, [], RevisionSettings(timeout_seconds=0.2, queue_depth=0)
    )  # no pod, no queue: 503 at once
    gateway.set_routes({HOST: [(KEY, 100)]})
    assert (await get(gateway)).status_code == 503
    assert value(gateway, "coldbrew_gateway_errors_total", cause="queue_full") == 1
    assert value(gateway, "revision_request_count_total", response_code="503") == 1


async def test_held_timeout_counted_as_timeout_held(gateway: Gateway) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=0.2))
    gateway.set_routes({HOST: [(KEY, 100)]})
    assert (await get(gateway)).status_code == 504
    assert value(gateway, "coldbrew_gateway_errors_total", cause="timeout_held") == 1
    assert value(gateway, "coldbrew_request_held_seconds_count") == 1
    assert value(gateway, "coldbrew_cold_starts_total") == 1
    assert value(gateway, "coldbrew_cold_start_seconds_count") == 0  # no response start


async def test_cold_start_observed_once_and_named_in_header(upstream: Upstream) -> None:
    gw = Gateway(port=0, cold_start_header=True)
    await gw.start()
    try:
        gw.set_revision(KEY, [], RevisionSettings(timeout_seconds=30))
        gw.set_routes({HOST: [(KEY, 100)]})
        pending = asyncio.ensure_future(get(gw))
        await wait_for(lambda: gw.snapshot()[KEY]["held"] == 1)
        gw.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
        cold = await pending
        warm = await get(gw)
    finally:
        await gw.stop(grace=1.0)
    assert cold.status_code == 200
    wait = float(re.fullmatch(r"wait=(\d+\.\d{3})s", cold.headers["x-coldbrew-cold-start"])[1])
    assert wait > 0
    assert "x-coldbrew-cold-start" not in warm.headers
    assert value(gw, "coldbrew_cold_start_seconds_count") == 1
    assert value(gw, "coldbrew_cold_starts_total") == 1
    assert 0 < value(gw, "coldbrew_cold_start_seconds_sum") <= wait + 0.001
    assert value(gw, "coldbrew_request_held_seconds_count") == 1


async def test_no_cold_start_header_by_default(gateway: Gateway, upstream: Upstream) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=30))
    gateway.set_routes({HOST: [(KEY, 100)]})
    pending = asyncio.ensure_future(get(gateway))
    await wait_for(lambda: gateway.snapshot()[KEY]["held"] == 1)
    gateway.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
    response = await pending
    assert response.status_code == 200
    assert "x-coldbrew-cold-start" not in response.headers
    assert value(gateway, "coldbrew_cold_start_seconds_count") == 1


async def test_no_metrics_counts_nothing(upstream: Upstream) -> None:
    gw = Gateway(port=0, metrics=False)
    await gw.start()
    try:
        gw.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
        gw.set_routes({HOST: [(KEY, 100)]})
        assert (await get(gw)).status_code == 200
    finally:
        await gw.stop(grace=1.0)
    assert gw.totals() == {}


@pytest.mark.parametrize("http2", [False, True])
async def test_client_traceparent_passed_unchanged(routed: Gateway, http2: bool) -> None:
    sent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    seen = (await get(routed, headers={"traceparent": sent}, http2=http2)).json()["headers"]
    assert seen["traceparent"] == sent


@pytest.mark.parametrize("http2", [False, True])
async def test_fresh_traceparent_when_none_sent(routed: Gateway, http2: bool) -> None:
    first = (await get(routed, http2=http2)).json()["headers"]["traceparent"]
    second = (await get(routed, http2=http2)).json()["headers"]["traceparent"]
    assert TRACEPARENT.match(first), first
    assert TRACEPARENT.match(second), second
    assert first.split("-")[1] != second.split("-")[1]  # a new trace each time


async def test_request_log_lines_parse_as_json(upstream: Upstream, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    gw = Gateway(port=0, request_log=str(log))
    await gw.start()
    try:
        gw.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
        gw.set_routes({HOST: [(KEY, 100)], "tea.default.example.com": [("default/tea-1", 100)]})
        ok = await get(gw, "/brew?x=1")
        gw.forget_revision("default/tea-1")
        refused = await raw_request(
            gw.port, b"GET /t HTTP/1.1\r\nHost: tea.default.example.com\r\n\r\n"
        )
    finally:
        await gw.stop(grace=1.0)  # flushes the log
    assert refused.startswith(b"HTTP/1.1 503")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2
    fields = {"time", "host", "method", "path", "status", "bytes", "latency", "held"}
    fields |= {"revision", "pod"}
    for line in lines:
        assert set(line) == fields
    first, second = lines
    assert first["host"] == HOST and first["method"] == "GET" and first["path"] == "/brew?x=1"
    assert first["status"] == 200 and first["bytes"] == len(ok.content)
    assert first["revision"] == KEY and first["pod"] == f"127.0.0.1:{upstream.port}"
    assert first["latency"] > 0 and first["held"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert second["status"] == 503 and second["pod"] is None and second["bytes"] == 0


async def test_metrics_route_serves_text_format(routed: Gateway) -> None:
    from aiohttp import web

    from gateway.admin import serve_admin

    assert (await get(routed)).status_code == 200
    app = web.Application()
    app.router.add_routes([metrics_route(registry_of([RequestCollector(routed.totals)]))])
    runner = await serve_admin(app, "127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        await runner.cleanup()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'revision_request_count_total{configuration_name="coffee"' in response.text


def test_revision_labels_from_key() -> None:
    assert revision_labels("default/coffee-00001") == (
        "default",
        "coffee",
        "coffee",
        "coffee-00001",
    )
    assert revision_labels("ns/v1-coffee") == ("ns", "v1-coffee", "v1-coffee", "v1-coffee")


async def test_reserve_wakeup_counted_when_idle(gateway: Gateway, upstream: Upstream) -> None:
    settings = RevisionSettings(timeout_seconds=30, wake_on_request=True)
    gateway.set_revision(KEY, [upstream.address], settings)
    gateway.set_routes({HOST: [(KEY, 100)]})
    for _ in range(2):  # one after the other: each finds the reserve idle
        assert (await get(gateway)).status_code == 200
    assert value(gateway, "coldbrew_reserve_wakeups_total") == 2
    assert value(gateway, "coldbrew_cold_starts_total") == 0  # a reserve pod was ready
