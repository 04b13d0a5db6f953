"""Deterministic failures fail at once; retries are for what another attempt can cure (README: which failures are retried).

Each attempt of a step appends a line to a counter file outside the repository, so the number of
attempts is visible after the run. The CLI test runs as users run it (a fresh process); the rest
call the step runner directly (no Prefect task) or the CLI in-process, to stay fast.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from blocks.repository import ObjectNotFound, RepositoryError
from flows.run import main
from tasks.bclaw.command_step import CommandFailed, worth_retrying
from tasks.bclaw.containment import PathRefused
from tasks.bclaw.context import RunContext
from tasks.bclaw.qc import QCFailure
from tasks.bclaw.scatter import branches
from tasks.bclaw.staging import MissingInputError
from tasks.runtime.executors import ExecutorUnavailable
from tasks.runtime.streaming import CommandTimeout

ROOT = Path(__file__).resolve().parents[3]
ZERO_WAIT = "retry: {attempts: 2, interval: 0s, backoff_rate: 1.0}"


@pytest.mark.parametrize(("exc", "written", "retried"), [
    (CommandFailed("s", 3), False, False),  # the commands' own failure: only when asked for
    (CommandFailed("s", 3), True, True),
    (CommandTimeout("slow"), False, False),
    (CommandTimeout("slow"), True, True),
    (TimeoutError("task run exceeded timeout"), False, False),  # Prefect's timeout_seconds
    (CommandFailed("s", 125, in_engine=True), False, True),  # the container engine failed
    (RepositoryError("s3://b/k: still failing after 5 attempts"), False, True),
    (ConnectionResetError("peer"), False, True),
    (QCFailure("reads < 10"), True, False),  # never, whatever retry says
    (PathRefused("../x"), True, False),
    (MissingInputError("input x: no file matches"), True, False),
    (ObjectNotFound("s3://b/_JOB_DATA_"), True, False),
    (ExecutorUnavailable("no 'docker' command on PATH"), True, False),
    (ValueError("a bug or a bad value"), True, False),
])
def test_worth_retrying(exc, written, retried):
    assert worth_retrying(exc, written) is retried


def test_command_failed_survives_pickling():
    import pickle

    again = pickle.loads(pickle.dumps(CommandFailed("s", 125, in_engine=True)))
    assert (again.step, again.code, again.in_engine, str(again)) == (
        "s", 125, True, "step s: container engine failed with code 125")


def one_step(tries: Path, commands: list[str], extra: str = "") -> str:
    lines = "".join(f"        - {c}\n" for c in [f"echo try >> {tries}", *commands])
    return f"Repository: s3://bkt/retry\nSteps:\n  - only:\n{extra}      commands:\n{lines}"


def test_a_failing_one_step_run_makes_one_attempt(tmp_path, harness_env):
    tries = tmp_path / "tries"
    wf = tmp_path / "wf.yaml"
    wf.write_text(one_step(tries, ["exit 3"]))
    (tmp_path / "job.json").write_text("{}")
    result = subprocess.run([sys.executable, "-m", "flows.run", "workflow", str(wf), "--job",
                             str(tmp_path / "job.json"), "--storage", str(tmp_path / "storage")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**harness_env, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "step only: command exited with code 3" in result.stderr
    assert tries.read_text() == "try\n"
    assert "Retry" not in result.stderr and "retrying" not in result.stderr


@pytest.mark.usefixtures("prefect_harness")
def test_an_explicit_retry_cures_a_command_that_fails_once(tmp_path, capsys):
    tries = tmp_path / "tries"
    wf = tmp_path / "wf.yaml"
    wf.write_text(one_step(tries, [f"test $(wc -l < {tries}) -ge 2"], f"      {ZERO_WAIT}\n"))
    (tmp_path / "job.json").write_text("{}")
    code = main(["workflow", str(wf), "--job", str(tmp_path / "job.json"), "--storage", str(tmp_path / "s")])
    assert code == 0, capsys.readouterr().err[-2000:]
    assert tries.read_text() == "try\n" * 2


@pytest.mark.usefixtures("prefect_harness")
def test_a_missing_input_is_not_retried_even_when_retry_is_written(tmp_path, capsys, caplog):
    tries = tmp_path / "tries"
    wf = tmp_path / "wf.yaml"
    wf.write_text(one_step(tries, ["echo ok"], f"      {ZERO_WAIT}\n      inputs: {{x: absent.txt}}\n"))
    (tmp_path / "job.json").write_text("{}")
    code = main(["workflow", str(wf), "--job", str(tmp_path / "job.json"), "--storage", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1 and "input x: no file matches" in err, err[-2000:]
    kept = [r for r in caplog.records if "workspace kept for inspection" in r.getMessage()]
    assert len(kept) == 1  # logged once per attempt


# ---- inside a scatter branch (the plain runner, no Prefect task) ----------------------------------
def branch_ctx(repo, tmp_path, options, executor: str = "local") -> RunContext:
    ctx = RunContext(repo=repo, repo_uri="s3://bkt/retry", workflow_name="retry", options=options,
                     scratch=tmp_path / "scratch", executor=executor)
    ctx.write_job_data({"id": "j1"})
    return ctx


def test_a_branch_command_failure_is_not_retried_by_default(repo, tmp_path, write_workflow, monkeypatch):
    monkeypatch.setattr(branches, "retry_delays", lambda step: [0.0] * step.retry.attempts)
    tries = tmp_path / "tries"
    wf = write_workflow(one_step(tries, ["echo ${job.missing_key}"]))  # left as written: sh fails on it
    with pytest.raises(CommandFailed):
        branches.run_command_with_retries(wf.steps[0], branch_ctx(repo, tmp_path, wf.options), {})
    assert tries.read_text() == "try\n"


@pytest.fixture
def docker_failing_once(tmp_path, monkeypatch) -> Path:
    """A ``docker`` first on PATH that fails as the engine (exit 125) on its first call, then
    runs the step's script on the host."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    calls = tmp_path / "engine-calls"
    script = bindir / "docker"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo call >> {calls}
        [ "$(wc -l < {calls})" -ge 2 ] || {{ echo "docker: error during connect" >&2; exit 125; }}
        while [ "$1" != "--workdir" ]; do shift; done
        shift; cd "$1"
        for last; do :; done
        exec sh "$last"
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_a_container_engine_failure_is_retried_by_default(repo, tmp_path, write_workflow, monkeypatch,
                                                          docker_failing_once):
    monkeypatch.setattr(branches, "retry_delays", lambda step: [0.0] * step.retry.attempts)
    tries = tmp_path / "tries"
    wf = write_workflow(one_step(tries, ["echo ok"]))
    outcome = branches.run_command_with_retries(wf.steps[0], branch_ctx(repo, tmp_path, wf.options, "docker"), {})
    assert outcome.records[0].status == "done"
    assert docker_failing_once.read_text() == "call\n" * 2 and tries.read_text() == "try\n"
