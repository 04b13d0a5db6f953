"""run_workflow through real Prefect (the session's temporary server) and the CLI's exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from flows.run import main
from flows.workflow import WorkflowFailed, run_workflow
from tests.support.paths import REPO_ROOT as ROOT


def qc_storage(tmp_path) -> Path:
    """A copy of the qc example's storage (it holds the reference)."""
    storage = tmp_path / "storage"
    ref = storage / "labflows-examples" / "refs" / "adapters.fa"
    ref.parent.mkdir(parents=True)
    ref.write_bytes((ROOT / "examples/qc/storage/labflows-examples/refs/adapters.fa").read_bytes())
    return storage


@pytest.mark.usefixtures("prefect_harness")
def test_qc_example_runs_end_to_end_with_auto_inputs(tmp_path):
    storage = qc_storage(tmp_path)
    summary = run_workflow(workflow=str(ROOT / "examples/qc/workflow.yaml"),
                           job_file=str(ROOT / "examples/qc/job.json"), storage=str(storage))
    assert [(s["name"], s["status"]) for s in summary["steps"]] == \
        [("make_reads", "done"), ("count", "done"), ("report", "done")]
    run = storage / "labflows-examples/runs/qc/S1"
    assert json.loads((run / "stats.json").read_text()) == {"read_count": 100, "adapters": 2}
    assert sorted(p.name for p in run.glob("counts_*.txt")) == ["counts_00.txt", "counts_01.txt",
                                                                 "counts_02.txt", "counts_03.txt",
                                                                 "counts_04.txt", "counts_05.txt",
                                                                 "counts_06.txt", "counts_07.txt",
                                                                 "counts_08.txt", "counts_09.txt"]
    assert (run / "report.txt").read_text() == "sample S1\nlines 400\n"
    assert json.loads((run / "_JOB_DATA_").read_text())["job"]["sample"] == "S1"
    assert (run / "job.json").exists()  # the job file is copied into the repository
    assert sorted(p.name for p in (run / "_control_").iterdir()) == \
        ["count.complete", "make_reads.complete", "report.complete"]


@pytest.mark.usefixtures("prefect_harness")
def test_qc_failure_stops_the_flow_with_the_bclaw_message(tmp_path):
    storage = qc_storage(tmp_path)
    state = run_workflow(workflow=str(ROOT / "examples/qc/workflow.yaml"),
                         job_file=str(ROOT / "examples/qc/job-low.json"), storage=str(storage),
                         return_state=True)
    assert state.is_failed()
    exc = state.result(raise_on_failure=False)
    assert isinstance(exc, WorkflowFailed)
    assert "failed QC conditions: stats.json: read_count < 10" in str(exc)
    assert [(s["name"], s["status"]) for s in exc.summary["steps"]] == [
        ("make_reads", "done"), ("count", "failed"), ("report", "not run")]
    assert not (storage / "labflows-examples/runs/qc/S2/report.txt").exists()


@pytest.mark.usefixtures("prefect_harness")
def test_second_run_with_skip_on_rerun_runs_no_command(tmp_path):
    wf = tmp_path / "wf.yaml"
    counter = tmp_path / "count.txt"
    wf.write_text(f"""
Repository: s3://b/rerun/${{job.id}}
Steps:
  - one:
      skip_on_rerun: true
      commands: ["echo run >> {counter}", "echo x > a.txt"]
      outputs: {{a: a.txt}}
  - two:
      skip_on_rerun: true
      commands: ["echo run >> {counter}", "cat ${{a}} > b.txt"]
      outputs: {{b: b.txt}}
""")
    job = tmp_path / "job.json"
    job.write_text('{"id": "r1"}')
    first = run_workflow(workflow=str(wf), job_file=str(job), storage=str(tmp_path / "s"))
    second = run_workflow(workflow=str(wf), job_file=str(job), storage=str(tmp_path / "s"))
    assert counter.read_text() == "run\nrun\n"
    assert [s["status"] for s in first["steps"]] == ["done", "done"]
    assert [s["status"] for s in second["steps"]] == ["skipped", "skipped"]


@pytest.mark.usefixtures("prefect_harness")
def test_command_output_streams_into_the_prefect_log(tmp_path):
    import asyncio

    wf = tmp_path / "wf.yaml"
    wf.write_text("Repository: s3://b/logs\nSteps:\n  - talk:\n      commands: ['echo line-one-$((40+2))', 'echo line-two']\n")
    (tmp_path / "job.json").write_text("{}")
    state = run_workflow(workflow=str(wf), job_file=str(tmp_path / "job.json"), storage=str(tmp_path / "s"),
                         return_state=True)
    assert state.is_completed()

    async def messages():
        async with get_client() as client:
            flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
            for _ in range(40):
                logs = await client.read_logs(log_filter=flt, limit=200, offset=0)
                found = [log.message for log in logs]
                if "line-one-42" in found and "line-two" in found:
                    return found
                await asyncio.sleep(0.25)
            return found

    assert {"line-one-42", "line-two"} <= set(asyncio.run(messages()))


