"""``mypy --strict rulebook``: the rules are fully typed (mypy missing: skip, or fail on CI)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_rulebook_passes_mypy_strict() -> None:
    if importlib.util.find_spec("mypy") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("mypy is not installed (CI=true)")
        pytest.skip("mypy is not installed")
    out = subprocess.run(
        # silent: report only rulebook's own errors, not those of gateway.settings' imports
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "rulebook"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
