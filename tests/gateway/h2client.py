"""A raw HTTP/2 client over a real socket (h2's client state machine), for the tests.

It can also misbehave: send frames h2 would refuse to produce (``raw``), open streams
before it has seen the server's limit, reset streams as fast as it opens them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, Event
from h2.exceptions import ProtocolError

from tests.gateway.conftest import HOST


def request_fields(path: str = "/", method: str = "GET", host: str = HOST) -> list[tuple[str, str]]:
    return [(":method", method), (":scheme", "http"), (":authority", host), (":path", path)]


class RawH2:
    """One client connection; ``events`` is everything h2 parsed from the server so far."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h2 = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
        self.events: list[Event] = []
        self.closed = False

    @classmethod
    async def open(cls, port: int, *, preface: bool = True) -> RawH2:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if preface:
            client.h2.initiate_connection()
            client.flush()
        return client

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def read_until(self, done: Callable[[list[Event]], bool], within: float = 10.0) -> None:
        """Read and parse until ``done(events)`` or the server closes (then it returns)."""
        async with asyncio.timeout(within):
            while not done(self.events):
                try:
                    data = await self.reader.read(65536)
                except ConnectionError:
                    data = b""
                if not data:
                    self.closed = True
                    return
                try:
                    self.events += self.h2.receive_data(data)
                except ProtocolError:  # frames after the server's GOAWAY
                    continue
                self.flush()

    def goaway(self) -> ConnectionTerminated | None:
        for event in self.events:
            if isinstance(event, ConnectionTerminated):
                return event
        return None

    def close(self) -> None:
        self.writer.close()
