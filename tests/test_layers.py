"""The layering rules of docs/seams.md, as import-linter contracts (pyproject.toml).

``lint-imports`` runs on this tree; a second run on a copy where a data-plane module
imports coldbrew (or any other forbidden edge) shows that a violation does fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "activator", "rulebook", "autoscaler", "coldbrew")
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1"}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(dest: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contracts_cover_the_seams() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden = {
        (source, target)
        for contract in config["contracts"]
        if contract["type"] == "forbidden"
        for source in contract["source_modules"]
        for target in contract["forbidden_modules"]
    }
    assert {
        ("gateway", "coldbrew"),
        ("gateway", "autoscaler"),
        ("activator", "coldbrew"),
        ("activator", "autoscaler"),
        ("gateway", "rulebook"),
        ("rulebook", "coldbrew"),
        ("rulebook", "autoscaler"),
        ("autoscaler", "coldbrew"),
        ("coldbrew.cluster", "coldbrew.runtime"),
    } <= forbidden


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("gateway/admin.py", "import coldbrew.storing", "The data plane"),
        ("activator/__init__.py", "from autoscaler import config", "The data plane"),
        ("gateway/settings.py", "import rulebook", "The data plane"),
        ("rulebook/revision_settings.py", "import coldbrew.api", "The rules"),
        ("rulebook/scale_bounds.py", "import autoscaler.config", "The rules"),
        ("autoscaler/durations.py", "import coldbrew.api", "The autoscaler never"),
        ("coldbrew/cluster/kube/leasing.py", "import coldbrew.runtime", "Cluster mode"),
    ],
)
def test_a_violation_fails(tmp_path: Path, module: str, line: str, broken: str) -> None:
    copy_tree(tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout
    broken_section = result.stdout.split("Broken contracts", 1)[1]
    assert broken in broken_section
    assert module.removesuffix(".py").replace("/", ".").removesuffix(".__init__") in broken_section
