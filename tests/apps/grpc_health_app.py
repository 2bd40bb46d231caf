"""Test pod app: a gRPC server (grpcio) answering grpc.health.v1.Health/Check on $PORT.

SERVING while the file named by $HEALTH_FILE exists (always, when unset), else NOT_SERVING.
Messages are raw bytes: HealthCheckResponse{status: SERVING} is b"\\x08\\x01".
"""

import os
import time
from concurrent import futures

import grpc

SERVING, NOT_SERVING = b"\x08\x01", b"\x08\x02"


def check(request: bytes, context: object) -> bytes:
    path = os.environ.get("HEALTH_FILE")
    return SERVING if path is None or os.path.exists(path) else NOT_SERVING


def serve(port: int) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


if __name__ == "__main__":
    SERVER = serve(int(os.environ["PORT"]))  # kept referenced: a collected server stops
    print(f"grpc health app listening on {os.environ['PORT']}", flush=True)
    while True:
        time.sleep(3600)
