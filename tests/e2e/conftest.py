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
