"""HTTP/2 through the gateway with real clients: curl, httpx, raw h2 frames.

The pods are real processes (the sample app, HTTP/1) or the aiohttp upstream of
conftest.py; a gRPC pod with a port named h2c is in test_grpc.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from h2.events import DataReceived, StreamEnded

from coldbrew.local_ca import LocalCA
from gateway import Gateway
from gateway.handling import Handler
from gateway.http2.negotiation import ALPN, protocol_factory
from gateway.settings import RevisionSettings
from tests.gateway.conftest import HOST, KEY, Upstream, echo, wait_for
from tests.gateway.h2client import RawH2, request_fields
from tests.gateway.pods import pod
from tests.tooling import needs_tool


async def curl(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-v", "--max-time", "10", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@needs_tool("curl")
async def test_curl_with_prior_knowledge_gets_hello(sample: Gateway) -> None:
    url = f"http://127.0.0.1:{sample.port}/"
    rc, out, err = await curl("--http2-prior-knowledge", "-H", f"Host: {HOST}", url)
    assert rc == 0, err
    assert out == "Hello coffee!\n"
    assert "< HTTP/2 200" in err


@needs_tool("curl")
async def test_curl_upgrade_h2c_gets_hello(sample: Gateway) -> None:
    url = f"http://127.0.0.1:{sample.port}/"
    rc, out, err = await curl("--http2", "-H", f"Host: {HOST}", url)
    assert rc == 0, err
    assert out == "Hello coffee!\n"
    assert "101 Switching Protocols" in err and "< HTTP/2 200" in err


@needs_tool("curl")
@pytest.mark.parametrize("version", ["--http2", "--http1.1"])
async def test_tls_listener_picks_the_protocol_by_alpn(
    sample: Gateway, tmp_path: Path, version: str
) -> None:
    ca = LocalCA(tmp_path, "example.com")  # covers *.default.example.com
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.pair.cert, ca.pair.key)
    context.set_alpn_protocols(ALPN)
    ctx = sample._ctx
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        protocol_factory(ctx, Handler(ctx), tls=True), "127.0.0.1", 0, ssl=context
    )
    port = server.sockets[0].getsockname()[1]
    try:
        rc, out, err = await curl(
            version, "--cacert", str(ca.ca_cert), "--resolve", f"{HOST}:{port}:127.0.0.1",
            f"https://{HOST}:{port}/",
        )  # fmt: skip
        assert rc == 0, err
        assert out == "Hello coffee!\n"
        assert ("< HTTP/2 200" if version == "--http2" else "< HTTP/1.1 200") in err
    finally:
        server.close()
        for proto in list(ctx.connections):
            proto.transport.abort()


async def test_100_concurrent_streams_on_one_connection_finish_together(sample: Gateway) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(http1=False, http2=True, limits=limits, timeout=20) as client:
        url = f"http://127.0.0.1:{sample.port}/?sleep=100"
        began = time.monotonic()
        replies = await asyncio.gather(
            *(client.get(url, headers={"host": HOST}) for _ in range(100))
        )
        took = time.monotonic() - began
    assert all(r.status_code == 200 and r.http_version == "HTTP/2" for r in replies)
    assert all(r.text.startswith("Slept for") for r in replies)
    assert took < 5.0, took  # one after another would take 10 s


async def test_an_h2_request_body_reaches_an_http1_pod(routed: Gateway, upstream: Upstream) -> None:
    body = b"x" * 300_000  # past the stream's flow-control window

    async def parts() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 10000):
            yield body[i : i + 10000]

    async with httpx.AsyncClient(http1=False, http2=True, timeout=20) as client:
        url = f"http://127.0.0.1:{routed.port}/post?a=1"
        reply = await client.post(url, content=body, headers={"host": HOST, "x-one": "1"})
        streamed = await client.post(url, content=parts(), headers={"host": HOST})
        relayed = await client.get(url, headers={"host": HOST, "x-forwarded-for": "10.0.0.9"})
    assert reply.status_code == 200
    seen = reply.json()
    assert (seen["method"], seen["path"], seen["body_len"]) == ("POST", "/post?a=1", len(body))
    assert seen["headers"]["host"] == HOST and seen["headers"]["x-one"] == "1"
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert streamed.json()["body_len"] == len(body)  # no content-length: chunked upstream
    relayed_headers = relayed.json()["headers"]
    assert relayed_headers["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"  # appended to
    assert relayed_headers["x-forwarded-proto"] == "http"


async def test_an_unknown_host_gets_404_on_its_stream_only(sample: Gateway) -> None:
    async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as client:
        url = f"http://127.0.0.1:{sample.port}/"
        missing = await client.get(url, headers={"host": "nope.example.com"})
        fine = await client.get(url, headers={"host": HOST})
    assert missing.status_code == 404 and "nope.example.com" in missing.text
    assert fine.status_code == 200 and fine.text == "Hello coffee!\n"


async def test_a_timeout_answers_504_on_its_stream_and_others_go_on(gateway: Gateway) -> None:
    async with pod("coldbrew.sample", TARGET="coffee") as port:
        gateway.set_revision(KEY, [("127.0.0.1", port)], RevisionSettings(timeout_seconds=0.5))
        gateway.set_routes({HOST: [(KEY, 100)]})
        async with httpx.AsyncClient(http1=False, http2=True, timeout=20) as client:
            url = f"http://127.0.0.1:{gateway.port}/"
            slow, fast = await asyncio.gather(
                client.get(url + "?sleep=5000", headers={"host": HOST}),
                client.get(url, headers={"host": HOST}),
            )
            again = await client.get(url, headers={"host": HOST})
    assert slow.status_code == 504
    assert fast.status_code == 200 and again.status_code == 200


@needs_tool("curl")
async def test_shutdown_sends_goaway_and_finishes_streams_in_flight(sample: Gateway) -> None:
    idle = await RawH2.open(sample.port)
    await idle.read_until(lambda evs: len(evs) >= 1)  # the server's SETTINGS
    url = f"http://127.0.0.1:{sample.port}/?sleep=500"
    busy = asyncio.create_task(curl("--http2-prior-knowledge", "-H", f"Host: {HOST}", url))
    await wait_for(lambda: sample.snapshot().get(KEY, {}).get("in_flight") == 1)
    await sample.stop(grace=10)
    rc, out, err = await busy
    assert rc == 0, err
    assert out.startswith("Slept for") and "< HTTP/2 200" in err
    await idle.read_until(lambda evs: False)  # until the gateway closes it
    goaway = idle.goaway()
    assert goaway is not None and goaway.error_code == 0 and idle.closed
    idle.close()


async def big(request: web.Request) -> web.StreamResponse:
    size = int(request.query["size"])
    response = web.StreamResponse()
    await response.prepare(request)
    block = bytes(range(256)) * 256  # 64 KiB
    for _ in range(size // len(block)):
        await response.write(block)
    await response.write_eof()
    return response


async def test_large_responses_flow_within_the_windows_on_shared_streams(
    gateway: Gateway,
) -> None:
    up = Upstream()
    up.app.router.add_get("/big", big)
    up.app.router.add_route("*", "/{tail:.*}", echo)
    await up.start()
    try:
        gateway.set_revision(KEY, [up.address], RevisionSettings(timeout_seconds=30))
        gateway.set_routes({HOST: [(KEY, 100)]})
        size = 64 * 1024 * 80  # 5 MiB each: many times the 64 KiB stream window
        async with httpx.AsyncClient(http1=False, http2=True, timeout=30) as client:
            url = f"http://127.0.0.1:{gateway.port}"
            first, second, small = await asyncio.gather(
                client.get(f"{url}/big?size={size}", headers={"host": HOST}),
                client.get(f"{url}/big?size={size}", headers={"host": HOST}),
                client.get(f"{url}/x", headers={"host": HOST, "cookie": "a=1; b=2"}),
            )
    finally:
        await up.stop()
    block = bytes(range(256)) * 256
    assert first.content == second.content == block * 80
    assert small.json()["headers"]["cookie"] == "a=1; b=2"


async def test_a_client_that_does_not_read_stops_the_pod_not_the_gateway_memory(
    gateway: Gateway,
) -> None:
    total = 32 * 1024 * 1024
    written = [0]

    async def flood(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        block = b"z" * 65536
        while written[0] < total:
            await response.write(block)  # blocks once the gateway stops reading
            written[0] += len(block)
        await response.write_eof()
        return response

    up = Upstream()
    up.app.router.add_get("/flood", flood)
    await up.start()
    try:
        gateway.set_revision(KEY, [up.address], RevisionSettings(timeout_seconds=60))
        gateway.set_routes({HOST: [(KEY, 100)]})
        client = await RawH2.open(gateway.port)
        client.h2.send_headers(1, request_fields("/flood"), end_stream=True)
        client.flush()
        samples: list[int] = []

        def stalled() -> bool:  # the client grants no window: the pod must stall
            samples.append(written[0])
            return len(samples) > 3 and samples[-1] == samples[-4] > 0

        await wait_for(stalled, within=20)
        assert written[0] < total // 2, written[0]  # held back, not buffered by the gateway
        got = 0

        def drained(events: list[Any]) -> bool:
            nonlocal got
            for event in events:
                if isinstance(event, DataReceived) and event.flow_controlled_length:
                    got += len(event.data or b"")
                    client.h2.acknowledge_received_data(event.flow_controlled_length, 1)
            events.clear()
            client.flush()
            return got >= total

        await client.read_until(drained, within=60)
        assert got == total
        client.close()
    finally:
        await up.stop()


async def test_a_slow_pod_stops_the_client_upload_by_flow_control(gateway: Gateway) -> None:
    total = 32 * 1024 * 1024
    go = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await go.wait()  # reads nothing until told
        size = 0
        while chunk := await request.content.read(65536):
            size += len(chunk)
        return web.json_response({"body_len": size})

    up = Upstream()
    up.app.router.add_post("/slow", slow)
    await up.start()
    try:
        gateway.set_revision(KEY, [up.address], RevisionSettings(timeout_seconds=60))
        gateway.set_routes({HOST: [(KEY, 100)]})
        client = await RawH2.open(gateway.port)
        client.h2.send_headers(1, request_fields("/slow", "POST"))
        client.flush()
        sent = 0
        block = b"u" * 16384

        def send_what_fits() -> None:
            nonlocal sent
            while sent < total and client.h2.local_flow_control_window(1) >= len(block):
                client.h2.send_data(1, block, end_stream=sent + len(block) >= total)
                sent += len(block)
            client.flush()

        samples: list[int] = []

        async def stalled() -> bool:
            send_what_fits()
            with contextlib.suppress(TimeoutError):
                await client.read_until(lambda evs: False, within=0.1)  # window updates
            samples.append(sent)
            return len(samples) > 3 and samples[-1] == samples[-4]

        await wait_for(stalled, within=20)
        assert sent < total // 2, sent  # the gateway granted no more window: held back
        go.set()

        def ended(events: list[Any]) -> bool:
            return any(isinstance(e, StreamEnded) for e in events)

        def window_or_end(events: list[Any]) -> bool:
            room = client.h2.local_flow_control_window(1) >= len(block)
            return ended(events) or (sent < total and room)

        async def finished() -> bool:
            send_what_fits()
            await client.read_until(window_or_end, within=20)
            return ended(client.events)

        await wait_for(finished, within=60)
        body = b"".join(e.data or b"" for e in client.events if isinstance(e, DataReceived))
        assert json.loads(body) == {"body_len": total}
        client.close()
    finally:
        await up.stop()


async def test_an_upgrade_with_bad_settings_is_served_as_http1(sample: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sample.port)
    writer.write(
        b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: !!notbase64\r\n\r\n" % HOST.encode()
    )
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(14)
    writer.close()
    assert head.startswith(b"HTTP/1.1 200 ") and body == b"Hello coffee!\n"
