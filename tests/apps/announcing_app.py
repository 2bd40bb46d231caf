"""A pod app that prints a line when a request starts, so tests can wait on it.

``GET /?sleep=MS`` prints ``started /?sleep=MS`` to stdout, sleeps, then answers.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        print(f"started {self.path}", flush=True)
        query = parse_qs(urlparse(self.path).query)
        time.sleep(int(query.get("sleep", ["0"])[0]) / 1000)
        body = f"done {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.daemon_threads = False
    server.block_on_close = True

    def stop(*_: object) -> None:
        # Finish in-flight requests, then exit (server_close joins handler threads).
        server._BaseServer__shutdown_request = True  # type: ignore[attr-defined]

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
