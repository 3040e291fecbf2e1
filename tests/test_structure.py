"""The package's folders import one way: no two folders (or top-level modules) import each other,
directly or around a loop, so each can be read, tested and moved knowing only what it stands on."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "msimg"


def _node(module: str) -> str | None:
    """`msimg.engine.session` -> `engine`, `msimg.ops.cfa` -> `cfa`, `msimg` -> the package itself."""
    parts = module.split(".")
    if parts[0] != "msimg":
        return None
    return parts[1] if len(parts) > 1 else "msimg"


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name).is_dir()


def _owner(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return "msimg" if rel.stem == "__init__" else rel.stem


def folder_graph() -> dict[str, set[str]]:
    """Folder -> the folders it imports (any import anywhere in its files, deferred ones included)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        owner = _owner(path)
        edges = graph.setdefault(owner, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path}: relative import; msimg imports by absolute name")
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "msimg":  # from msimg import cfa (a module) or run (from __init__)
                    names = [f"msimg.{a.name}" if _is_module(a.name) else "msimg" for a in node.names]
            for name in names:
                target = _node(name)
                if target is not None and target != owner:
                    edges.add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_folder_level_import_cycles() -> None:
    graph = folder_graph()
    assert {"engine", "models", "io", "tasks", "cli"} <= set(graph)
    assert cycles(graph) == []
