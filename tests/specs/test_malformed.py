"""Malformed workflow files: each gives the exact ``FILE:LINE:COL: path:`` line written on its first line.

Every file in tests/specs/malformed starts with ``# expect: LINE:COL: path: message-start``.
A few run through ``python -m flows.run validate`` in a subprocess; all run in-process.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli.specs import validate_paths

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
MALFORMED = sorted((HERE / "malformed").glob("*.yaml"))


def expected_line(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return f"{path}:{first[len('# expect: '):]}"


def test_there_are_enough_malformed_files():
    assert len(MALFORMED) >= 20


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_file_in_process(path):
    out, err = io.StringIO(), io.StringIO()
    assert validate_paths([str(path)], out=out, err=err) == 2
    lines = err.getvalue().splitlines()
    assert out.getvalue() == ""
    assert any(line.startswith(expected_line(path)) for line in lines), lines


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_malformed_files_through_the_command_line():
    chosen = [HERE / "malformed" / f"{name}.yaml" for name in
              ("yaml_syntax", "missing_repository", "nested_scatter", "bad_retry_interval", "chooser_escape")]
    result = run_cli("validate", *map(str, chosen))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for path in chosen:
        assert any(line.startswith(expected_line(path)) for line in lines), (path.name, lines)
    assert all(line.count(":") >= 3 for line in lines)  # FILE:LINE:COL: … only


def test_valid_files_through_the_command_line():
    valid = sorted(str(p) for p in (HERE / "valid").glob("*.yaml"))
    result = run_cli("validate", *valid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{p}: ok" for p in valid]
    single = run_cli("validate", valid[0])
    assert (single.returncode, single.stdout) == (0, "ok\n")
