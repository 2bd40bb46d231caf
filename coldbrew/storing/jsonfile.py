"""The repository kept in one JSON file, ``{state_dir}/state.json``.

The whole state is one document (see :mod:`.jsonformat`), rewritten atomically once
per transaction that wrote something: write a temporary file, fsync it, rename it
over the old one, fsync the folder. A crash mid-write leaves either the old state or
the new one and never a torn file; a temporary file left by such a crash is removed
on the next load. The state is small (manifests, not pods), so rewriting it whole is
cheap and keeps recovery trivial.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from .jsonformat import State, decode, encode
from .memory import MemoryRepository, Table
from .records import StoreError

STATE_FILE = "state.json"
TEMP_PREFIX = ".state-"


class JsonFileRepository(MemoryRepository):
    """The state in memory, saved to ``state_dir/state.json``.

    The file is created 0600 (``mkstemp``) and the state dir is made 0700: it holds Secrets.
    """

    def __init__(self, state_dir: Path) -> None:
        super().__init__()
        self.state_dir = state_dir
        self.path = state_dir / STATE_FILE

    def load(self) -> None:
        """Read the state file (none yet: empty state); :class:`StoreError` if unreadable.

        A state dir made here is its owner's only (0700); its files are written 0600."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):  # an older dir too: it may hold Secrets
            self.state_dir.chmod(0o700)
        for stale in self.state_dir.glob(f"{TEMP_PREFIX}*"):
            stale.unlink(missing_ok=True)  # a save interrupted before its rename
        state = read_state(self.path)
        self._replace_all(*(state or ([], [])))

    def _save(self, changed: list[tuple[Table[Any], str]]) -> None:
        # The whole document, whatever changed: it is rewritten once per transaction.
        payload = encode(
            self.services.list(),
            self.revisions.list(),
            self.configmaps.list(),
            self.secrets.list(),
            self.domain_mappings.list(),
        )
        try:
            write_atomically(self.path, payload)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc}") from exc


def read_state(path: Path) -> State | None:
    """The records of a state file (None: there is none); :class:`StoreError` naming it."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    try:
        return decode(text)
    except StoreError as exc:
        raise StoreError(f"{path}: {exc}") from exc


def write_atomically(path: Path, payload: bytes) -> None:
    """Replace ``path`` by ``payload``: all of it or none of it, durable on return."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
