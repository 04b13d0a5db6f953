"""Scatter-gather through run_workflow on the test server: branch repositories, job data, gather
(behaviour 18), auto-inputs, task run names and artifacts."""

import asyncio
import csv
import json

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")

GATHER = """
Repository: s3://bkt/gather/${job.id}
Steps:
  - prep:
      commands:
        - echo shared > shared.txt
      outputs:
        shared: shared.txt
  - test-step:
      scatter:
        x: [a, b, c]
      steps:
        - work:
            retry: {attempts: 0}
            inputs:
              shared: ${parent.shared}
            commands:
              - echo "${scatter.x} $(cat ${shared}) ${parent.out1}" > out1.txt
              - if [ "${scatter.x}" != b ]; then echo two > out2.txt; fi
            outputs:
              out1: out1.txt
              out2: out2.txt
      outputs:
        out1: out1.txt
        out2: out2.txt
        out3: out3.txt
  - use-manifest:
      commands:
        - cp ${manifest} seen_manifest.json
      outputs:
        seen: seen_manifest.json
  - no-outputs:
      scatter:
        y: "${job.ys}"
      steps:
        - touch:
            commands: ["echo ${scatter.y} > y.txt"]
            outputs: {y: y.txt}
  - after:
      commands:
        - echo after > after.txt
      outputs:
        after: after.txt
"""


def read(path):
    return json.loads(path.read_text())


async def _artifacts(keys):
    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    return {a.key: a for a in found}


async def _task_run_names_now(client, flow_run_id):
    names, offset = [], 0
    while True:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), offset=offset, limit=200)
        names += [r.name for r in runs]
        offset += len(runs)
        if len(runs) < 200:
            return sorted(names)


async def _task_run_names(flow_run_id, expected: dict[str, int]):
    """The flow run's task run names, once ``expected`` ({name prefix: count}) are all recorded: the
    server records task runs, and their custom names, from events a moment after they ran."""
    async with get_client() as client:
        for _ in range(400):  # up to 2 minutes: on a loaded machine the recorder lags behind
            names = await _task_run_names_now(client, flow_run_id)
            if all(sum(n.startswith(p) for n in names) >= c for p, c in expected.items()):
                return names
            await asyncio.sleep(0.3)
    return names


def test_gather_manifest_branch_repos_and_auto_inputs(run_flow, storage):
    state = run_flow(GATHER, {"id": "g1", "ys": ["p", "q"]}, name="gather")  # gather.yaml: workflow "gather"
    assert state.is_completed(), state.message
    repo = storage / "bkt/gather/g1"
    uri = "s3://bkt/gather/g1/test-step"

    # behaviour 18: branch 00001 made no out2; nobody made out3
    manifest = read(repo / "test-step_manifest.json")
    assert manifest == {
        "out1": [f"{uri}/00000/out1.txt", f"{uri}/00001/out1.txt", f"{uri}/00002/out1.txt"],
        "out2": [f"{uri}/00000/out2.txt", f"{uri}/00002/out2.txt"],
        "out3": [],
    }
    # the manifest reached the next step as its auto-input
    assert read(repo / "seen_manifest.json") == manifest

    # each branch: its own repository, scatter and parent resolved inside
    assert (repo / "test-step/00001/out1.txt").read_text() == "b shared out1.txt\n"
    branch = read(repo / "test-step/00002/_JOB_DATA_")
    assert branch["scatter"] == {"x": "c"}
    assert branch["parent"] == {"shared": "s3://bkt/gather/g1/shared.txt", "out1": "out1.txt",
                                "out2": "out2.txt", "out3": "out3.txt"}
    # the job is stored once per run: branches refer to the run's _JOB_DATA_ instead of copying it
    assert "job" not in branch and branch["job_ref"] == "s3://bkt/gather/g1/_JOB_DATA_"
    assert read(repo / "_JOB_DATA_")["job"]["id"] == "g1"
    assert (repo / "test-step/00002/_control_/work.complete").exists()
    # the template and items.csv
    assert read(repo / "test-step/_JOB_DATA_") == {**branch, "scatter": {}}
    with open(repo / "test-step/items.csv") as f:
        assert list(csv.DictReader(f)) == [{"x": "a"}, {"x": "b"}, {"x": "c"}]

    # no outputs: no manifest, and the next step gets no auto-inputs
    assert not (repo / "no-outputs_manifest.json").exists()
    assert (repo / "no-outputs/00001/y.txt").read_text() == "q\n"
    summary = state.result()
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["test-step"]["outputs"] == ["s3://bkt/gather/g1/test-step_manifest.json"]
    assert steps["no-outputs"]["outputs"] == [] and steps["after"]["status"] == "done"

    # visibility: task runs named after branches, a progress and a branch table artifact
    names = asyncio.run(_task_run_names(state.state_details.flow_run_id, {"test-step[": 3, "no-outputs[": 2}))
    assert {"test-step[00000]", "test-step[00001]", "test-step[00002]", "no-outputs[00000]"} <= set(names)
    arts = asyncio.run(_artifacts(["gather-test-step-progress", "gather-test-step-branches"]))
    assert arts["gather-test-step-progress"].type == "progress" and float(arts["gather-test-step-progress"].data) == 100.0
    assert "3/3 branches finished" in arts["gather-test-step-progress"].description
    table = json.loads(arts["gather-test-step-branches"].data) if isinstance(arts["gather-test-step-branches"].data, str) \
        else arts["gather-test-step-branches"].data
    rows = {row["branch"]: row for row in table}
    assert rows["00001"]["scatter.x"] == "b" and rows["00001"]["status"] == "done"
    assert rows["00001"]["outputs"] == "out1.txt"
    assert rows["00000"]["outputs"] == "out1.txt out2.txt"


BATCHED = """
Repository: s3://bkt/batch/${job.id}
Options:
  scatter_batch_size: 30
Steps:
  - make:
      commands:
        - seq 1 150 > items.txt
      outputs:
        items: items.txt
  - batched:
      scatter:
        i: "@items.txt"
      steps:
        - one:
            commands: ["echo ${scatter.i} > n.txt"]
            outputs: {n: n.txt}
      outputs:
        n: n.txt
  - unbatched:
      batch_size: 1
      scatter:
        i: "@items.txt"
      steps:
        - two:
            commands: ["echo ${scatter.i} > n.txt"]
            outputs: {n: n.txt}
      outputs:
        n: n.txt
"""


def test_150_branches_batched_give_the_same_manifest_as_unbatched(run_flow, storage):
    # 150, not more: the count is not the point, batches against one task run per branch are
    state = run_flow(BATCHED, {"id": "b1"})
    assert state.is_completed(), state.message
    repo = storage / "bkt/batch/b1"
    batched = read(repo / "batched_manifest.json")["n"]
    unbatched = read(repo / "unbatched_manifest.json")["n"]
    assert len(batched) == 150
    assert [u.replace("/batched/", "/") for u in batched] == [u.replace("/unbatched/", "/") for u in unbatched]
    assert (repo / "batched/00149/n.txt").read_text() == "150\n"
    names = asyncio.run(_task_run_names(state.state_details.flow_run_id, {"batched[": 5, "unbatched[": 150}))
    assert [n for n in names if n.startswith("batched[")] == [
        "batched[00000-00029]", "batched[00030-00059]", "batched[00060-00089]", "batched[00090-00119]",
        "batched[00120-00149]"]
    assert len([n for n in names if n.startswith("unbatched[")]) == 150
