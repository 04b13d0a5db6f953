"""Dask resources: a scatter's ``compute`` becomes resource restrictions, so on a LocalCluster whose
workers declare different resources a GPU step's branches all land on the GPU worker."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tasks.runtime.task_runners import ResourcesUnavailable, fit_resources, make_task_runner

pytestmark = pytest.mark.timeout(180)

WORKFLOW = """
Repository: s3://bkt/res/${job.id}
Steps:
  - gpu:
      scatter: {i: [1, 2, 3, 4, 5, 6]}
      steps:
        - where:
            commands: ['echo $PPID > pid.txt']
            outputs: {p: pid.txt}
            compute: {gpu: 1}
  - plain:
      scatter: {i: [1, 2, 3, 4, 5, 6]}
      steps:
        - anywhere:
            commands: ['sleep 0.5; echo $PPID > pid.txt']
            outputs: {p: pid.txt}
  - big:
      scatter: {i: [1]}
      steps:
        - nowhere:
            commands: ['true']
            compute: {gpu: 2}
"""


@pytest.fixture
def cluster(prefect_harness):
    """A LocalCluster of two worker processes: ``gpu`` declares GPU=1, ``plain`` declares nothing."""
    from distributed import LocalCluster, Nanny
    from prefect.settings import PREFECT_API_URL

    env = {"PREFECT_API_URL": PREFECT_API_URL.value()}
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        for name, resources in (("gpu", {"GPU": 1}), ("plain", {})):
            cluster.worker_spec[name] = {"cls": Nanny, "options": {"nthreads": 2, "env": env,
                                                                   "resources": resources}}
        cluster.sync(cluster._correct_state)
        with cluster.get_client() as client:
            client.wait_for_workers(2, timeout=60)
            pids = client.run(os.getpid)
            gpu_worker = next(a for a, w in client.scheduler_info()["workers"].items() if w["resources"])
            yield cluster, str(pids[gpu_worker]), {str(p) for p in pids.values()}


def test_gpu_branches_run_only_on_the_gpu_worker_and_a_need_no_worker_meets_fails_at_once(cluster, tmp_path):
    from flows.workflow import run_workflow

    local, gpu_pid, all_pids = cluster
    wf = tmp_path / "wf.yaml"
    wf.write_text(textwrap.dedent(WORKFLOW))
    runner = make_task_runner(f"dask={local.scheduler_address}")
    state = run_workflow.with_options(task_runner=runner)(
        workflow=str(wf), job={"id": "r1"}, storage=str(tmp_path / "storage"), return_state=True)
    repo = Path(tmp_path / "storage/bkt/res/r1")
    pids = {step: {(repo / f"{step}/{i:05d}/pid.txt").read_text().strip() for i in range(6)}
            for step in ("gpu", "plain")}
    assert pids["gpu"] == {gpu_pid}  # six branches, every one on the worker declaring GPU
    assert pids["plain"] <= all_pids  # no GPU asked: any worker
    assert state.is_failed()  # "big" needs GPU=2, which no worker has: fails at once, no wait
    message = str(state.result(raise_on_failure=False))
    assert "step big needs GPU=2 and no Dask worker has that much (workers declare: GPU=1; none)" in message


def test_only_declared_resources_are_passed_on():
    declared = [{"GPU": 1.0}, {}]
    assert fit_resources("s", {"CPU": 4, "MEMORY": 2**30, "GPU": 0}, declared) == {}  # undeclared: anywhere
    assert fit_resources("s", {"CPU": 4, "GPU": 1}, declared) == {"GPU": 1}
    assert fit_resources("s", {"GPU": 1}, [{}, {}]) == {}  # a cluster declaring nothing runs it anywhere
    with pytest.raises(ResourcesUnavailable, match="needs CPU=8, GPU=1"):
        fit_resources("s", {"CPU": 8, "GPU": 1}, [{"GPU": 1, "CPU": 4}, {"CPU": 16}])  # not on one worker
