"""The metrics stream endpoint: ``GET /autoscaler/stream`` (websocket, docs/seams.md).

Each text frame is one JSON object (``hello``/``stats``/``poke``) handed to
:meth:`Autoscaler.record`. Malformed frames are counted and skipped; a bad frame never
closes the connection or crashes the handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from autoscaler.autoscaling import Autoscaler, MalformedMessageError

log = logging.getLogger(__name__)

STREAM_PATH = "/autoscaler/stream"
# What the autoscaler saw and decided for one revision (for ``coldbrew simulate``).
TRACE_PATH = "/autoscaler/traces/{ns}/{name}"


@dataclass(slots=True)
class StreamStats:
    """Counters of the stream endpoint."""

    connections: int = 0
    open_connections: int = 0
    frames: int = 0
    malformed: int = 0


STREAM_STATS: web.AppKey[StreamStats] = web.AppKey("autoscaler_stream_stats", StreamStats)


Observe = Callable[[Any], None]


def add_routes(
    app: web.Application, autoscaler: Autoscaler, observe: Observe | None = None
) -> StreamStats:
    """Add the websocket route to ``app``; returns its counters (also ``app[STREAM_STATS]``).

    ``observe`` also gets every decoded frame (``coldbrew serve`` keeps the workers'
    cumulative request totals from the ``stats`` frames for ``/metrics``).
    """
    stats = StreamStats()
    app[STREAM_STATS] = stats
    sockets: set[web.WebSocketResponse] = set()

    async def close_all(_: web.Application) -> None:
        # Shutting down must not wait for gateways that would stream forever.
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"autoscaler shutting down")

    app.on_shutdown.append(close_all)

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        sockets.add(ws)
        stats.connections += 1
        stats.open_connections += 1
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    stats.frames += 1
                    _handle_frame(autoscaler, stats, msg.data, observe)
                elif msg.type is WSMsgType.BINARY:
                    stats.frames += 1
                    try:
                        text = msg.data.decode()
                    except UnicodeDecodeError:
                        stats.malformed += 1
                        continue
                    _handle_frame(autoscaler, stats, text, observe)
                elif msg.type is WSMsgType.ERROR:
                    log.warning("metrics stream error: %s", ws.exception())
        finally:
            sockets.discard(ws)
            stats.open_connections -= 1
        return ws

    async def trace(request: web.Request) -> web.Response:
        key = f"{request.match_info['ns']}/{request.match_info['name']}"
        return web.json_response(autoscaler.tracer.export(key))

    app.router.add_get(STREAM_PATH, stream)
    app.router.add_get(TRACE_PATH, trace)
    return stats


def _handle_frame(
    autoscaler: Autoscaler, stats: StreamStats, text: str, observe: Observe | None = None
) -> None:
    try:
        message = json.loads(text)
        autoscaler.record(message)
        if observe is not None:
            observe(message)
    except (ValueError, MalformedMessageError) as exc:
        stats.malformed += 1
        log.debug("skipping malformed metrics frame: %s", exc)
    except Exception:
        stats.malformed += 1
        log.exception("metrics frame failed")
