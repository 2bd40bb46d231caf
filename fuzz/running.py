"""Shared by the fuzz scripts: libFuzzer arguments with the repository's corpora."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def libfuzzer_argv(name: str, argv: list[str]) -> list[str]:
    """``argv`` plus: new inputs into fuzz/work/NAME (not committed), the seed corpus and the
    regressions read from, crashes written to fuzz/work/crashes/NAME/ (copy them into
    fuzz/regressions/NAME/ once fixed)."""
    work = HERE / "work" / name
    crashes = HERE / "work" / "crashes" / name
    work.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    extra = (
        [f"-artifact_prefix={crashes}/"] if not any("artifact_prefix" in a for a in argv) else []
    )
    dirs = [str(work), str(HERE / "corpus" / name), str(HERE / "regressions" / name)]
    if any(not a.startswith("-") for a in argv[1:]):
        dirs = []  # the caller named inputs or corpora itself
    return [argv[0], *extra, *argv[1:], *dirs]


def setup_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
