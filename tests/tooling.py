"""Marks for tests that need a system tool that ``.ci/run`` installs."""

from __future__ import annotations

import os
import shutil

import pytest


def needs_tool(name: str) -> pytest.MarkDecorator:
    """Skip when ``name`` is not on PATH, except under ``CI=true``: there .ci/run installs it,
    so the test runs and a missing tool fails it instead of hiding behind a skip."""
    ci = os.environ.get("CI", "").lower() == "true"
    return pytest.mark.skipif(
        shutil.which(name) is None and not ci, reason=f"{name} is not installed"
    )
