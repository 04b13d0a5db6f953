"""Imports go one way (ARCHITECTURE.md): CLI -> flows -> tasks -> specs and blocks, and the
BayerCLAW and B-Fabric wings never import each other. Read from the source, nothing imported."""

from __future__ import annotations

import fnmatch

import pytest

from tests.architecture.import_graph import Edge, find_cycle, import_edges

# (importer pattern, imported pattern, why) — an edge matching a rule is a violation.
FORBIDDEN: list[tuple[str, str, str]] = [
    ("tasks*", "flows*", "tasks never import flows or the CLI"),
    ("specs*", "flows*", "specs are leaves"),
    ("specs*", "blocks*", "specs are leaves"),
    ("blocks*", "flows*", "blocks are leaves"),
    ("blocks*", "tasks*", "blocks are leaves"),
    ("blocks*", "specs*", "blocks are leaves"),
    ("standin*", "flows*", "the stand-in is self-contained"),
    ("standin*", "tasks*", "the stand-in is self-contained"),
    ("standin*", "specs*", "the stand-in is self-contained"),
    ("standin*", "blocks*", "the stand-in is self-contained"),
    ("flows.workflow", "flows.cli*", "flows never import the CLI"),
    ("flows.app", "flows.cli*", "flows never import the CLI"),
    ("flows.launcher", "flows.cli*", "flows never import the CLI"),
    ("flows.subpipes", "flows.cli*", "flows never import the CLI"),
    ("flows.cli.*", "flows.run", "no command module imports the entry point back"),
    ("flows.cli.*", "flows.cli.main", "command modules share errors through flows.cli.errors"),
    ("tasks.bclaw*", "tasks.bfabric*", "the wings never import each other"),
    ("tasks.bfabric*", "tasks.bclaw*", "the wings never import each other"),
    ("tasks.bfabric*", "tasks.launcher*", "the launcher belongs to the BayerCLAW side"),
    ("tasks.bclaw*", "tasks.launcher*", "the launcher sits above the step engine"),
    ("tasks.runtime*", "tasks.bclaw*", "runtime is below both wings"),
    ("tasks.runtime*", "tasks.bfabric*", "runtime is below both wings"),
    ("tasks.runtime*", "tasks.launcher*", "runtime is below both wings"),
    ("specs.workflow*", "specs.bfabric*", "the wings never import each other"),
    ("specs.bfabric*", "specs.workflow*", "the wings never import each other"),
    ("tasks.bclaw*", "specs.bfabric*", "the wings never import each other"),
    ("tasks.bfabric*", "specs.workflow*", "the wings never import each other"),
]

# Permitted exceptions: the executor names a workflow file may use are the registry's; the path
# rules (specs/paths.py, dependency-free) are shared by spec validation and storage; the warm runner
# is not a command module: its forked children run the command line itself.
ALLOWED: list[tuple[str, str]] = [("specs.workflow.*", "tasks.runtime.executors"), ("blocks.*", "specs.paths"),
                                  ("flows.cli.warm_runner", "flows.cli.main")]


def violations(edges: list[Edge]) -> list[str]:
    """One line per edge that breaks a rule."""
    found = []
    for e in edges:
        if any(fnmatch.fnmatch(e.source, s) and e.target == t for s, t in ALLOWED):
            continue
        if e.source.startswith("specs") and e.target.startswith("tasks"):
            found.append(f"{e.file}:{e.line}: {e.source} imports {e.target} (specs are leaves)")
            continue
        for src, dst, why in FORBIDDEN:
            if fnmatch.fnmatch(e.source, src) and fnmatch.fnmatch(e.target, dst):
                found.append(f"{e.file}:{e.line}: {e.source} imports {e.target} ({why})")
    return found


def test_imports_go_one_way():
    edges = import_edges()
    assert len(edges) > 150  # the graph was really read
    assert violations(edges) == []


def test_no_import_cycles():
    assert find_cycle(import_edges()) is None


@pytest.mark.parametrize("edge,expected", [
    (Edge("tasks.bclaw.walk", "flows.workflow", "tasks/bclaw/walk.py", 3, False), "tasks never import flows"),
    (Edge("tasks.bfabric.commands", "tasks.bclaw.commands", "x.py", 1, True), "wings never import each other"),
    (Edge("specs.bfabric.app", "specs.workflow.model", "x.py", 1, True), "wings never import each other"),
    (Edge("specs.workflow.model", "tasks.bclaw.walk", "x.py", 1, True), "specs are leaves"),
    (Edge("blocks.s3", "tasks.runtime.logs", "x.py", 1, True), "blocks are leaves"),
    (Edge("flows.cli.app", "flows.run", "x.py", 1, False), "entry point back"),
    (Edge("tasks.runtime.streaming", "tasks.bclaw.commands", "x.py", 1, True), "runtime is below"),
])
def test_a_wrong_import_is_reported(edge, expected):
    assert any(expected in line for line in violations([edge]))


def test_the_permitted_exception_is_narrow():
    ok = Edge("specs.workflow.model", "tasks.runtime.executors", "x.py", 1, True)
    assert violations([ok]) == []
    assert violations([Edge("specs.bfabric.app", "tasks.runtime.executors", "x.py", 1, True)])
    assert violations([Edge("blocks.s3", "specs.source", "x.py", 1, True)])


def test_a_cycle_is_found():
    edges = [Edge("a", "b", "a.py", 1, True), Edge("b", "c", "b.py", 1, True), Edge("c", "a", "c.py", 1, True)]
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    lazy = [*edges[:2], Edge("c", "a", "c.py", 1, False)]  # an import inside a function breaks no start-up
    assert find_cycle(lazy) is None
