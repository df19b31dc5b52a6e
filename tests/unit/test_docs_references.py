"""The threat model names the tests that prove each control: those tests must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _test_functions() -> dict[str, set[str]]:
    """Test file stem -> the test functions it defines."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.setdefault(path.stem, set()).update(
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
        )
    return found


def test_every_test_the_threat_model_names_exists_in_the_file_it_names() -> None:
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    tests = _test_functions()
    every = set().union(*tests.values())
    missing: list[str] = []
    # `tests/x/test_file.py::test_name`, then `::test_other` meaning the same file.
    current: str | None = None
    for match in re.finditer(r"(?:tests/[\w/]+/(test_\w+)\.py)?::(test_\w+)", text):
        current = match.group(1) or current
        if current is None or match.group(2) not in tests.get(current, set()):
            missing.append(f"{current}::{match.group(2)}")
    # Bare names (no file) must exist somewhere.
    for name in re.findall(r"`(test_\w+)`", text):
        if name not in every and name not in tests:
            missing.append(name)
    assert missing == []
