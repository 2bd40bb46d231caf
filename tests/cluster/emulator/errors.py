"""The API server's answers to refused requests: ``Status`` objects and warnings."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


def error(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(status(code, reason, message), status=code)


def warning_headers(warnings: list[str]) -> dict[str, str] | None:
    if not warnings:
        return None
    return {"Warning": ", ".join('299 - "{}"'.format(w.replace('"', '\\"')) for w in warnings)}


class Refused(Exception):
    """A write the API server answers with an error Status."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.response = error(code, reason, message)
