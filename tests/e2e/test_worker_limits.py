"""``serve --workers 2`` carries the client limits (gateway.limits) to its workers."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.e2e.harness import EXAMPLES, Server

COFFEE = "coffee.default.example.com"


def test_workers_get_underscore_mode_and_header_timeout(tmp_path: Path) -> None:
    server = Server(
        tmp_path / "state",
        *["--workers", "2", "--underscores-in-headers", "reject", "--header-timeout", "0.5"],
    )
    server.start()
    try:
        server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
        server.wait_ready("coffee")
        # New connections spread over both workers (SO_REUSEPORT): each refuses the header.
        for _ in range(20):
            assert server.request(COFFEE).status_code == 200
            headers = {"Host": COFFEE, "X_Forwarded_For": "6.6.6.6"}
            refused = httpx.get(server.url, headers=headers, timeout=10)
            assert refused.status_code == 400
        # A head that never completes is cut after the header timeout, on any worker.
        trickling = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(6)]
        for sock in trickling:
            sock.settimeout(10)
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {COFFEE}\r\n".encode())
        assert [sock.recv(100) for sock in trickling] == [b""] * 6
        for sock in trickling:
            sock.close()
    finally:
        assert server.stop() == 0, server.log()[-3000:]
