"""Native Pass/Wait/Succeed/Fail through the flow (Task/Parallel refused by the CLI) and subpipes."""

import json
import time

import pytest

from flows.run import main

pytestmark = pytest.mark.usefixtures("prefect_harness")

NATIVE = """
Repository: s3://bkt/native/${job.id}
Steps:
  - make:
      commands: ["echo made > made.txt"]
      outputs: {m: made.txt}
  - hand-on:
      Type: Pass
  - pause:
      Type: Wait
      Seconds: 1
  - use:
      commands: ["cp ${m} used.txt"]
      outputs: {u: used.txt}
  - stop-here:
      Type: Succeed
  - never:
      commands: ["echo never > never.txt"]
      outputs: {n: never.txt}
"""


def test_pass_wait_succeed_through_the_flow(run_flow, storage):
    started = time.monotonic()
    state = run_flow(NATIVE, {"id": "n1"})
    assert state.is_completed(), state.message
    assert time.monotonic() - started >= 1.0
    repo = storage / "bkt/native/n1"
    assert (repo / "used.txt").read_text() == "made\n"  # Pass and Wait handed the auto-inputs on
    assert not (repo / "never.txt").exists()  # Succeed ended the run
    steps = [(s["name"], s["status"]) for s in state.result()["steps"]]
    assert steps == [("make", "done"), ("hand-on", "done"), ("pause", "done"), ("use", "done"),
                     ("stop-here", "done"), ("never", "not run")]
    pause = next(s for s in state.result()["steps"] if s["name"] == "pause")
    assert pause["duration_s"] >= 1.0


def test_fail_step_fails_the_flow_with_error_and_cause(run_flow):
    text = """
    Repository: s3://bkt/native/fail
    Steps:
      - give-up:
          Type: Fail
          Error: BadInput
          Cause: no samples
      - never:
          commands: ["true"]
    """
    state = run_flow(text, {})
    assert state.is_failed()
    assert "step give-up failed: BadInput: no samples" in str(state.result(raise_on_failure=False))


@pytest.mark.parametrize("kind, spec", [
    ("Task", "Resource: arn:aws:states:::lambda:invoke"),
    ("Parallel", "Branches: [{steps: [{inner: {Type: Pass}}]}]"),
])
def test_task_and_parallel_are_refused_before_running(tmp_path, capsys, kind, spec):
    wf = tmp_path / "wf.yaml"
    wf.write_text(f"Repository: s3://bkt/n\nSteps:\n  - raw:\n      Type: {kind}\n      {spec}\n")
    job = tmp_path / "job.json"
    job.write_text("{}")
    assert main(["workflow", str(wf), "--job", str(job), "--storage", str(tmp_path / "s")]) == 2
    assert f"raw Step Functions {kind} states are not run by labflows" in capsys.readouterr().err


CHILD = """
Repository: s3://elsewhere/child/${job.name}
Steps:
  - child-work:
      commands:
        - echo "child ${job.name}" > result.txt
        - echo other > other.txt
      outputs:
        result: result.txt
        other: other.txt
"""

PARENT = """
Repository: s3://bkt/parent/${job.id}
Steps:
  - prep:
      commands: |
        echo '{"name": "from-file"}' > sub_job.json
      outputs:
        j: sub_job.json
  - sub:
      subpipe: sub/child.yaml
      job_data: sub_job.json
      retrieve:
        - result.txt -> copied.txt
        - other.txt
  - sub-again:
      subpipe: sub/child.yaml
      retrieve: [result.txt -> again.txt]
  - use:
      inputs: {c: copied.txt, a: again.txt}
      commands: ["cat ${c} ${a} > both.txt"]
      outputs: {b: both.txt}
"""


