"""10 000 requests held for a revision with no endpoints: the gateway's extra RSS."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtest"))
from held_memory import measure

REQUESTS = 10_000


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[0] < REQUESTS + 500,
    reason="needs a file descriptor limit above 10 500",
)
def test_10000_held_requests_under_50_mb() -> None:
    before, after, _took = measure(REQUESTS, deadline=60.0)
    assert after - before <= 50.0, f"RSS {before:.1f} -> {after:.1f} MB"
