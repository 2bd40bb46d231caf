"""HTTP/2 and gRPC through a real ``coldbrew serve``: curl with prior knowledge to the
cafe's coffee, and a grpcio pod (container port named h2c) from a grpcio client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc

from tests.e2e.harness import EXAMPLES, ROOT, Server
from tests.tooling import needs_tool

GREETER = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: greeter
spec:
  template:
    spec:
      containers:
        - image: registry.example.com/demo/grpc:1
          ports:
            - name: h2c
              containerPort: 8080
"""


@needs_tool("curl")
def test_curl_http2_prior_knowledge_through_serve(server: Server) -> None:
    assert server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml")).returncode == 0
    server.wait_ready("coffee", timeout=10)
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge",
         "-H", "Host: coffee.default.example.com", server.url],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello coffee!\n"


def test_a_grpc_service_on_an_h2c_port_answers_through_serve(tmp_path: Path) -> None:
    images = tmp_path / "images.yaml"
    app = ROOT / "tests" / "apps" / "grpc_app.py"
    pattern = "registry.example.com/demo/grpc:*"
    images.write_text(f'images:\n  "{pattern}": ["{sys.executable}", "{app}"]\n')
    server = Server(tmp_path / "state", "--images", str(images))
    server.start()
    try:
        applied = server.cli("apply", "-f", "-", stdin=GREETER)
        assert applied.returncode == 0, applied.stderr
        server.wait_ready("greeter", timeout=20)
        options = [("grpc.default_authority", "greeter.default.example.com")]
        with grpc.insecure_channel(f"127.0.0.1:{server.port}", options=options) as channel:
            unary = channel.unary_unary("/demo.Echo/Unary")
            assert unary(b"served", timeout=10) == b"echo:served"
            count = channel.unary_stream("/demo.Echo/Count")
            assert list(count(b"3", timeout=10)) == [b"0", b"1", b"2"]
    finally:
        assert server.stop() == 0, server.log()[-4000:]
