"""Fuzz the client side of HTTP/1 (request-head parsing and rewrite) with atheris.

    python fuzz/http_head.py -max_total_time=60 [libFuzzer options]

Invariants: fuzz/http_target.py. Seeds: fuzz/corpus/http_head/; crashes land in
fuzz/work/crashes/http_head/ (fix, then add them to fuzz/regressions/http_head/, which
tests/test_fuzz_corpora.py replays).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.running import fuzz

if __name__ == "__main__":
    fuzz("http_head", "fuzz.http_target", include=["gateway", "activator", "fuzz"])
