"""``coldbrew completion bash|zsh``: the bash script parses and completes subcommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coldbrew.cli.completion import script
from coldbrew.cli.main import build_parser, run
from tests.e2e.harness import ROOT

COMPLETE = """
source "$1"
fn=$(complete -p coldbrew | sed 's/.* -F \\([^ ]*\\) .*/\\1/')
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
"$fn" coldbrew "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\\n' "${COMPREPLY[@]}"
"""


def _complete(path: str, line: str) -> list[str]:
    """What bash offers for the last word of ``line`` (empty after a trailing space)."""
    out = subprocess.run(
        ["bash", "-c", COMPLETE, "complete", path, *line.split(" ")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return sorted(w for w in out.stdout.split() if w)


def test_bash_script_is_valid_and_completes(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "coldbrew", "completion", "bash"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=60,
    ).stdout  # fmt: skip
    path = str(tmp_path / "coldbrew.bash")
    with open(path, "w") as f:
        f.write(printed)
    subprocess.run(["bash", "-n", path], check=True, timeout=30)
    assert _complete(path, "coldbrew service cr") == ["create"]
    assert "update" in _complete(path, "coldbrew service ")
    assert "--traffic" in _complete(path, "coldbrew service update coffee --tr")


def test_zsh_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["completion", "zsh"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("#compdef coldbrew")
    assert "create" in text and text == script(build_parser(), "zsh")
