"""A private mount namespace so a process pod run as another user reaches what it needs.

When coldbrew runs as root and a pod runs as another user (``--pod-user``, ``runAsUser``),
the interpreter, the coldbrew package or the pod's files may sit under a directory that user
cannot search: ``/root`` (0700) for a pyenv or a venv under root's home. Host permissions are
not changed. Instead the child, before ``exec`` and while still root, enters a mount
namespace of its own: ``/`` is made rprivate (nothing propagates back to the host), each
outermost blocking directory (``covers``, e.g. ``/root``) is covered by a small empty tmpfs
(0755), and just the paths the pod needs (``binds``) are bind-mounted back over it, from
descriptors opened before the cover. Everything else under a cover (root's home, the state
dir with other pods' Secrets and logs) is hidden from the pod.

:func:`plan` is pure (it only stats paths) and runs in the parent; :func:`confine` returns
the step run in the child, which only makes syscalls.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
COVER_OPTIONS = b"mode=0755,size=1m"


@dataclass(frozen=True)
class MountPlan:
    covers: tuple[str, ...] = ()  # directories hidden under an empty tmpfs
    binds: tuple[str, ...] = ()  # paths mounted back onto themselves (done by depth, with covers)

    def __bool__(self) -> bool:
        return bool(self.covers)


def searchable(path: str, uid: int, gids: Collection[int]) -> bool:
    """May ``uid`` (with groups ``gids``) traverse directory ``path``?"""
    if uid == 0:
        return True
    st = os.stat(path)
    if st.st_uid == uid:
        bit = stat.S_IXUSR
    elif st.st_gid in gids:
        bit = stat.S_IXGRP
    else:
        bit = stat.S_IXOTH
    return bool(st.st_mode & bit)


def blocker(path: str, uid: int, gids: Collection[int]) -> str | None:
    """The outermost strict ancestor of ``path`` that ``uid`` cannot search (None: none)."""
    for parent in reversed(PurePosixPath(path).parents):
        if not searchable(str(parent), uid, gids):
            return str(parent)
    return None


def _at_or_under(path: str, top: str) -> bool:
    return PurePosixPath(path).is_relative_to(top)


def plan(paths: Iterable[str], uid: int, gids: Collection[int]) -> MountPlan:
    """Covers and binds so that ``uid`` reaches every existing path of ``paths``.

    Walks each path from ``/`` through the namespace as the plan so far makes it: under a
    cover the directories are the tmpfs's (0755) until a bind brings back the real ones, and
    a real directory the user cannot search gets a cover (deeper ones too, inside a bind).
    A wanted directory the user cannot search, with wanted paths below it, is covered too:
    the pod may enter it and finds there only what it needs.
    """
    wanted: set[str] = set()
    for p in paths:
        if p and os.path.isabs(p) and os.path.exists(p):
            wanted |= {os.path.normpath(p), os.path.realpath(p)}
    ops: dict[str, str] = {}  # path -> "cover" | "bind"

    def real(path: str) -> bool:  # the host's directory there, as opposed to a cover's
        deepest = max((o for o in ops if _at_or_under(path, o)), key=len, default=None)
        return deepest is None or ops[deepest] == "bind"

    for p in sorted(wanted, key=lambda w: (w.count("/"), w)):
        for parent in map(str, reversed(PurePosixPath(p).parents)):
            if real(parent) and not searchable(parent, uid, gids):
                ops[parent] = "cover"
        if not real(p):
            ops[p] = "bind"
    covers = tuple(sorted(o for o, kind in ops.items() if kind == "cover"))
    binds = tuple(sorted((o for o, kind in ops.items() if kind == "bind"), key=_depth))
    return MountPlan(covers, binds)


def _depth(path: str) -> tuple[int, str]:
    return path.count("/"), path


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.unshare.argtypes = [ctypes.c_int]
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def confine(mounts: MountPlan) -> Callable[[], None]:
    """The child's step (as root, before switching user) that carries out ``mounts``."""
    libc = _libc()  # loaded here, in the parent: the child only calls it

    def enter() -> None:
        _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / rprivate")
        fds = {b: os.open(b, os.O_PATH | os.O_CLOEXEC) for b in mounts.binds}
        for path in sorted((*mounts.covers, *mounts.binds), key=_depth):  # outer ones first
            if path not in fds:
                if not os.path.lexists(path):  # a closed dir the pod wants, under a cover
                    _mount_point(path, True)
                flags = MS_NOSUID | MS_NODEV
                _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, COVER_OPTIONS), path)
                continue
            fd = fds[path]
            if not os.path.lexists(path):  # under a cover: make the mount point
                _mount_point(path, stat.S_ISDIR(os.fstat(fd).st_mode))
            source = f"/proc/self/fd/{fd}".encode()
            _check(libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None), path)
            os.close(fd)

    return enter


def _mount_point(path: str, directory: bool) -> None:
    parent = os.path.dirname(path)
    missing = []
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for d in reversed(missing):
        os.mkdir(d)
        os.chmod(d, 0o755)
    if directory:
        os.mkdir(path)
        os.chmod(path, 0o755)
    else:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
