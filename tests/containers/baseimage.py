"""A local base image for building the project's Dockerfile without a registry.

A Debian minbase root filesystem made by ``debootstrap`` with Debian's python3 and pip, from
the mirror apt already uses (read from apt's sources at run time), plus this host's CA bundle
(so pip trusts what the host trusts), imported into the engine as :data:`BASE_IMAGE`. The
image stays in the engine between runs, and so does the root filesystem (``$COLDBREW_BASE_CACHE``,
default ``/var/tmp/coldbrew-base``): only the first run pays for debootstrap (about 2 minutes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import aiodocker
import aiohttp
from yarl import URL

BASE_IMAGE = "localhost/coldbrew-base:bookworm"
SUITE = "bookworm"
PACKAGES = "python3,python3-pip,ca-certificates"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def cache_dir() -> Path:
    return Path(os.environ.get("COLDBREW_BASE_CACHE") or "/var/tmp/coldbrew-base")


def apt_mirror() -> str | None:
    """The first Debian archive URI in apt's sources (deb822 ``.sources`` or ``sources.list``)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
                uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                if uris and suites and SUITE in suites.group(1).split():
                    return uris.group(1)
        elif path.suffix == ".list" or path.name == "sources.list":
            for line in text.splitlines():
                words = line.split()
                if len(words) >= 3 and words[0] == "deb" and SUITE in words:
                    return next(w for w in words[1:] if "://" in w)
    return None


def rootfs() -> Path:
    """The cached root filesystem, made now if missing (RuntimeError if it cannot be)."""
    root = cache_dir() / "rootfs"
    if (root / "usr/bin/python3").exists():
        return root
    debootstrap, mirror = shutil.which("debootstrap"), apt_mirror()
    if debootstrap is None or mirror is None:
        raise RuntimeError(f"need debootstrap ({debootstrap}) and an apt mirror ({mirror})")
    work = cache_dir() / "rootfs.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    cmd = [debootstrap, "--variant=minbase", f"--include={PACKAGES}", SUITE, str(work), mirror]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"debootstrap failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    if HOST_CA.exists():
        shutil.copyfile(HOST_CA, work / "etc/ssl/certs/ca-certificates.crt")
    work.rename(root)
    return root


async def import_base(docker: aiodocker.Docker) -> str:
    """:data:`BASE_IMAGE` in the engine (imported from :func:`rootfs` if it is not there)."""
    try:
        await docker.images.inspect(BASE_IMAGE)
        return BASE_IMAGE
    except aiodocker.DockerError as exc:
        if exc.status != 404:
            raise
    root = rootfs()
    with tempfile.TemporaryFile() as tar_file:
        with tarfile.open(fileobj=tar_file, mode="w") as tar:
            tar.add(root, arcname=".")
        tar_file.seek(0)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        query = [("fromSrc", "-"), ("repo", BASE_IMAGE), ("changes", f"ENV PATH={path}")]
        async with docker._query(
            URL("images/create").with_query(query),
            method="POST",
            data=tar_file,
            headers={"Content-Type": "application/x-tar"},
            timeout=aiohttp.ClientTimeout(total=600),
        ) as response:
            await response.read()
    await docker.images.inspect(BASE_IMAGE)
    return BASE_IMAGE
