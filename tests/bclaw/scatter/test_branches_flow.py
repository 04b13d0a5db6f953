"""Branch execution: max_concurrency, error_tolerance, re-runs with skip_on_rerun, retries inside branches."""

import json

import pytest

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Each branch waits (up to 10 s) until LIMIT branches have started, so the limit is surely reached
# when the engine allows it; the recorded intervals show whether it was ever passed.
NAP = """
              - mkdir -p ${job.dir}/STEP && touch ${job.dir}/STEP/${scatter.i} && t0=$(date +%s.%N)
              - for n in $(seq 200); do [ $(ls ${job.dir}/STEP | wc -l) -ge LIMIT ] && break; sleep 0.05; done
              - sleep 0.3; echo "$t0 $(date +%s.%N)" > times.txt"""

CONCURRENCY = f"""
Repository: s3://bkt/conc/${{job.id}}
Steps:
  - limited:
      max_concurrency: 2
      scatter:
        i: [1, 2, 3, 4, 5, 6]
      steps:
        - nap:
            commands:{NAP.replace("STEP", "a").replace("LIMIT", "2")}
            outputs: {{t: times.txt}}
  - limited-batched:
      max_concurrency: 3
      batch_size: 4
      scatter:
        i: [1, 2, 3, 4, 5, 6, 7, 8]
      steps:
        - nap2:
            commands:{NAP.replace("STEP", "b").replace("LIMIT", "3")}
            outputs: {{t: times.txt}}
"""


def test_max_concurrency_bounds_overlapping_branches(run_flow, storage, monkeypatch, tmp_path, intervals,
                                                     max_overlap):
    monkeypatch.setenv("LABFLOWS_BATCH_THREADS", "4")  # batches could run 4 branches each without the limit
    state = run_flow(CONCURRENCY, {"id": "c1", "dir": str(tmp_path / "started")})
    assert state.is_completed(), state.message
    repo = storage / "bkt/conc/c1"
    limited = intervals(repo / "limited")
    assert len(limited) == 6
    assert max_overlap(limited) == 2  # the limit is reached, never passed
    batched = intervals(repo / "limited-batched")
    assert len(batched) == 8
    assert max_overlap(batched) == 3


TOLERANCE = """
Repository: s3://bkt/tol/${job.id}
Steps:
  - by-count:
      error_tolerance: ${job.count}
      scatter:
        i: [1, 2, 3, 4, 5]
      steps:
        - maybe:
            retry: {attempts: 0}
            commands:
              - echo ${scatter.i} > n.txt
              - test ${scatter.i} != 2 && test ${scatter.i} != 4
            outputs: {n: n.txt}
      outputs:
        n: n.txt
  - by-percent:
      error_tolerance: "${job.pct}"
      scatter:
        i: [1, 2, 3, 4, 5]
      steps:
        - maybe2:
            retry: {attempts: 0}
            commands:
              - test ${scatter.i} != 5
  - last:
      commands: ["echo done > done.txt"]
      outputs: {d: done.txt}
"""


def test_error_tolerance_as_count_and_percentage(run_flow, storage, write_file):
    # 2 failures tolerated by count, 1 of 5 by 20%
    ok = run_flow(TOLERANCE.replace("${job.count}", "2").replace("${job.pct}", "20%"), {"id": "t1"}, name="tol-ok")
    assert ok.is_completed(), ok.message
    repo = storage / "bkt/tol/t1"
    assert json.loads((repo / "by-count_manifest.json").read_text())["n"] == [
        f"s3://bkt/tol/t1/by-count/{i:05d}/n.txt" for i in range(5)]  # outputs are uploaded after a failure too
    assert (repo / "done.txt").exists()
    steps = {s["name"]: s for s in ok.result()["steps"]}
    assert steps["by-count"]["message"] == "5 branches, 2 failed"

    # one failure too many, by count
    bad = run_flow(TOLERANCE.replace("${job.count}", "1").replace("${job.pct}", "20%"), {"id": "t2"}, name="tol-bad")
    assert bad.is_failed()
    message = str(bad.result(raise_on_failure=False))
    assert "step by-count: 2 of 5 branches failed (error_tolerance allows 1): branches 00001, 00003" in message
    assert "command exited with code 1" in message
    assert not (storage / "bkt/tol/t2/by-count_manifest.json").exists()

    # 19% of 5 branches allows none
    pct = run_flow(TOLERANCE.replace("${job.count}", "2").replace("${job.pct}", "19%"), {"id": "t3"}, name="tol-pct")
    assert pct.is_failed()
    assert "step by-percent: 1 of 5 branches failed (error_tolerance allows 0): branches 00004" \
        in str(pct.result(raise_on_failure=False))


RERUN = """
Repository: s3://bkt/rerun/fixed
Steps:
  - each:
      batch_size: 2
      scatter:
        i: [1, 2, 3, 4, 5]
      steps:
        - count:
            skip_on_rerun: true
            retry: {attempts: 0}
            commands:
              - echo ${scatter.i} >> LOG
              - test ! -e FLAG || test ${scatter.i} != 3
              - echo ${scatter.i} > n.txt
            outputs: {n: n.txt}
      outputs:
        n: n.txt
"""


def test_a_rerun_runs_only_branches_without_a_completion_marker(run_flow, storage, tmp_path):
    log, flag = tmp_path / "ran.log", tmp_path / "flag"
    flag.write_text("fail branch 3")
    text = RERUN.replace("LOG", str(log)).replace("FLAG", str(flag))
    first = run_flow(text, {})
    assert first.is_failed()
    assert "branches 00002" in str(first.result(raise_on_failure=False))
    assert sorted(log.read_text().split()) == ["1", "2", "3", "4", "5"]
    branch = storage / "bkt/rerun/fixed/each"
    assert not (branch / "00002/_control_/count.complete").exists()
    assert (branch / "00003/_control_/count.complete").exists()

    flag.unlink()
    log.write_text("")
    second = run_flow(text, {})
    assert second.is_completed(), second.message
    assert log.read_text().split() == ["3"]
    manifest = json.loads((storage / "bkt/rerun/fixed/each_manifest.json").read_text())
    assert len(manifest["n"]) == 5


def test_branch_command_steps_retry_as_their_retry_says(repo, write_file, tmp_path):
    from specs.workflow.model import load_workflow
    from tasks.bclaw.command_step import CommandFailed
    from tasks.bclaw.context import RunContext
    from tasks.bclaw.scatter.branches import run_command_with_retries

    tries = tmp_path / "tries"
    wf = load_workflow(write_file("retry.yaml", f"""
        Repository: s3://bkt/retry
        Steps:
          - flaky:
              retry: {{attempts: 2, interval: 0s, backoff_rate: 1.0}}
              commands:
                - echo x >> {tries}
                - test $(wc -l < {tries}) -ge LIMIT
        """.replace("LIMIT", "${job.limit}")))
    ctx = RunContext(repo=repo, repo_uri="s3://bkt/retry", workflow_name="retry", options=wf.options,
                     scratch=tmp_path / "scratch")
    ctx.write_job_data({"limit": 3})
    outcome = run_command_with_retries(wf.steps[0], ctx, {})
    assert outcome.records[0].status == "done" and tries.read_text().count("x") == 3

    tries.write_text("")
    ctx.write_job_data({"limit": 4})  # needs a 4th attempt: 1 + 2 retries are not enough
    with pytest.raises(CommandFailed):
        run_command_with_retries(wf.steps[0], ctx, {})
    assert tries.read_text().count("x") == 3
