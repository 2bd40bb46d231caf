"""Shared by the fuzz scripts: libFuzzer arguments with the repository's corpora, and the
atheris entry point (atheris is imported only there, so the targets replay without it)."""

from __future__ import annotations

import importlib
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


def fuzz(name: str, target: str, include: list[str]) -> None:
    """Run libFuzzer on ``target``'s ``check`` (a module such as ``fuzz.http_target``),
    with coverage instrumentation of the packages in ``include``; corpora as
    :func:`libfuzzer_argv` (``name`` picks the folders)."""
    import atheris

    with atheris.instrument_imports(include=include):
        check = importlib.import_module(target).check
    atheris.Setup(libfuzzer_argv(name, sys.argv), check)
    atheris.Fuzz()
