"""``conftest`` is not importable by name: several test folders have one, and ``sys.modules["conftest"]`` is
whichever pytest loaded last. Shared helpers live in uniquely named modules (session_files, ui_support, ...)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_imports_conftest_by_name():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if "conftest" in names:
                found.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert not found, "imports of conftest: " + ", ".join(found)
