"""What a run prints without a terminal: a few progress lines and the summary, one ERROR line for
an expected failure, no framework tracebacks; the Prefect run log keeps that one line too."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.cli import run_cli, write_scatter_workflow
from tests.support.paths import EXAMPLES

MAX_LINES = 40  # a 300-branch scatter printed 627 lines (687 with a failed branch) before


@pytest.fixture(scope="module")
def scatter300(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scatter300")
    return folder, write_scatter_workflow(folder, 300)


def _job(folder, run: str, fail: str):
    path = folder / f"{run}.json"
    path.write_text(json.dumps({"run": run, "fail": fail}))
    return str(path)


def test_a_300_branch_scatter_prints_a_few_lines_with_the_counts(scatter300, harness_env):
    folder, wf = scatter300
    done = run_cli("workflow", str(wf), "--job", _job(folder, "ok", "none"), "--storage", "st",
                   cwd=folder, env=harness_env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    assert "each: 300/300 branches (0 failed)" in done.stderr
    assert any(line.startswith("each: 30/300 branches") for line in lines)  # counts while it runs
    assert not [line for line in lines if "| INFO" in line or "Traceback" in line]
    assert done.stdout.splitlines()[0] == "workflow scatter — repository st/bench/runs/scatter/ok"
    assert any(line.split()[:2] == ["each", "done"] and "(300 branches, 0 failed)" in line
               for line in done.stdout.splitlines())


def test_a_failed_branch_is_one_error_line_with_the_step_and_the_reason(scatter300, harness_env):
    folder, wf = scatter300
    done = run_cli("workflow", str(wf), "--job", _job(folder, "bad", "17"), "--storage", "st",
                   cwd=folder, env=harness_env)
    assert done.returncode == 1, done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    assert "Traceback" not in done.stderr and "| ERROR" not in done.stderr
    errors = [line for line in lines if line.startswith("ERROR")]
    assert len(errors) == 1, lines
    assert errors[0].startswith("ERROR step each: 1 of 300 branches failed")
    # the reason: the branch, the exit code, the command that failed and where its log is
    assert "branches 00017" in errors[0] and "exited with code 1" in errors[0]
    assert 'test "17" != "17"' in errors[0] and "work[17].log" in errors[0]
    assert "each: 300/300 branches (1 failed)" in done.stderr
    # the failed step shows where its branches put their outputs (one cell; a failed branch
    # uploads what it made too)
    each = next(line for line in done.stdout.splitlines() if line.split()[:2] == ["each", "failed"])
    assert each.endswith("st/bench/runs/scatter/bad/each/ (300 of 300 branches uploaded outputs, 1 failed)"), each
    assert (folder / "st/bench/runs/scatter/bad/each/00017/out.txt").is_file()


def test_a_qc_failure_shows_the_condition_and_what_the_step_uploaded(tmp_path, harness_env):
    """With -v the commands' output shows; the expected failure still has no traceback, and the
    Prefect run log carries the same one line instead of Prefect's traceback."""
    shutil.copytree(EXAMPLES / "qc" / "storage", tmp_path / "storage")  # holds the adapters reference
    done = run_cli("workflow", str(EXAMPLES / "qc" / "workflow.yaml"), "--job", str(EXAMPLES / "qc" / "job-low.json"),
                   "--storage", "storage", "-v", cwd=tmp_path, env=harness_env)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "| INFO" in done.stderr and "split -l 40 -d" in done.stderr  # -v: the steps' log lines
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == ["ERROR step count: failed QC conditions: stats.json: read_count < 10 (read_count = 5)"], done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:]}
    assert rows["count"].split()[1] == "failed" and "stats.json" in rows["count"]  # uploaded before QC
    assert rows["report"].split()[1:3] == ["not", "run"]
    messages = _run_log_messages(_flow_run_id(done.stderr))
    assert not [m for m in messages if "Traceback" in m]
    assert any("failed QC conditions: stats.json: read_count < 10" in m for m in messages)


def _flow_run_id(stderr: str) -> str:
    line = next(line for line in stderr.splitlines() if line.startswith("run "))
    return line.rsplit("/", 1)[-1]


def _run_log_messages(flow_run_id: str) -> list[str]:
    """Every log message of the flow run (and its task runs) the Prefect API holds."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 20  # logs reach the API in batches
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200)
            if any(log.level >= 40 for log in logs) or time.monotonic() > deadline:
                return [log.message for log in logs]
            time.sleep(0.3)


def test_a_dask_run_prints_no_dask_logs_or_shutdown_tracebacks(tmp_path, harness_env):
    wf = write_scatter_workflow(tmp_path, 4)
    env = {**harness_env, "LABFLOWS_DASK_WORKERS": "2"}
    done = run_cli("workflow", str(wf), "--job", _job(tmp_path, "dask", "none"), "--storage", "st",
                   "--task-runner", "dask", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "distributed." not in output and "CommClosedError" not in output and "Traceback" not in output, output
    assert "each: done in" in done.stderr and "4/4 branches (0 failed)" in done.stderr
