"""Fuzz the manifest validator (coldbrew.api) with atheris.

    python fuzz/manifest.py -max_total_time=60 [libFuzzer options]

Invariants: fuzz/manifest_target.py. Seeds: fuzz/corpus/manifest/; crashes land in
fuzz/work/crashes/manifest/ (fix, then add them to fuzz/regressions/manifest/, which
tests/test_fuzz_corpora.py replays).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import atheris

from fuzz.running import libfuzzer_argv

with atheris.instrument_imports(include=["coldbrew.api", "fuzz", "yaml"]):
    from fuzz import manifest_target


def main() -> None:
    atheris.Setup(libfuzzer_argv("manifest", sys.argv), manifest_target.check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
