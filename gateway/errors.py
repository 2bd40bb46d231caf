"""Canned error responses, prebuilt as bytes. Every one closes the connection."""

from __future__ import annotations


def canned(status: int, reason: str, body: str) -> bytes:
    """Build a complete plain-text response that closes the connection."""
    payload = body.encode("utf-8", "replace")
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(payload)}\r\n"
        "connection: close\r\n"
        "\r\n"
    ).encode("latin-1") + payload


BAD_REQUEST = canned(400, "Bad Request", "bad request\n")
MISSING_HOST = canned(400, "Bad Request", "missing Host header\n")
REQUEST_TIMEOUT = canned(408, "Request Timeout", "request timed out\n")
METHOD_NOT_ALLOWED = canned(405, "Method Not Allowed", "method not allowed\n")
HEADERS_TOO_LARGE = canned(431, "Request Header Fields Too Large", "request headers too large\n")
BAD_GATEWAY = canned(502, "Bad Gateway", "upstream failed\n")
UNAVAILABLE = canned(503, "Service Unavailable", "no revision available\n")
GATEWAY_TIMEOUT = canned(504, "Gateway Timeout", "upstream timed out\n")
VERSION_NOT_SUPPORTED = canned(505, "HTTP Version Not Supported", "http version not supported\n")


def not_found(host: bytes) -> bytes:
    """404 for a Host with no route; the host is echoed (truncated, latin-1 safe)."""
    shown = host[:200].decode("latin-1").replace('"', "'")
    return canned(404, "Not Found", f'no route for host "{shown}"\n')


def to_https(host: bytes, port: int, target: bytes) -> bytes:
    """301 to the same host and target over https (the port shown unless 443)."""
    authority = host if port == 443 else host + b":" + str(port).encode()
    if not target.startswith(b"/"):
        target = b"/"
    location = b"https://" + authority + target
    if any(c < 0x21 or c > 0x7E for c in location):  # never echo controls into a header
        location = b"https://" + authority + b"/"
    return (
        b"HTTP/1.1 301 Moved Permanently\r\nlocation: "
        + location
        + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
