"""A QC failure stops the workflow at once: no retry attempts, neither for a top-level command step
(Prefect task retries) nor inside a scatter branch (the branch's own retry loop), even with
``retry: attempts: 3``. Run as users run it: the CLI in a fresh process.

Each attempt appends a line to a counter file outside the repository, so the number of attempts is
visible after the run. The same steps failing their command instead show that the retries are
really configured (the counter then shows every attempt).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from flows.run import main

ROOT = Path(__file__).resolve().parents[3]

QC_STEP = """
      retry: {{attempts: 3, interval: 0s, backoff_rate: 1.0}}
      commands:
        - echo try >> {tries}
        - echo '{{"reads":0}}' > stats.json
        - {fail}
      qc_check:
        qc_result_file: stats.json
        stop_early_if: "reads < 10"
"""


def top_level(tries: Path, fail: str = "test 1 = 1") -> str:
    return ("Repository: s3://bkt/qc-top\nSteps:\n  - check:" + QC_STEP.format(tries=tries, fail=fail)
            + f"  - after:\n      commands: ['echo after >> {tries}']\n")


def in_scatter(tries: Path, fail: str = "test 1 = 1") -> str:
    step = "\n".join("      " + line if line else line for line in QC_STEP.format(tries=tries, fail=fail).splitlines())
    return ("Repository: s3://bkt/qc-scatter\nSteps:\n  - each:\n      scatter:\n        i: [1]\n"
            "      steps:\n        - check:" + step + "\n"
            f"  - after:\n      commands: ['echo after >> {tries}']\n")


def run_cli(tmp_path: Path, workflow_text: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    wf = tmp_path / "wf.yaml"
    wf.write_text(workflow_text)
    job = tmp_path / "job.json"
    job.write_text("{}")
    return subprocess.run([sys.executable, "-m", "flows.run", "workflow", str(wf), "--job", str(job),
                           "--storage", str(tmp_path / "storage")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**env, "PYTHONPATH": str(ROOT)})


def test_qc_failure_of_a_top_level_step_is_not_retried(tmp_path, harness_env):
    tries = tmp_path / "tries"
    result = run_cli(tmp_path, top_level(tries), harness_env)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "failed QC conditions: stats.json: reads < 10" in result.stderr
    assert tries.read_text() == "try\n"  # one attempt, and the next step never ran
    assert not (tmp_path / "storage/bkt/qc-top/_control_/check.complete").exists()


def test_qc_failure_inside_a_scatter_branch_is_not_retried(tmp_path, harness_env):
    tries = tmp_path / "tries"
    result = run_cli(tmp_path, in_scatter(tries), harness_env)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "failed QC conditions: stats.json: reads < 10" in result.stderr
    assert tries.read_text() == "try\n"
    assert not (tmp_path / "storage/bkt/qc-scatter/each/00000/_control_/check.complete").exists()


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("workflow", [top_level, in_scatter])
def test_the_same_step_failing_its_command_is_retried(tmp_path, capsys, workflow):
    """The control (in-process CLI, to spare a server start): the retry settings above are live,
    so the QC tests count what they claim."""
    tries = tmp_path / "tries"
    wf = tmp_path / "wf.yaml"
    wf.write_text(workflow(tries, fail="exit 4"))
    (tmp_path / "job.json").write_text("{}")
    code = main(["workflow", str(wf), "--job", str(tmp_path / "job.json"), "--storage", str(tmp_path / "storage")])
    assert code == 1 and "command exited with code 4" in capsys.readouterr().err
    assert tries.read_text() == "try\n" * 4  # 1 + 3 retries; the next step never ran
