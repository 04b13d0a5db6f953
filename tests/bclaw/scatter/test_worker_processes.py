"""Large scatters run their branches in forked worker processes (tasks/runtime/worker_processes.py):
the same results as in threads, a failing branch fails its step with its error, a worker that dies
loses no branch, and a re-run skips the branches that finished."""

from __future__ import annotations

import json
import logging
import os

import pytest

from tasks.runtime.worker_processes import PROCESSES_FROM, scatter_processes

pytestmark = pytest.mark.usefixtures("prefect_harness")

WORKFLOW = """\
Repository: s3://bkt/wp/${job.id}
Steps:
  - each:
      scatter:
        i: ${job.items}
      steps:
        - work:
            skip_on_rerun: true
            retry: {attempts: 0}
            commands:
              - echo ${scatter.i} >> "${job.ran}/${scatter.i}"
              - test ${scatter.i} != "${job.fail}"
              - if [ ${scatter.i} = "${job.kill}" ]; then kill -9 $PPID; exit 9; fi
              - echo "item ${scatter.i}" > out.txt
              - echo $PPID > who.txt
            outputs:
              out: out.txt
              who: who.txt
      outputs:
        out: out.txt
"""
ITEMS = [str(i) for i in range(12)]


@pytest.fixture
def run_scatter(run_flow, tmp_path, storage):
    """Run WORKFLOW with ``processes`` worker processes (LABFLOWS_SCATTER_PROCESSES), batches of 3."""

    def run(monkeypatch, processes: int, job_id: str, **job):
        monkeypatch.setenv("LABFLOWS_SCATTER_PROCESSES", str(processes))
        ran = tmp_path / f"ran-{job_id}"
        ran.mkdir(exist_ok=True)
        state = run_flow(WORKFLOW.replace("each:", "each:\n      batch_size: 3"),
                         {"id": job_id, "items": ITEMS, "ran": str(ran), "fail": "", "kill": "", **job})
        return state, ran, storage / "bkt/wp" / job_id / "each"

    return run


def runs_of(ran) -> dict[str, int]:
    """How many times each branch's command started."""
    return {p.name: len(p.read_text().split()) for p in ran.iterdir()}


def test_processes_give_the_same_results_as_threads(run_scatter, monkeypatch, storage):
    threads, _, in_threads = run_scatter(monkeypatch, 0, "threads")
    forked, _, in_workers = run_scatter(monkeypatch, 2, "forked")
    assert threads.is_completed() and forked.is_completed(), (threads.message, forked.message)
    for i in range(len(ITEMS)):
        assert (in_threads / f"{i:05d}/out.txt").read_text() == (in_workers / f"{i:05d}/out.txt").read_text() \
            == f"item {i}\n"
    manifests = [json.loads((storage / f"bkt/wp/{j}/each_manifest.json").read_text()) for j in ("threads", "forked")]
    assert [len(m["out"]) for m in manifests] == [len(ITEMS), len(ITEMS)]
    assert [u.replace("/forked/", "/threads/") for u in manifests[1]["out"]] == manifests[0]["out"]
    parents_threads = {(in_threads / f"{i:05d}/who.txt").read_text() for i in range(len(ITEMS))}
    parents_workers = {(in_workers / f"{i:05d}/who.txt").read_text() for i in range(len(ITEMS))}
    assert parents_threads == {f"{os.getpid()}\n"}  # threads: the commands are this process's children
    assert f"{os.getpid()}\n" not in parents_workers and 1 <= len(parents_workers) <= 2  # two workers'


def test_a_branch_failing_in_a_worker_fails_the_step_with_its_error(run_scatter, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    state, ran, step = run_scatter(monkeypatch, 2, "failing", fail="4")
    in_run_log = [r.getMessage() for r in caplog.records if r.name.startswith("prefect.task_runs")]
    # what the branch logged in its worker reaches the batch's task run log, as in threads
    assert any("work: workspace kept for inspection" in m for m in in_run_log), in_run_log
    assert any(m.startswith("each[00004] failed: step work: command exited") for m in in_run_log)
    assert state.is_failed()
    message = str(state.result(raise_on_failure=False))
    assert "1 of 12 branches failed" in message and "branches 00004" in message
    assert "command exited with code 1" in message and "work[4].log" in message  # its error, its log
    assert runs_of(ran) == {i: 1 for i in ITEMS}  # every branch ran once, none twice
    assert not (step / "00004/out.txt").exists() and (step / "00005/out.txt").exists()


def test_a_worker_that_dies_loses_no_branch_and_the_rerun_skips_finished_ones(run_scatter, monkeypatch):
    first, ran, step = run_scatter(monkeypatch, 2, "killed", kill="7")
    assert first.is_failed()
    message = str(first.result(raise_on_failure=False))
    assert "00007" in message and "BrokenProcessPool" in message
    finished = {i for i in ITEMS if (step / f"{int(i):05d}/_control_/work.complete").exists()}
    named = message.split("): branches ", 1)[1].split(";")[0].split(", ")
    failed = {str(int(n)) for n in named}
    assert "7" not in finished and "7" in failed
    assert set(ITEMS) - finished <= failed  # no branch lost: every unfinished one is named as failed

    second, _, _ = run_scatter(monkeypatch, 2, "killed")  # the same repository, nobody kills
    assert second.is_completed(), second.message
    counts = runs_of(ran)
    assert all(counts[i] == 1 for i in finished)  # finished branches did not run again
    assert all(counts.get(i, 0) >= 1 for i in ITEMS) and max(counts.values()) <= 2
    assert all((step / f"{int(i):05d}/out.txt").read_text() == f"item {i}\n" for i in ITEMS)


def test_processes_only_for_large_scatters_unless_asked(monkeypatch):
    monkeypatch.delenv("LABFLOWS_SCATTER_PROCESSES", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert scatter_processes(PROCESSES_FROM - 1) == 0 and scatter_processes(PROCESSES_FROM) == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert scatter_processes(10 * PROCESSES_FROM) == 0
    monkeypatch.setenv("LABFLOWS_SCATTER_PROCESSES", "3")
    assert scatter_processes(5) == 3
    monkeypatch.setenv("LABFLOWS_SCATTER_PROCESSES", "0")
    assert scatter_processes(10 * PROCESSES_FROM) == 0
