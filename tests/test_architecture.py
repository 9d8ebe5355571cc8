"""The core's shape: which core module may import which, read from the source with ``ast``.

Imports inside functions count: a function-local import only hides a cycle until that function runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "trainer_core"


def _core_modules() -> dict[str, list[Path]]:
    """Top-level modules and the non-UI packages (folded into one node each), name -> source files."""
    modules = {path.stem: [path] for path in sorted(CORE.glob("*.py"))}
    for package in sorted(p for p in CORE.iterdir() if (p / "__init__.py").is_file() and p.name != "ui"):
        modules[package.name] = sorted(package.rglob("*.py"))
    return modules


def _imported(node: ast.AST) -> list[str]:
    """Dotted names an import statement reaches, ``from a import b`` giving both ``a`` and ``a.b``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return []


def _import_graph() -> dict[str, set[str]]:
    modules = _core_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, paths in modules.items():
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                for dotted in _imported(node):
                    parts = dotted.split(".")
                    if parts[0] == "trainer_core" and len(parts) > 1 and parts[1] in modules and parts[1] != name:
                        graph[name].add(parts[1])
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start)
        if found:
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_modules_import_each_other_without_a_cycle():
    graph = _import_graph()
    assert {"hub", "jobs", "limits", "runtime", "search", "training", "rundir"} <= set(graph)
    cycle = _find_cycle(graph)
    assert cycle is None, "core modules import each other in a circle (function-local imports count): " + (
        " -> ".join(cycle or [])
    )


def test_the_run_directory_format_imports_no_other_core_module():
    assert _import_graph()["rundir"] == set()


def test_no_module_outside_the_ui_imports_gradio():
    found = []
    for paths in _core_modules().values():
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if any(dotted.split(".")[0] == "gradio" for dotted in _imported(node)):
                    found.append(f"{path.relative_to(CORE.parent)}:{node.lineno}")
    assert not found, "gradio imported outside trainer_core/ui: " + ", ".join(found)
