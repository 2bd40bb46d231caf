"""The metrics stream endpoint: ``GET /autoscaler/stream`` (websocket, docs/seams.md).

Each text frame is one JSON object (``hello``/``stats``/``poke``) handed to
:meth:`Autoscaler.record`. Malformed frames are counted and skipped; a bad frame never
closes the connection or crashes the handler.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from autoscaler.autoscaling import Autoscaler, MalformedMessageError

log = logging.getLogger(__name__)

STREAM_PATH = "/autoscaler/stream"


@dataclass(slots=True)
class StreamStats:
    """Counters of the stream endpoint."""

    connections: int = 0
    open_connections: int = 0
    frames: int = 0
    malformed: int = 0


STREAM_STATS: web.AppKey[StreamStats] = web.AppKey("autoscaler_stream_stats", StreamStats)


def add_routes(app: web.Application, autoscaler: Autoscaler) -> StreamStats:
    """Add the websocket route to ``app``; returns its counters (also ``app[STREAM_STATS]``)."""
    stats = StreamStats()
    app[STREAM_STATS] = stats

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        stats.connections += 1
        stats.open_connections += 1
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    stats.frames += 1
                    _handle_frame(autoscaler, stats, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    stats.frames += 1
                    try:
                        text = msg.data.decode()
                    except UnicodeDecodeError:
                        stats.malformed += 1
                        continue
                    _handle_frame(autoscaler, stats, text)
                elif msg.type is WSMsgType.ERROR:
                    log.warning("metrics stream error: %s", ws.exception())
        finally:
            stats.open_connections -= 1
        return ws

    app.router.add_get(STREAM_PATH, stream)
    return stats


def _handle_frame(autoscaler: Autoscaler, stats: StreamStats, text: str) -> None:
    try:
        message = json.loads(text)
        autoscaler.record(message)
    except (ValueError, MalformedMessageError) as exc:
        stats.malformed += 1
        log.debug("skipping malformed metrics frame: %s", exc)
    except Exception:
        stats.malformed += 1
        log.exception("metrics frame failed")
