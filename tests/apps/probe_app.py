"""Test pod app (stdlib only): configurable readiness for the runtime's tests.

Env: LISTEN_AFTER (s) delays listening; READY_AFTER (s) makes /healthz 503 until then;
IGNORE_TERM=1 ignores SIGTERM; SPAWN_CHILD=1 starts a child process (printed as "child PID").
GET /env -> the environment as JSON; GET /healthz -> 200/503; GET /fail -> /healthz 503 from now;
GET /prestop -> prints "preStop hook called". Prints its uid and gid when it starts.
"""

import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

START = time.monotonic()
STATE = {"failing": False}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            ok = time.monotonic() - START >= float(os.environ.get("READY_AFTER", "0"))
            code = 200 if ok and not STATE["failing"] else 503
            body = b"ok\n" if code == 200 else b"not yet\n"
        elif self.path == "/fail":
            STATE["failing"] = True
            code, body = 200, b"failing\n"
        elif self.path == "/prestop":
            print("preStop hook called", flush=True)
            code, body = 200, b"bye\n"
        elif self.path == "/env":
            code, body = 200, json.dumps(dict(os.environ)).encode()
        else:
            code, body = 200, b"probe app\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    print(f"uid {os.getuid()} gid {os.getgid()}", flush=True)
    if os.environ.get("IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.environ.get("SPAWN_CHILD") == "1":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(f"child {child.pid}", flush=True)
    time.sleep(float(os.environ.get("LISTEN_AFTER", "0")))
    server = HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"probe app listening on {os.environ['PORT']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
