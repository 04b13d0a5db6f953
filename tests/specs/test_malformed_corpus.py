"""The bad-input corpus: every malformed file of every kind is refused the way a user sees it.

``tests/specs/malformed/`` holds workflow files (the top level and ``workflow/``) and one folder
per other kind: ``app/``, ``inputs/``, ``outputs/``, ``chunks/`` and ``job/`` (job files, YAML and
JSON). A YAML file starts with one ``# expect: LINE:COL: path: message`` line per problem it
has; JSON files cannot hold comments, so ``job/EXPECTED`` lists theirs as ``NAME: LINE:COL: …``.
(The older top-level files give the start of their first problem only: see test_malformed.py.)
Files too big to keep in the repository (over the size and item limits) are written by a fixture.

Each folder runs through ``python -m flows.run validate --kind KIND`` in one subprocess (a batch),
and a few job files through ``workflow WF --job JOB``, as users run them. Every run must exit 2
with exactly the expected located lines, no traceback, nothing written (neither next to the
files nor in the working directory), within generous time and memory bounds measured here for
the child process alone (``os.wait4``).
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.cli.specs import validate_paths
from specs.limits import Limits

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CORPUS = HERE / "malformed"
KINDS = ("workflow", "app", "inputs", "outputs", "chunks", "job")
MAX_SECONDS = 30.0  # per process (a hang guard, generous for a loaded machine): a batch of small files, or one big file
MAX_RSS_MB = 400
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S.*$")


def corpus_files(kind: str) -> list[Path]:
    """The corpus files of a kind (the top-level files are workflows too)."""
    folder = sorted(p for p in (CORPUS / kind).iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    return folder + (sorted(CORPUS.glob("*.yaml")) if kind == "workflow" else [])


def _json_expectations() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in (CORPUS / "job" / "EXPECTED").read_text().splitlines():
        name, _, rest = line.partition(": ")
        table.setdefault(name, []).append(rest)
    return table


def expected_lines(path: Path) -> list[str]:
    """The exact lines ``validate`` must print for ``path``."""
    if path.suffix == ".json":
        tails = _json_expectations()[path.name]
    else:
        tails = [line[len("# expect: "):] for line in path.read_text().splitlines()
                 if line.startswith("# expect: ")]
    assert tails, f"{path} has no expectation"
    return [f"{path}:{tail}" for tail in tails]


def is_exact(path: Path) -> bool:
    """Whether the file lists every problem exactly (all but the older top-level files)."""
    return path.parent != CORPUS


ALL = [(kind, path) for kind in KINDS for path in corpus_files(kind)]


def test_the_corpus_covers_every_kind_with_enough_files():
    counts = {kind: len(corpus_files(kind)) for kind in KINDS}
    assert sum(counts.values()) >= 120, counts
    assert all(n >= 10 for n in counts.values()), counts


# ---- running a child and measuring it -------------------------------------------------------------

@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


# A forked child's peak RSS counts the parent's pages copied at fork time (Linux keeps the
# pre-exec high-water mark), and the test process is large late in a session. So a small
# launcher process starts the command and reports the command's own peak (KiB) on a pipe.
_LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
os.write(int(sys.argv[1]), str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(args: list[str], cwd: Path, *, hang_guard: float = 120.0) -> Measured:
    """Run ``python -m flows.run ARGS`` and measure its wall time and peak memory (this command only)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("LABFLOWS_MAX_SPEC_BYTES", "LABFLOWS_MAX_SPEC_ITEMS", "LABFLOWS_MAX_SPEC_DEPTH",
                "LABFLOWS_MAX_INT_DIGITS"):
        env.pop(var, None)  # the defaults are what is under test
    out_path, err_path = cwd.parent / f"{cwd.name}.out", cwd.parent / f"{cwd.name}.err"
    read_rss, write_rss = os.pipe()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(write_rss), sys.executable, "-m", "flows.run",
                                 *args], cwd=cwd, env=env, stdout=out, stderr=err, pass_fds=(write_rss,),
                                start_new_session=True)
        os.close(write_rss)
        killer = threading.Timer(hang_guard, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
        seconds = time.monotonic() - start
    with os.fdopen(read_rss) as f:
        rss_kib = int(f.read() or 0)
    return Measured(proc.returncode, out_path.read_text(), err_path.read_text(), seconds, rss_kib / 1024)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def assert_refused(result: Measured, files: list[Path]) -> None:
    """Exit 2, exactly the expected located lines, no traceback, within the bounds."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    for line in lines:
        assert LOCATED.match(line), f"not a FILE:LINE:COL: line: {line!r}"
    for path in files:
        got = [line for line in lines if line.startswith(f"{path}:")]
        if is_exact(path):
            assert got == expected_lines(path), path.name
        else:
            assert got and got[0].startswith(expected_lines(path)[0]), (path.name, got)
    assert all(any(line.startswith(f"{p}:") for p in files) for line in lines)
    assert result.seconds < MAX_SECONDS * max(1, len(files) // 20), result.seconds
    assert result.max_rss_mb < MAX_RSS_MB, result.max_rss_mb


# ---- the committed corpus -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_through_the_command_line(kind, tmp_path):
    files = corpus_files(kind)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = snapshot(CORPUS)
    result = run_measured(["validate", "--kind", kind, *map(str, files)], cwd)
    assert_refused(result, files)
    assert snapshot(CORPUS) == before
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("name", ["json_missing_value.json", "json_big_integer.json", "yaml_alias_bomb.yaml",
                                  "yaml_list.yaml", "json_deep.json"])
def test_job_files_through_the_workflow_command(name, tmp_path):
    job = CORPUS / "job" / name
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run_measured(["workflow", str(HERE / "valid" / "hello.yaml"), "--job", str(job)], cwd)
    assert_refused(result, [job])
    assert list(cwd.iterdir()) == []  # no .labflows/storage: nothing ran


@pytest.mark.parametrize("kind, path", ALL, ids=[f"{k}/{p.name}" for k, p in ALL])
def test_each_file_in_process(kind, path):
    out, err = io.StringIO(), io.StringIO()
    assert validate_paths([str(path)], kind=kind, out=out, err=err) == 2
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    if is_exact(path):
        assert lines == expected_lines(path)
    else:
        assert lines[0].startswith(expected_lines(path)[0])


# ---- generated files: over the size and item limits ---------------------------------------------

def _oversized(kind: str, limits: Limits) -> str:
    head = {"workflow": "Repository: s3://b/r\nSteps:\n", "app": "bfabric: {app_runner: 0.9.1}\nversions:\n",
            "inputs": "inputs:\n", "outputs": "outputs:\n", "chunks": "chunks:\n", "job": "samples:\n"}[kind]
    line = "  - " + "x" * 60 + "\n"
    return head + line * (limits.max_bytes // len(line) + 1)


def _many_items(kind: str, limits: Limits) -> str:
    items = ", ".join(["0"] * (limits.max_items + 1))
    return {"workflow": f"Repository: s3://b/r\nSteps: [{items}]\n", "job": f'{{"samples": [{items}]}}\n',
            "chunks": f"chunks: [{items}]\n"}[kind]


GENERATED = ([("oversized", kind) for kind in KINDS]
             + [("many_items", kind) for kind in ("workflow", "job", "chunks")])


@pytest.mark.parametrize("what, kind", GENERATED, ids=[f"{w}-{k}" for w, k in GENERATED])
def test_generated_big_files_are_refused_quickly(what, kind, tmp_path):
    limits = Limits()
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / (f"{what}.json" if kind == "job" and what == "many_items" else f"{what}.yaml")
    path.write_text(_oversized(kind, limits) if what == "oversized" else _many_items(kind, limits))
    if what == "oversized":
        message = f"1:1: file larger than {limits.max_bytes} bytes (the limit is LABFLOWS_MAX_SPEC_BYTES)"
    else:
        message = f"more than {limits.max_items} items (counting alias expansions; the limit is LABFLOWS_MAX_SPEC_ITEMS)"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = snapshot(folder)
    result = run_measured(["validate", "--kind", kind, str(path)], cwd)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and LOCATED.match(lines[0]) and lines[0].startswith(f"{path}:")
    assert message in lines[0]
    assert result.seconds < MAX_SECONDS and result.max_rss_mb < MAX_RSS_MB, (result.seconds, result.max_rss_mb)
    assert snapshot(folder) == before and list(cwd.iterdir()) == []
