"""Hostile HTTP/2 clients: each attack on a real connection, then ordinary requests get 200.

Rapid reset (CVE-2023-44487), a stream flood past SETTINGS_MAX_CONCURRENT_STREAMS, an
oversized header block, a CONTINUATION flood, SETTINGS and PING floods. The bounds are in
gateway/http2/guard.py; memory stays bounded because nothing is buffered past them.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from h2.errors import ErrorCodes
from h2.events import StreamEnded, StreamReset
from hpack import Encoder
from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame, SettingsFrame

from gateway import Gateway
from gateway.http2.guard import MAX_STREAMS
from tests.gateway.conftest import HOST, KEY, wait_for
from tests.gateway.h2client import RawH2, request_fields


async def still_serving(gateway: Gateway) -> None:
    async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as client:
        url = f"http://127.0.0.1:{gateway.port}/"
        replies = await asyncio.gather(*(client.get(url, headers={"host": HOST}) for _ in range(5)))
    assert [r.status_code for r in replies] == [200] * 5
    assert replies[0].text == "Hello coffee!\n"
    await wait_for(lambda: gateway.snapshot()[KEY]["in_flight"] == 0)


def write_safely(client: RawH2, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        client.raw(data)


async def test_rapid_reset_gets_goaway_enhance_your_calm(sample: Gateway) -> None:
    client = await RawH2.open(sample.port)
    for _ in range(500):
        sid = client.h2.get_next_available_stream_id()
        client.h2.send_headers(sid, request_fields("/?sleep=1000"), end_stream=True)
        client.h2.reset_stream(sid)
    with contextlib.suppress(ConnectionError):
        client.flush()
    await client.read_until(lambda evs: False)
    goaway = client.goaway()
    assert goaway is not None and goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert client.closed
    await still_serving(sample)


async def test_streams_past_the_limit_are_refused_and_the_rest_answered(sample: Gateway) -> None:
    client = await RawH2.open(sample.port)
    opened = [client.h2.get_next_available_stream_id()]
    for _ in range(MAX_STREAMS + 49):  # sent before the client saw the server's limit
        client.h2.send_headers(opened[-1], request_fields("/?sleep=300"), end_stream=True)
        opened.append(client.h2.get_next_available_stream_id())
    client.h2.send_headers(opened[-1], request_fields("/?sleep=300"), end_stream=True)
    client.flush()

    def settled(events: list[object]) -> bool:
        return sum(isinstance(e, StreamEnded | StreamReset) for e in events) >= len(opened)

    await client.read_until(settled, within=20)
    refused = [e for e in client.events if isinstance(e, StreamReset)]
    ended = [e for e in client.events if isinstance(e, StreamEnded)]
    assert len(refused) == 50 and all(e.error_code == ErrorCodes.REFUSED_STREAM for e in refused)
    assert len(ended) == MAX_STREAMS
    assert client.goaway() is None and not client.closed  # the connection itself goes on
    client.close()
    await still_serving(sample)


async def test_an_oversized_header_block_ends_the_connection(sample: Gateway) -> None:
    client = await RawH2.open(sample.port)
    fields = [*request_fields(), *((f"x-big-{i}", "v" * 1000) for i in range(100))]
    client.h2.send_headers(1, fields, end_stream=True)  # 100 KB > 64 KiB max header list
    client.flush()
    await client.read_until(lambda evs: False)
    goaway = client.goaway()
    assert goaway is not None and goaway.error_code != ErrorCodes.NO_ERROR
    assert client.closed
    await still_serving(sample)


async def test_a_continuation_flood_ends_the_connection(sample: Gateway) -> None:
    client = await RawH2.open(sample.port)
    head = HeadersFrame(1)
    head.data = Encoder().encode([(b":method", b"GET"), (b":path", b"/")])
    write_safely(client, head.serialize())  # no END_HEADERS: the block goes on and on
    more = ContinuationFrame(1)
    more.data = b"\x00" * 16000
    frame = more.serialize()
    with contextlib.suppress(ConnectionError):
        for _ in range(2000):  # 32 MB if the gateway kept reading it all
            client.raw(frame)
            await client.writer.drain()
    with contextlib.suppress(ConnectionError):
        await client.read_until(lambda evs: False)
    assert client.closed or client.goaway() is not None
    await still_serving(sample)


async def flood(gateway: Gateway, frame: bytes) -> RawH2:
    client = await RawH2.open(gateway.port)
    write_safely(client, frame * 5000)  # never reading the acknowledgements
    with contextlib.suppress(ConnectionError):
        await client.read_until(lambda evs: False)
    return client


async def test_a_settings_flood_gets_goaway_enhance_your_calm(sample: Gateway) -> None:
    frame = SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535})
    client = await flood(sample, frame.serialize())
    goaway = client.goaway()
    assert goaway is not None and goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    await still_serving(sample)


async def test_a_ping_flood_gets_goaway_enhance_your_calm(sample: Gateway) -> None:
    client = await flood(sample, PingFrame(0, opaque_data=b"12345678").serialize())
    goaway = client.goaway()
    assert goaway is not None and goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    await still_serving(sample)
