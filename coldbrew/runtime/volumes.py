"""Volume files on the host: Kubernetes' atomic-writer layout, and per-pod directories.

:func:`write_atomically` lays a volume out as the kubelet does: the files live in a
timestamped directory ``..2026_12_01_21_00_00.123456789``, ``..data`` is a symlink to it, and
each top-level name is a symlink through ``..data``. An update writes a new timestamped
directory and renames a new ``..data`` link over the old one, so a reader sees the old files or
the new ones, never a mix; then the old directory goes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

DATA = "..data"


def private_dir(path: Path) -> Path:
    """``path`` made (parents too) and set to 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_atomically(target: Path, files: Mapping[str, tuple[bytes, int]]) -> None:
    """Make ``target`` hold exactly ``files`` (relative path -> (content, mode)), atomically."""
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o755)
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    fresh = Path(tempfile.mkdtemp(prefix=stamp, dir=target))
    fresh.chmod(0o755)
    for rel, (content, mode) in files.items():
        path = fresh / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    link = target / DATA
    old = Path(os.readlink(link)) if link.is_symlink() else None
    tmp_link = target / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(fresh.name)
    os.replace(tmp_link, link)
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        entry = target / top
        if not entry.is_symlink():
            entry.symlink_to(f"{DATA}/{top}")
    for entry in target.iterdir():
        if not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old is not None and old.name != fresh.name:
        shutil.rmtree(target / old, ignore_errors=True)


def empty_dir(path: Path) -> Path:
    """An ``emptyDir`` volume: made once, writable by any user of the container (0777)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


def remove(path: Path) -> None:
    """Delete a pod's volume directory and everything in it."""
    shutil.rmtree(path, ignore_errors=True)
