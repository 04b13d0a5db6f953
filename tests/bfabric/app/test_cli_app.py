"""``labflows app``, ``app-action`` and ``outputs register``: exit codes 0 (ok), 1 (failed run), 2 (bad input)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from flows.run import main
from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT as ROOT


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.usefixtures("prefect_harness")
def test_app_runs_everything_and_prints_a_summary(app_env, capsys):
    code = main(["app", str(app_env.app_yml), str(app_env.work_dir), "1", "--max-parallel-chunks", "3"])

    out = capsys.readouterr().out
    assert code == 0
    assert f"workunit 1: app version 1.0.0, 4 chunk(s) in {app_env.work_dir}; status available" in out
    assert "registered: 4 resource, 1 dataset, 1 link (6 created, 0 updated, 0 unchanged)" in out
    assert app_env.statuses() == ["processing", "available"]


@pytest.mark.usefixtures("prefect_harness")
def test_failed_app_run_exits_1_with_one_error_line_and_no_traceback(app_env):
    app_env.set_parameters(fail_sample="sample_3")

    # a separate process (as a user runs it), using this session's Prefect server
    result = _cli("app", str(app_env.app_yml), str(app_env.work_dir), "1",
                  env={"PREFECT_API_URL": PREFECT_API_URL.value()})

    assert result.returncode == 1, result.stderr[-3000:]
    # the same one ERROR line as a workflow's failed step: chunk, step, reason, where to look
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("ERROR chunk sample_3, process: Command failed with exit code 2: ")
    assert errors[0].endswith(f"(look in {app_env.work_dir / 'sample_3'})")
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr
    # the summary still says what the other chunks did
    assert result.stdout.splitlines()[0] == (f"workunit 1: app version 1.0.0, 3 chunk(s) done, 1 failed (sample_3) "
                                             f"in {app_env.work_dir}; status failed")
    assert result.stdout.splitlines()[1].startswith("registered: 3 resource")
    assert app_env.statuses() == ["processing", "failed"]


@pytest.mark.usefixtures("prefect_harness")
def test_app_action_commands(app_env, capsys):
    args = [str(app_env.app_yml), str(app_env.work_dir), "1"]

    assert main(["app-action", "dispatch", *args]) == 0
    assert app_env.statuses() == ["processing"]
    assert main(["app-action", "run-all", *args, "--chunk", "sample_4", "--force-app-version", "1.1.0"]) == 0
    out = capsys.readouterr().out
    assert "app version 1.1.0, 1 chunk(s)" in out and "status unchanged" in out
    assert app_env.statuses() == ["processing"]
    assert "lines\t3" in (app_env.work_dir / "sample_4" / "sample_4.counts.txt").read_text()
    assert [r["name"] for r in app_env.rows_of("resource")] == ["sample_4.counts.txt"]


def test_outputs_register_is_idempotent_and_fails_with_one_line(app_env, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "result.txt").write_text("42\n")
    (tmp_path / "outputs.yml").write_text(
        "outputs:\n"
        "  - {type: bfabric_copy_resource, local_path: result.txt, store_entry_path: result.txt}\n"
        "  - {type: bfabric_link, name: Docs, url: 'https://example.org/docs'}\n")

    assert main(["outputs", "register", "outputs.yml", "1"]) == 0
    assert "registered: 1 resource, 1 link (2 created" in capsys.readouterr().out
    stored = next(app_env.storage_dir.rglob("result.txt"))
    assert stored.read_text() == "42\n"
    assert main(["outputs", "register", "outputs.yml", "1"]) == 0
    assert "(0 created, 0 updated, 2 unchanged)" in capsys.readouterr().out
    assert [r["name"] for r in app_env.rows_of("resource")] == ["result.txt"]

    (tmp_path / "missing.yml").write_text(
        "outputs:\n  - {type: bfabric_copy_resource, local_path: nope.txt, store_entry_path: nope.txt}\n")
    assert main(["outputs", "register", "missing.yml", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ERROR ") and "nope.txt" in err[-1]


def test_outputs_register_failure_through_the_cli_is_one_error_line(app_env, tmp_path):
    """As a user runs it: a registration B-Fabric cannot do ends with the ``ERROR …`` line of
    ``workflow`` and ``app``, exit 1, no traceback, nothing registered."""
    (tmp_path / "missing.yml").write_text(
        "outputs:\n  - {type: bfabric_copy_resource, local_path: nope.txt, store_entry_path: nope.txt}\n")
    done = run_cli("outputs", "register", "missing.yml", "1", cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Error: " not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 1 and "nope.txt" in errors[0], done.stderr
    assert done.stdout == ""
    assert app_env.rows_of("resource") == []


def test_bad_input_exits_2_before_anything_runs(app_env, tmp_path, capsys):
    work = str(tmp_path / "work")
    app = str(app_env.app_yml)
    bad_app = tmp_path / "app.yml"
    bad_app.write_text("bfabric: {app_runner: 0.9.1}\n"
                       "versions:\n  - version: '1'\n    commands: {process: {type: exec}}\n")
    cases = [
        (["app", str(tmp_path / "nope.yml"), work, "1"], "cannot read file"),
        (["app", str(bad_app), work, "1"], f"{bad_app}:"),
        (["app", app, work, "1", "--max-parallel-chunks", "0"], "--max-parallel-chunks must be at least 1"),
        (["app", app, work, str(tmp_path / "wu.yml")], "workunit definition file not found"),
        (["app", app, work, "1", "--force-storage", str(tmp_path / "storage.yml")], "cannot read file"),
        (["app-action", "process", app, work, "1", "--chunk", "sample_9"], "chunk directory not found"),
        (["outputs", "register", str(tmp_path / "none.yml"), "1"], "cannot read file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert not Path(work).exists()
    assert app_env.statuses() == []

    # in a fresh process too: one line, no traceback
    result = _cli("app", str(bad_app), work, "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith(f"{bad_app}:")
