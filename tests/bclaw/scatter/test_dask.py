"""Scatter branches on a Dask LocalCluster of two worker processes (``--task-runner dask``)."""

import json
import os

import pytest

from tasks.runtime.task_runners import make_task_runner

pytestmark = pytest.mark.usefixtures("prefect_harness")

DASK = """
Repository: s3://bkt/dask/${job.id}
Steps:
  - spread:
      scatter:
        i: [1, 2, 3, 4, 5, 6, 7, 8]
      steps:
        - where:
            commands:
              - sleep 0.3; echo $PPID > pid.txt
            outputs: {p: pid.txt}
      outputs:
        p: pid.txt
  - limited:
      max_concurrency: 2
      batch_size: 2
      scatter:
        i: [1, 2, 3, 4, 5, 6]
      steps:
        - nap:
            commands:
              - t0=$(date +%s.%N); sleep 0.4; echo "$t0 $(date +%s.%N)" > times.txt
            outputs: {t: times.txt}
"""


def test_branches_run_in_several_dask_worker_processes(run_flow, storage, monkeypatch, intervals, max_overlap):
    monkeypatch.setenv("LABFLOWS_DASK_WORKERS", "2")
    monkeypatch.setenv("LABFLOWS_BATCH_THREADS", "2")
    state = run_flow(DASK, {"id": "d1"}, task_runner=make_task_runner("dask"))
    assert state.is_completed(), state.message
    repo = storage / "bkt/dask/d1"
    manifest = json.loads((repo / "spread_manifest.json").read_text())
    assert len(manifest["p"]) == 8
    pids = {(repo / f"spread/{i:05d}/pid.txt").read_text().strip() for i in range(8)}
    assert len(pids) >= 2  # the branches' commands were started by more than one worker process
    assert str(os.getpid()) not in pids
    assert max_overlap(intervals(repo / "limited")) <= 2  # a distributed semaphore spans the workers
