"""The rulebook is pure: it imports only the stdlib, itself and ``gateway.settings``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

RULEBOOK = Path(__file__).resolve().parents[2] / "rulebook"
ALLOWED = {"rulebook", "gateway.settings"}
FORBIDDEN_STDLIB = {"asyncio", "os", "socket", "subprocess", "pathlib", "io", "time", "shutil"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(RULEBOOK.glob("*.py")), ids=lambda p: p.name)
def test_a_rule_module_imports_only_pure_things(path: Path) -> None:
    for name in imported(path):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names:
            assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"
        else:
            assert name in ALLOWED or top == "rulebook", f"{path.name} imports {name}"
