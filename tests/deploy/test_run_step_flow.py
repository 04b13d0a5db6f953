"""The ``run-step`` flow itself, called in this process: what a worker's child run does with one
command step (markers, ``skip_on_rerun``, the record left for the parent) and with one batch of
scatter branches (every branch's result left, the batch failed when a branch failed)."""

from __future__ import annotations

import json
import textwrap

import pytest

from flows.step import UnknownStep, run_step
from tasks.bclaw.context import RunContext
from tasks.bclaw.scatter.branches import BatchFailed

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.timeout(240)]

WORKFLOW = """
Repository: s3://b/run/${job.id}
Steps:
  - make:
      skip_on_rerun: true
      commands: ['echo "made ${job.id}" > made.txt; date +%s%N >> runs.txt']
      outputs: {made: made.txt}
  - fan:
      scatter: {n: [1, 2, 3]}
      steps:
        - check:
            commands: ['test ${scatter.n} != 2 && echo ${scatter.n} > n.txt']
            outputs: {n: n.txt}
"""


@pytest.fixture
def setup(tmp_path):
    from blocks.local import LocalRepository
    from specs.workflow.model import load_workflow

    wf_path = tmp_path / "wf.yaml"
    wf_path.write_text(textwrap.dedent(WORKFLOW))
    storage = tmp_path / "storage"
    ctx = RunContext(repo=LocalRepository(root=str(storage)), repo_uri="s3://b/run/r1", workflow_name="wf",
                     options=load_workflow(wf_path).options)
    ctx.write_job_data({"id": "r1"})
    return wf_path, storage / "b/run/r1", ctx


def test_a_command_step_writes_outputs_marker_and_record_and_skips_on_rerun(setup):
    wf, repo, _ = setup
    params = dict(workflow=str(wf), step="make", repository_uri="s3://b/run/r1", storage=str(repo.parents[2]))
    first = run_step(**params)
    assert (repo / "made.txt").read_text() == "made r1\n"
    assert (repo / "_control_/make.complete").exists()
    assert first["record"]["status"] == "done" and first["prev_outputs"] == {"made": "made.txt"}
    left = json.loads((repo / "_control_/make.run-step.json").read_text())
    assert left["result"] == first and left["flow_run_id"]  # the parent checks it is its child's
    second = run_step(**params)
    assert second["record"]["status"] == "skipped"  # skip_on_rerun: the marker is there


def test_a_batch_runs_its_branches_and_leaves_every_result(setup):
    wf, repo, ctx = setup
    ctx.repo.write_text(ctx.uri("fan", "_JOB_DATA_"), json.dumps(
        {"job_ref": ctx.uri("_JOB_DATA_"), "parent": {}, "scatter": {}}))
    state = run_step(workflow=str(wf), step="fan", repository_uri="s3://b/run/r1", storage=str(repo.parents[2]),
                     branches=[[0, {"n": "1"}], [1, {"n": "2"}], [2, {"n": "3"}]], return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), BatchFailed)
    results = json.loads((repo / "fan/_control_/batch-00000-00002.json").read_text())["result"]
    assert [(r["index"], r["status"]) for r in results] == [(0, "done"), (1, "failed"), (2, "done")]
    assert (repo / "fan/00002/n.txt").read_text() == "3\n"


def test_a_step_the_workflow_does_not_have_is_named(setup):
    wf, repo, _ = setup
    with pytest.raises(UnknownStep, match="no command step named 'fan'"):
        run_step(workflow=str(wf), step="fan", repository_uri="s3://b/run/r1", storage=str(repo.parents[2]))
