from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path / "state") as srv:
        yield srv


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Server]:
    """``coldbrew serve --workers 2``."""
    with Server(tmp_path / "state", "--workers", "2") as srv:
        yield srv