@pytest.mark.usefixtures("prefect_harness")
def test_retry_maps_to_task_retries(tmp_path):
    wf = tmp_path / "wf.yaml"
    tries = tmp_path / "tries"
    wf.write_text(f"""
Repository: s3://b/retry
Steps:
  - flaky:
      retry: {{attempts: 2, interval: 1s, backoff_rate: 1.0}}
      commands:
        - echo try >> {tries}
        - test $(wc -l < {tries}) -ge 3
""")
    (tmp_path / "job.json").write_text("{}")
    summary = run_workflow(workflow=str(wf), job_file=str(tmp_path / "job.json"), storage=str(tmp_path / "s"))
    assert summary["steps"][0]["status"] == "done"
    assert tries.read_text().count("try") == 3


@pytest.mark.usefixtures("prefect_harness")
def test_cli_exit_codes_in_process(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("Repository: s3://b/cli/${job.id}\nSteps:\n  - s:\n      commands: ['echo hi > o.txt']\n"
                    "      outputs: {o: o.txt}\n")
    bad_cmd = tmp_path / "bad.yaml"
    bad_cmd.write_text("Repository: s3://b/cli2\nSteps:\n  - s:\n      retry: {attempts: 0}\n"
                       "      commands: ['exit 7']\n")
    job = tmp_path / "job.json"
    job.write_text('{"id": "j1"}')
    storage = str(tmp_path / "s")
    assert main(["workflow", str(good), "--job", str(job), "--storage", storage]) == 0
    out = capsys.readouterr().out
    assert os.path.relpath(tmp_path / "s" / "b/cli/j1/o.txt") in out and " done " in out  # a path to open
    assert "s3://b/cli/j1/o.txt" not in out
    assert main(["workflow", str(bad_cmd), "--job", str(job), "--storage", storage]) == 1
    err = capsys.readouterr().err
    assert "step s: command exited with code 7" in err


def _cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path):
    job = tmp_path / "job.json"
    job.write_text('{"id": 1')  # not valid JSON
    result = _cli("workflow", "examples/hello/workflow.yaml", "--job", str(job), "--storage", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{job}:1:") and "Traceback" not in result.stderr
    assert not any(tmp_path.glob("example-bucket"))  # nothing written

    missing_key = tmp_path / "job2.json"
    missing_key.write_text('{"other": 1}')
    result = _cli("workflow", "examples/hello/workflow.yaml", "--job", str(missing_key), "--storage", str(tmp_path))
    assert result.returncode == 2 and "SAMPLE_ID" in result.stderr and "Traceback" not in result.stderr

    result = _cli("workflow", "examples/hello/workflow.yaml", "--job", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "cannot read file" in result.stderr


def test_cli_hello_example_end_to_end_in_a_fresh_process(tmp_path, harness_env):
    # the session's server (PREFECT_API_URL, as on a deployment's machine): Prefect's temporary server
    # of a fresh home would migrate a database from nothing first (tests/cli/test_server.py covers it)
    result = _cli("workflow", "examples/hello/workflow.yaml", "--job", "examples/hello/job.json",
                  "--storage", str(tmp_path), env={"PREFECT_API_URL": harness_env["PREFECT_API_URL"]})
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path / "example-bucket/hello-world/sample-001/hello.txt"
    lines = result.stdout.splitlines()
    assert lines[0] == f"workflow hello — repository {os.path.relpath(out.parent, ROOT)}"
    assert lines[2].split()[:2] == ["hello", "done"] and lines[2].endswith(os.path.relpath(out, ROOT))
    assert out.read_text() == "Hello world! This is job sample-001!\n"


def test_a_job_key_named_by_a_command_but_missing_fails_before_any_step(tmp_path):
    wf = tmp_path / "wf.yaml"
    wf.write_text('Repository: s3://b/r/${job.id}\nSteps:\n  - first:\n      commands: ["echo ok > a.txt"]\n'
                  '      outputs: {a: a.txt}\n  - second:\n      commands: ["echo ${job.sample.name} > o.txt"]\n')
    job = tmp_path / "job.json"
    job.write_text('{"id": "x", "sample": {"id": 1}}')
    result = _cli("workflow", str(wf), "--job", str(job), "--storage", str(tmp_path / "s"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {job}: step second.commands[0]: job data has no 'sample.name' (${{job.sample.name}})"]
    assert not (tmp_path / "s").exists()  # the first step did not run
