"""A branch knows its job data from the batch that runs it: the run's job is read once per batch
(not once per branch step), and two runs in one process never see each other's job."""

from __future__ import annotations

import json

import pytest

from blocks.local import LocalRepository

TWO_STEPS = """\
Repository: s3://bkt/jd/${job.id}
Steps:
  - each:
      scatter:
        n: ${job.items}
      steps:
        - first:
            commands:
              - echo ${job.word} ${scatter.n} > a.txt
              - cp "$BC_JOB_DATA_FILE" seen.json
            outputs: {a: a.txt, seen: seen.json}
        - second:
            inputs: {a: a.txt}
            commands:
              - echo ${job.word} $(cat ${a}) > b.txt
            outputs: {b: b.txt}
"""


def _count_reads(monkeypatch) -> dict[str, int]:
    """Count the reads of each URI through any local repository while the test runs."""
    reads: dict[str, int] = {}
    read_bytes = LocalRepository.read_bytes

    def counting(self, uri: str) -> bytes:
        reads[uri] = reads.get(uri, 0) + 1
        return read_bytes(self, uri)

    monkeypatch.setattr(LocalRepository, "read_bytes", counting)
    return reads


def _plan(tmp_path, repo, job_data: dict, **plan_args):
    from specs.workflow.model import load_workflow
    from tasks.bclaw.context import RunContext
    from tasks.bclaw.scatter.branches import ScatterPlan
    from tasks.bclaw.scatter.step import branch_template
    from tasks.bclaw.step_kinds import branch_handlers

    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    wf = load_workflow(str(tmp_path / "wf.yaml"), {})
    uri = f"s3://bkt/jd/{job_data['id']}"
    ctx = RunContext(repo=repo, repo_uri=uri, workflow_name=wf.name, options=wf.options,
                     scratch=tmp_path / "scratch")
    ctx.write_job_data(job_data)
    step = wf.steps[0]
    template = branch_template(step, ctx, {"job": job_data}, ctx.uri("_JOB_DATA_"), {}, dict(step.outputs))
    return ScatterPlan(step, ctx, template, branch_handlers(), **plan_args), ctx


@pytest.mark.parametrize("given", [True, False], ids=["job given", "job read by the batch"])
def test_branch_steps_read_no_job_data_and_the_batch_reads_the_job_at_most_once(tmp_path, monkeypatch, given):
    from tasks.bclaw.scatter.branches import run_branch

    repo = LocalRepository(root=str(tmp_path / "storage"))
    job = {"id": "j1", "word": "hello", "items": ["1", "2", "3"]}
    plan, ctx = _plan(tmp_path, repo, job, **({"job": job} if given else {}))
    for i, n in enumerate(job["items"]):
        if i == 0:
            reads = _count_reads(monkeypatch)  # from the first branch on
        assert run_branch(plan, i, {"n": n}).status == "done"

    job_data_reads = {u: c for u, c in reads.items() if u.endswith("/_JOB_DATA_")}
    assert job_data_reads == ({} if given else {ctx.uri("_JOB_DATA_"): 1}), job_data_reads
    for i, n in enumerate(job["items"]):
        branch = tmp_path / f"storage/bkt/jd/j1/each/{i:05d}"
        assert (branch / "b.txt").read_text() == f"hello hello {n}\n"
        seen = json.loads((branch / "seen.json").read_text())  # BC_JOB_DATA_FILE: what a read would give
        stored = json.loads((branch / "_JOB_DATA_").read_text())
        assert seen == {"parent": stored["parent"], "scatter": {"n": n}, "job": job}
        assert "job" not in stored and stored["job_ref"] == ctx.uri("_JOB_DATA_")


@pytest.mark.usefixtures("prefect_harness")
def test_two_runs_in_one_process_see_only_their_own_job_data(run_flow, storage):
    for run_id, word in (("r1", "apple"), ("r2", "pear")):
        state = run_flow(TWO_STEPS, {"id": run_id, "word": word, "items": ["1", "2"]}, name=f"jd-{run_id}")
        assert state.is_completed(), state.message
    for run_id, word in (("r1", "apple"), ("r2", "pear")):
        for i, n in enumerate(["1", "2"]):
            branch = storage / f"bkt/jd/{run_id}/each/{i:05d}"
            assert (branch / "b.txt").read_text() == f"{word} {word} {n}\n"
            assert json.loads((branch / "seen.json").read_text())["job"]["word"] == word
