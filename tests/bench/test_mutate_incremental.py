"""`make mutate` is incremental (bench/mutate.py): a complete session judged by the same source and
tests is only read; a changed module or test starts anew; modules run side by side (``--jobs``).

The end-to-end case runs real cosmic-ray on a one-function module in a throw-away git repository."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mutate(monkeypatch):
    """A fresh copy of bench/mutate.py per test (tests point its ROOT and MODULES elsewhere)."""
    spec = importlib.util.spec_from_file_location("bench_mutate_under_test", ROOT / "bench" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


SAME = {"source": "s", "tests": "t"}


@pytest.mark.parametrize(("record", "current", "session", "pending", "flags", "expected"), [
    (SAME, SAME, True, 0, {}, "skip"),                                  # nothing changed, complete
    (SAME, SAME, True, 5, {}, "resume"),                                # interrupted: go on
    (SAME, {"source": "s2", "tests": "t"}, True, 0, {}, "fresh"),       # mutants are positions in the old source
    (SAME, {"source": "s", "tests": "t2"}, True, 0, {}, "fresh"),       # a weakened test may let a mutant live
    (SAME, {"source": "s", "tests": "t2"}, True, 3, {}, "fresh"),
    (None, SAME, True, 0, {}, "fresh"),                                 # a session of unknown origin
    (SAME, SAME, False, None, {}, "fresh"),                             # no session
    (SAME, SAME, True, 0, {"fresh": True}, "fresh"),
    (SAME, {"source": "s", "tests": "t2"}, True, 0, {"rejudge": True}, "rejudge"),
    (SAME, {"source": "s2", "tests": "t"}, True, 0, {"rejudge": True}, "fresh"),  # never rejudge another source
])
def test_plan(mutate, record, current, session, pending, flags, expected):
    assert mutate.plan(record, current, session, pending, **flags) == expected


def test_the_fingerprint_covers_the_tests_their_conftests_and_options(mutate):
    module = "tasks/bfabric/inputs/fetch.py"
    files = {str(p.relative_to(ROOT)) for p in mutate.test_files(module)}
    assert {"tests/bfabric/inputs/test_fetch_mutation.py", "tests/bfabric/inputs/test_fetch.py",  # both passes
            "tests/conftest.py", "tests/bfabric/conftest.py", "tests/support/processes.py",
            "pyproject.toml"} <= files
    assert not any(name.startswith("tasks/") for name in files)
    before = mutate.fingerprint(module)
    mutate.SECOND_PASS[module] = mutate.SECOND_PASS[module][:1]  # other options judge differently
    after = mutate.fingerprint(module)
    assert after["source"] == before["source"] and after["tests"] != before["tests"]


def test_longest_last_run_goes_first(mutate, tmp_path):
    (tmp_path / "a__x.py").mkdir()
    (tmp_path / "a__x.py" / "fingerprint.json").write_text('{"minutes": 3.0}')
    (tmp_path / "a__y.py").mkdir()
    (tmp_path / "a__y.py" / "fingerprint.json").write_text('{"minutes": 30.0}')
    (tmp_path / "a__z.py").mkdir()
    (tmp_path / "a__z.py" / "fingerprint.json").write_text("not json")
    mutate.ROOT = tmp_path
    (tmp_path / "a").mkdir()
    for name, size in (("x", 10), ("y", 10), ("z", 12_000)):
        (tmp_path / "a" / f"{name}.py").write_text("#" * size)
    assert mutate.longest_first(["a/x.py", "a/y.py", "a/z.py"], tmp_path) == ["a/y.py", "a/z.py", "a/x.py"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_a_second_run_reads_the_session_and_a_change_runs_again(mutate, tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "pkg.py").write_text("def ready():\n    return True\n")  # one mutant: True -> False
    (repo / "tests" / "test_pkg.py").write_text("from pkg import ready\n\ndef test_ready():\n    assert ready()\n")
    (repo / "pyproject.toml").write_text("")
    _git(repo, "init", "-q")
    mutate.ROOT = repo
    mutate.MODULES = {"pkg.py": [*mutate.NO_PLUGINS, "-p", "no:cacheprovider", "tests/test_pkg.py"]}
    mutate.SECOND_PASS = {}
    mutate.MUTATION_MD = repo / "mutation.md"
    argv = ["--work", str(tmp_path / "work"), "--cosmic-ray", mutate.find_cosmic_ray(None), "--jobs", "2"]

    assert mutate.main(argv) == 0
    first = capsys.readouterr().out
    assert "pkg.py: done in" in first and "| pkg.py |" in first
    row = next(line for line in first.splitlines() if line.startswith("| pkg.py |"))
    assert row.split("|")[3].strip() != "0"  # killed: the run judged mutants

    assert mutate.main(argv) == 0
    second = capsys.readouterr().out
    assert "unchanged since its complete run" in second and "pass 1: mutating" not in second
    assert next(line for line in second.splitlines() if line.startswith("| pkg.py |")).endswith("| unchanged |")

    (repo / "tests" / "test_pkg.py").write_text(  # a weaker test: the mutant must meet it
        "from pkg import ready\n\ndef test_ready():\n    assert ready() is not None\n")
    assert mutate.main(argv) == 1  # below 90 %: `return False` now lives
    third = capsys.readouterr().out
    assert "pass 1: mutating" in third and "SURVIVED pkg.py:2:" in third
