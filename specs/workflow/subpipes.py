"""Finding subpipe cycles: a workflow that reaches itself through a chain of subpipe files.

A ``subpipe: other.yaml`` step runs ``other.yaml`` (relative to the workflow that names it) as
a child flow, so a chain of files that comes back to one of its members would recurse without
end. :func:`subpipe_cycle_problems` follows every file-named subpipe (not ``deployment:`` ones,
not names built from ``${…}``, not files that do not exist) and reports each cycle it reaches,
naming the chain. Files are only parsed (within the loader's limits), not validated, and at most
:data:`MAX_FILES` of them are read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from specs.source import Loc, Problem, SourceDoc, SpecError, load_yaml_file

MAX_FILES = 200
DEPLOYMENT_PREFIX = "deployment:"


def subpipe_cycle_problems(doc: SourceDoc, data: Any) -> list[Problem]:
    """One problem per subpipe step of ``data`` from which a cycle of subpipe files is reached."""
    top = Path(doc.file).absolute()
    finder = _CycleFinder(top)
    problems = []
    for loc, target in subpipe_targets(data):
        cycle = finder.cycle_from(_child(top, target), [top])
        if cycle:
            chain = " -> ".join(_shown(p, top) for p in cycle)
            problems.append(doc.problem(loc, f"subpipe cycle: {chain}"))
    return problems


def subpipe_targets(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """``(location, file name)`` of every file-named ``subpipe:`` in a workflow's data, at any depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "subpipe" and isinstance(value, str):
                target = value.strip()
                if target and not target.startswith(DEPLOYMENT_PREFIX) and "${" not in target:
                    yield (*loc, key), target
            else:
                yield from subpipe_targets(value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from subpipe_targets(value, (*loc, i))


class _CycleFinder:
    """Depth-first search over subpipe files, reading each file once."""

    def __init__(self, top: Path):
        self._top = top
        self._targets: dict[Path, list[Path]] = {}
        self._done: set[Path] = set()  # files from which no cycle is reachable

    def cycle_from(self, path: Path, stack: list[Path]) -> list[Path] | None:
        """The first cycle reached from ``path`` (as a chain ending where it started), or None."""
        key = _key(path)
        keys = [_key(p) for p in stack]
        if key in keys:
            return stack[keys.index(key):] + [path]
        if key in self._done:
            return None
        for child in self._children(path):
            cycle = self.cycle_from(child, stack + [path])
            if cycle:
                return cycle
        self._done.add(key)
        return None

    def _children(self, path: Path) -> list[Path]:
        key = _key(path)
        if key not in self._targets:
            self._targets[key] = []
            if len(self._targets) <= MAX_FILES and path.is_file():
                try:
                    data = load_yaml_file(path).data
                except SpecError:  # its own validation reports it when it runs
                    data = None
                self._targets[key] = [_child(path, t) for _, t in subpipe_targets(data)]
        return self._targets[key]


def _child(parent: Path, target: str) -> Path:
    path = Path(target)
    return path if path.is_absolute() else parent.parent / path


def _key(path: Path) -> Path:
    return Path(os.path.normpath(path.absolute()))


def _shown(path: Path, top: Path) -> str:
    return os.path.relpath(_key(path), top.parent)