def test_subpipe_runs_in_the_parent_repo_with_job_data_and_retrieve(run_flow, storage, write_file):
    write_file("sub/child.yaml", CHILD)
    state = run_flow(PARENT, {"id": "p1", "name": "parent-job"})
    assert state.is_completed(), state.message
    repo = storage / "bkt/parent/p1"
    # the child ran in <repo>/<Step>, not in its own Repository
    assert (repo / "sub/result.txt").read_text() == "child from-file\n"
    assert json.loads((repo / "sub/_JOB_DATA_").read_text()) == {"job": {"name": "from-file"}, "parent": {},
                                                                 "scatter": {}}
    assert not (storage / "elsewhere").exists()
    # without job_data the child gets the parent's job
    assert (repo / "sub-again/result.txt").read_text() == "child parent-job\n"
    # retrieve copied files back; the next step read them
    assert (repo / "copied.txt").read_text() == "child from-file\n"
    assert (repo / "other.txt").read_text() == "other\n"
    assert (repo / "both.txt").read_text() == "child from-file\nchild parent-job\n"
    steps = {s["name"]: s for s in state.result()["steps"]}
    assert steps["sub"]["outputs"] == ["s3://bkt/parent/p1/copied.txt", "s3://bkt/parent/p1/other.txt"]


def test_a_failing_subpipe_or_missing_retrieve_fails_the_step(run_flow, write_file):
    write_file("sub/child.yaml", CHILD.replace('echo other > other.txt', 'exit 4').replace(
        "      outputs:", "      retry: {attempts: 0}\n      outputs:"))
    state = run_flow(PARENT, {"id": "p2", "name": "x"}, name="parent-fail")
    assert state.is_failed()
    assert "step sub: subpipe sub/child.yaml failed:" in str(state.result(raise_on_failure=False))
    assert "command exited with code 4" in str(state.result(raise_on_failure=False))

    write_file("sub/child.yaml", CHILD.replace("        - echo other > other.txt\n", ""))
    state = run_flow(PARENT, {"id": "p3", "name": "x"}, name="parent-missing")
    assert state.is_failed()
    assert "step sub: retrieve: the subpipe wrote no s3://bkt/parent/p3/sub/other.txt" in \
        str(state.result(raise_on_failure=False))


SCATTERED = """
Repository: s3://bkt/scattered/${job.id}
Steps:
  - each:
      scatter:
        name: [one, two]
      steps:
        - name-job:
            commands: |
              echo '{"name": "${scatter.name}"}' > j.json
            outputs: {j: j.json}
        - nested:
            subpipe: sub/child.yaml
            job_data: j.json
            retrieve: [result.txt]
      outputs:
        result: result.txt
"""


def test_a_subpipe_inside_scatter_branches(run_flow, storage, write_file):
    write_file("sub/child.yaml", CHILD)
    state = run_flow(SCATTERED, {"id": "s1"}, name="scattered")
    assert state.is_completed(), state.message
    repo = storage / "bkt/scattered/s1"
    assert (repo / "each/00001/nested/result.txt").read_text() == "child two\n"
    assert json.loads((repo / "each_manifest.json").read_text())["result"] == [
        "s3://bkt/scattered/s1/each/00000/nested/result.txt", "s3://bkt/scattered/s1/each/00000/result.txt",
        "s3://bkt/scattered/s1/each/00001/nested/result.txt", "s3://bkt/scattered/s1/each/00001/result.txt"]


def test_child_workflow_and_repository_params(tmp_path, repo):
    from blocks.resolve import load_repository
    from tasks.bclaw.context import RunContext
    from tasks.bclaw.subpipe import child_workflow, repository_params

    class Step:
        subpipe = "deployment: run-workflow/nightly"

    ctx = RunContext(repo=repo, repo_uri="s3://b/r", workflow_name="wf", options=None, workflow_dir=tmp_path)
    assert child_workflow(Step, ctx) == ("run-workflow/nightly", True)
    Step.subpipe = "sub/child.yaml"
    assert child_workflow(Step, ctx) == (str(tmp_path / "sub/child.yaml"), False)
    assert repository_params(repo) == {"storage": str(tmp_path / "storage")}
    repo.save("scatter-test-storage", overwrite=True)
    loaded = load_repository("scatter-test-storage")
    params = repository_params(loaded)
    assert params == {"repository_block": "labflows-local-repository/scatter-test-storage"}
    assert load_repository(params["repository_block"]).root == repo.root


def test_an_unknown_task_runner_is_a_usage_error(tmp_path, capsys):
    wf = tmp_path / "wf.yaml"
    wf.write_text("Repository: s3://bkt/n\nSteps:\n  - s:\n      commands: ['true']\n")
    job = tmp_path / "job.json"
    job.write_text("{}")
    assert main(["workflow", str(wf), "--job", str(job), "--task-runner", "ray"]) == 2
    assert "unknown task runner 'ray'" in capsys.readouterr().err
