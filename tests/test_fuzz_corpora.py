"""Replay the fuzzers' seed corpora and regressions through their targets (no atheris).

Every file of fuzz/corpus/NAME/ and fuzz/regressions/NAME/ goes through the same
``check`` as ``python fuzz/NAME.py``: a crash the fuzzer found stays fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz import http_target, manifest_target

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = {"http_head": http_target.check, "manifest": manifest_target.check}


def inputs() -> list[tuple[str, Path]]:
    found = []
    for name in sorted(TARGETS):
        for kind in ("corpus", "regressions"):
            folder = FUZZ / kind / name
            found += [
                (name, p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != "README"
            ]
    return found


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_input_replays(name: str) -> None:
    files = [p for n, p in inputs() if n == name]
    assert files, f"no corpus for {name}"
    for path in files:
        try:
            TARGETS[name](path.read_bytes())
        except Exception as exc:
            raise AssertionError(f"{path.relative_to(FUZZ)}: {exc!r}") from exc


def test_http_target_catches_a_smuggled_framing() -> None:
    head = b"GET / HTTP/1.1\r\nHost: a\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n"
    with pytest.raises(AssertionError, match=r"two framings|does not parse"):
        http_target.check_forwarded(head)
    with pytest.raises(AssertionError, match="underscored"):
        http_target.check_forwarded(b"GET / HTTP/1.1\r\nHost: a\r\nx_a: 1\r\n\r\n")
