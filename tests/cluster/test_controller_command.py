"""The cluster commands refuse a wrong config at start, naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("command", "text", "key"),
    [
        ("controller", "autoscaler:\n  max-scale-down-rate: 1\n", "max-scale-down-rate"),
        ("autoscaler", "autoscaler:\n  stable-window: 2s\n", "stable-window"),
    ],
)
def test_a_cluster_command_refuses_a_wrong_config(
    tmp_path: Path, command: str, text: str, key: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "coldbrew", command, "--host", "127.0.0.1", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert key in out.stderr and "refusing to start" in out.stderr, out.stderr
