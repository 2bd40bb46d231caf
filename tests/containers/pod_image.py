"""A second test image for several-container pods and security contexts (busybox, no registry).

* ``/bin/serve`` (the default): httpd on ``$PORT``; ``GET /`` prints ``uid <id -u>``, whether
  the root filesystem is writable, and what the sidecar on 127.0.0.1:9000 answers (nc);
  ``GET /cgi-bin/sick.cgi`` creates /tmp/sick (a liveness probe can test for it).
* ``/bin/sidecar``: httpd on 9000 answering ``sidecar says hi``.
"""

from __future__ import annotations

import io
import tarfile

from tests.containers.images import BUSYBOX, SERVE, _add

POD_IMAGE = "localhost/coldbrew-test/pod:1"
APPLETS = ("sh", "httpd", "sleep", "printf", "kill", "echo", "cat", "id", "touch", "test")
APPLETS += ("nc", "tail")

INDEX = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "uid $(id -u)"
if touch /written-by-cgi 2>/dev/null; then echo "rootfs writable"; else echo "rootfs read-only"; fi
answer=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 127.0.0.1 9000 2>&1 | tail -n 1)
echo "sidecar: $answer"
"""
SICK = """#!/bin/sh
touch /tmp/sick
printf 'Content-Type: text/plain\\r\\n\\r\\nsick now\\n'
"""
SIDECAR = """#!/bin/sh
httpd -f -p 9000 -h /side &
pid=$!
trap 'kill "$pid"; wait "$pid"; exit 0' TERM INT
echo "sidecar listening on 9000"
wait "$pid"
"""


def pod_rootfs_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in ("bin", "tmp", "www", "www/cgi-bin", "side"):
            _add(tar, folder, kind=tarfile.DIRTYPE, mode=0o1777 if folder == "tmp" else 0o755)
        _add(tar, "bin/busybox", BUSYBOX.read_bytes())
        for applet in APPLETS:
            _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        _add(tar, "bin/serve", SERVE.encode())
        _add(tar, "bin/sidecar", SIDECAR.encode())
        _add(tar, "www/cgi-bin/index.cgi", INDEX.encode())
        _add(tar, "www/cgi-bin/sick.cgi", SICK.encode())
        _add(tar, "side/index.html", b"sidecar says hi\n", mode=0o644)
    return buf.getvalue()
