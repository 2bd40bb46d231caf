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


QUICK_IDLE = "autoscaler:\n  scale-to-zero-grace-period: 6s\n"


@pytest.fixture
def quick_idle_server(tmp_path: Path) -> Iterator[Server]:
    """``coldbrew serve`` with the shortest scale-to-zero grace period (6 s, Knative's floor).

    For tests of what happens once a revision idles (to zero or onto its reserve): with the
    manifests' 6 s window a revision idles in about 12 s instead of 36 s (window + 30 s grace).
    """
    config = tmp_path / "quick-idle.yaml"
    config.write_text(QUICK_IDLE)
    with Server(tmp_path / "state", "--config", str(config)) as srv:
        yield srv
