from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "state")
    srv.start()
    try:
        yield srv
    finally:
        code = srv.stop()
        assert code == 0, f"coldbrew serve exited {code}:\n{srv.log()[-4000:]}"


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Server]:
    """``coldbrew serve --workers 2``."""
    srv = Server(tmp_path / "state", "--workers", "2")
    srv.start()
    try:
        yield srv
    finally:
        assert srv.stop() == 0, srv.log()[-3000:]
