"""The test suite's own rules: assertions that always run, and nothing left behind after a session."""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path

import session_files

TESTS = Path(__file__).resolve().parent


def test_no_assertion_hides_inside_an_if():
    """An assert under ``if`` passes silently whenever the condition is false: make the condition hold."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.If) and any(
                isinstance(inner, ast.Assert) for branch in node.body + node.orelse for inner in ast.walk(branch)
            ):
                found.append(f"{path.relative_to(TESTS)}:{node.lineno}: if {ast.unparse(node.test)}")
    assert not found, "assertions inside `if`:\n" + "\n".join(found)


def test_session_files_live_in_one_folder_that_is_removed_at_the_end(pytestconfig):
    root = Path(session_files.SESSION_TMP)
    assert root.is_dir() and root.name.startswith("trainer-studio-tests-")
    for place in (tempfile.gettempdir(), os.environ["TMPDIR"], os.environ["GRADIO_TEMP_DIR"], session_files.HF_HOME):
        assert Path(place).resolve().is_relative_to(root.resolve()), place
    root_conftest = str(TESTS / "conftest.py")
    hooks = [p for p in pytestconfig.pluginmanager.get_plugins() if getattr(p, "__file__", None) == root_conftest]
    assert hooks and hasattr(hooks[0], "pytest_unconfigure")
