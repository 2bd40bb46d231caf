"""The layering rules of docs/seams.md, as import-linter contracts (pyproject.toml).

``lint-imports`` runs on this tree; a second run on a copy where a data-plane module
imports coldbrew shows that a violation does fail. The pure-rules package ``rulebook``
is checked too once it exists (skipped until then).
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
PACKAGES = ("gateway", "activator", "autoscaler", "coldbrew")
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
        ("autoscaler", "coldbrew"),
        ("coldbrew.cluster", "coldbrew.runtime"),
    } <= forbidden


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("gateway/admin.py", "import coldbrew.storing", "The data plane"),
        ("activator/__init__.py", "from autoscaler import config", "The data plane"),
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


RULEBOOK_CONTRACT = """
[[tool.importlinter.contracts]]
id = "rulebook"
name = "The rules (rulebook) import nothing of coldbrew or autoscaler"
type = "forbidden"
source_modules = ["rulebook"]
forbidden_modules = ["coldbrew", "autoscaler"]
"""


def with_rulebook(pyproject: str) -> str:
    """pyproject.toml's text with ``rulebook`` as a root package and its contract."""
    before = 'root_packages = ["gateway", "activator", "autoscaler", "coldbrew"'
    assert before in pyproject, "root_packages changed: update with_rulebook"
    text = pyproject.replace(before, before + ', "rulebook"', 1)
    return text + RULEBOOK_CONTRACT


def run_rulebook_contract(tree: Path) -> subprocess.CompletedProcess[str]:
    config = tree / "rulebook-layers.toml"
    config.write_text(with_rulebook((ROOT / "pyproject.toml").read_text()))
    return lint_imports(tree, "--config", str(config))


def test_rulebook_is_pure(tmp_path: Path) -> None:
    if (
        "rulebook"
        in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
            "root_packages"
        ]
    ):
        pytest.skip("pyproject.toml checks rulebook itself (test_contracts_are_kept)")
    if not (ROOT / "rulebook" / "__init__.py").exists():
        pytest.skip("the rulebook package does not exist yet")
    copy_tree(tmp_path)
    shutil.copytree(ROOT / "rulebook", tmp_path / "rulebook")
    result = run_rulebook_contract(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rulebook_contract_catches_a_violation(tmp_path: Path) -> None:
    """The contract above works: a stand-in rulebook that imports coldbrew breaks it."""
    copy_tree(tmp_path)
    (tmp_path / "rulebook").mkdir()
    (tmp_path / "rulebook" / "__init__.py").write_text('"""Pure rules."""\n')
    assert run_rulebook_contract(tmp_path).returncode == 0
    (tmp_path / "rulebook" / "scaling.py").write_text("from coldbrew import api  # noqa\n")
    result = run_rulebook_contract(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rulebook.scaling -> coldbrew" in result.stdout
