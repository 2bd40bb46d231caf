"""The test image, built locally (no registry): busybox httpd answering ``Hello $TARGET!``.

The root filesystem is Debian's static busybox, a start script and a CGI script, imported into
the engine through the Docker API (``POST /images/create?fromSrc=-``), so Docker and Podman
both take it. ``GET /?sleep=ms`` waits that long before answering. SIGTERM stops it (exit 0), even
one that comes while it starts: as PID 1 it would otherwise ignore the signal until killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
from pathlib import Path

import aiodocker
from yarl import URL

BUSYBOX = Path("/bin/busybox")
HELLO_IMAGE = "localhost/coldbrew-test/hello:1"
CONTENT_LABEL = "dev.coldbrew.test-content"  # a hash of the root filesystem: import once
APPLETS = ("sh", "httpd", "sleep", "printf", "kill", "echo", "cat")

SERVE = """#!/bin/sh
pid=
trap '[ -n "$pid" ] && kill "$pid" && wait "$pid"; exit 0' TERM INT
httpd -f -p "${PORT:-8080}" -h /www &
pid=$!
echo "listening on ${PORT:-8080} as $(id -u 2>/dev/null || echo ?)"
wait "$pid"
"""

CGI = """#!/bin/sh
ms=0
case "$QUERY_STRING" in
  *sleep=*) ms="${QUERY_STRING#*sleep=}"; ms="${ms%%&*}" ;;
esac
case "$ms" in ''|*[!0-9]*) ms=0 ;; esac
[ "$ms" -gt 0 ] && sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
printf 'Content-Type: text/plain\\r\\n\\r\\nHello %s!\\n' "${TARGET:-World}"
"""


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", mode: int = 0o755,
         kind: bytes = tarfile.REGTYPE, link: str = "") -> None:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.mode, info.type, info.linkname, info.size = mode, kind, link, len(data)
    tar.addfile(info, io.BytesIO(data) if data else None)


def rootfs_tar() -> bytes:
    """A tar of the image's root filesystem."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in ("bin", "tmp", "www", "www/cgi-bin"):
            _add(tar, folder, kind=tarfile.DIRTYPE, mode=0o1777 if folder == "tmp" else 0o755)
        _add(tar, "bin/busybox", BUSYBOX.read_bytes())
        for applet in (*APPLETS, "id"):
            _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        _add(tar, "bin/serve", SERVE.encode())
        _add(tar, "www/cgi-bin/index.cgi", CGI.encode())
    return buf.getvalue()


async def import_image(
    docker: aiodocker.Docker, image: str = HELLO_IMAGE, tar: bytes | None = None
) -> None:
    """Create ``image`` from ``tar`` (default :func:`rootfs_tar`), unless the engine has it with
    the same content."""
    tar = rootfs_tar() if tar is None else tar
    digest = hashlib.sha256(tar).hexdigest()[:16]
    try:
        old = await docker.images.inspect(image)
    except aiodocker.DockerError:
        old = {}
    if ((old.get("Config") or {}).get("Labels") or {}).get(CONTENT_LABEL) == digest:
        return
    changes = ['CMD ["/bin/serve"]', "ENV PATH=/bin", "EXPOSE 8080"]
    changes.append(f"LABEL {CONTENT_LABEL}={digest}")
    params = [("fromSrc", "-"), ("repo", image)]  # the repo may carry the tag (Podman: must)
    params += [("changes", c) for c in changes]
    async with docker._query(
        URL("images/create").with_query(params),  # repeated "changes": not a dict
        method="POST",
        data=tar,
        headers={"Content-Type": "application/x-tar"},
    ) as response:
        body = await response.read()
    for line in body.splitlines():
        item = json.loads(line) if line.strip().startswith(b"{") else {}
        if item.get("error"):
            raise RuntimeError(f"importing {image}: {item['error']}")
    await docker.images.inspect(image)  # raises if the import did not make it
    if old.get("Id"):  # the previous content, now untagged
        with contextlib.suppress(aiodocker.DockerError):
            await docker.images.delete(old["Id"])
