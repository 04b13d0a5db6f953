"""The project's import graph, read from the source with :mod:`ast` (nothing is imported)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO_ROOT

PACKAGES = ("flows", "tasks", "specs", "blocks", "standin", "deployments")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``file:line``; ``eager`` when at module level (not in a
    function, not under ``if TYPE_CHECKING``)."""

    source: str
    target: str
    file: str
    line: int
    eager: bool


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    """``tasks/bclaw/walk.py`` -> ``tasks.bclaw.walk``; a package's ``__init__`` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool):
    """(target, line, eager) for every project import in ``tree``."""
    def visit(node: ast.AST, eager: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                yield from visit(child, False)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, eager
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    # `from pkg import mod` imports pkg.mod when that is a module
                    yield f"{base}.{alias.name}", child.lineno, eager
            else:
                yield from visit(child, eager)
    yield from visit(tree, True)


def project_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every module of the shipped packages, by dotted name."""
    return {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module ``target`` names (``pkg.mod.attr`` -> ``pkg.mod``), or None if not ours."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def import_edges(root: Path = REPO_ROOT) -> list[Edge]:
    """Every import of one project module by another."""
    modules = project_modules(root)
    edges = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for target, line, eager in _imports(tree, name, path.name == "__init__.py"):
            resolved = resolve(target, modules)
            if resolved is not None and resolved != name:
                edges.append(Edge(name, resolved, str(path.relative_to(root)), line, eager))
    return edges


def find_cycle(edges: list[Edge]) -> list[str] | None:
    """One cycle among the eager imports (module names, first repeated at the end), or None."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.eager:
            graph.setdefault(e.source, set()).add(e.target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None
