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

from fuzz.running import fuzz

if __name__ == "__main__":
    fuzz("manifest", "fuzz.manifest_target", include=["coldbrew.api", "fuzz", "yaml"])
