"""``coldbrew controller`` refuses a wrong config at start, naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_controller_refuses_a_wrong_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("autoscaler:\n  max-scale-down-rate: 1\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coldbrew",
            "controller",
            "--host",
            "127.0.0.1",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "max-scale-down-rate" in out.stderr, out.stderr
