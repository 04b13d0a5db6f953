"""Which work pool a step goes to, what it is told about its resources, and bad ``--step-pool``
values: no server needed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from specs.workflow.model import load_workflow
from tasks.bclaw.step_runner import StepPoolSpecError, WorkPoolRunner, job_variables, parse_step_pools

ROOT = Path(__file__).resolve().parents[2]

WORKFLOW = """
Repository: s3://b/r/${job.id}
Options:
  step_runner: work-pool
  step_pools: {gpu: gpu-pool, wide: "pool-a, pool-b", listed: [pool-c, pool-d]}
  step_start_timeout: 42
Steps:
  - plain: {commands: ['true']}
  - on_gpu: {commands: ['true'], compute: {queue_name: gpu, cpus: 4, memory: 8 Gb}}
  - own: {commands: ['true'], compute: {queue_name: lab-queue}}
  - fan:
      scatter: {i: [1, 2]}
      steps:
        - first: {commands: ['true']}
        - second: {commands: ['true'], compute: {queue_name: wide}}
"""


@pytest.fixture
def wf(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(textwrap.dedent(WORKFLOW))
    return load_workflow(path)


def _runner(wf, step_pools=None) -> WorkPoolRunner:
    return WorkPoolRunner.from_options(wf.options, workflow_file=str(wf.source), params={},
                                       repository_params={"storage": "/s"}, step_pools=step_pools)


def test_pools_come_from_the_queue_name_through_the_mapping_and_spread_in_turn(wf):
    runner = _runner(wf)
    steps = {s.name: s for s in wf.steps}
    assert runner.start_timeout == 42
    assert runner.pools_for(steps["plain"]) == ()  # no queue, no default pool: in-process
    assert runner.pools_for(steps["on_gpu"]) == ("gpu-pool",)
    assert runner.pools_for(steps["own"]) == ("lab-queue",)  # unmapped: the pool of the queue's name
    assert runner.pools_for_scatter(steps["fan"]) == ("pool-a", "pool-b")  # first inner step with a queue
    assert [runner.next_pool(("pool-a", "pool-b")) for _ in range(3)] == ["pool-a", "pool-b", "pool-a"]
    assert runner.next_pool(("x",)) == "x"  # each pool list takes its own turns
    assert _runner(wf).pools == {"gpu": ("gpu-pool",), "wide": ("pool-a", "pool-b"), "listed": ("pool-c", "pool-d")}


def test_command_line_pools_override_the_options_and_set_the_default(wf):
    runner = _runner(wf, ["gpu=big-gpu,other", "steps"])
    assert runner.pools["gpu"] == ("big-gpu", "other")
    assert runner.default == ("steps",)
    assert runner.pools_for(wf.steps[0]) == ("steps",)


@pytest.mark.parametrize("bad", ["=pool", "q=", "q=a,,b", ""])
def test_bad_step_pool_entries_are_refused(bad):
    with pytest.raises(StepPoolSpecError, match="use POOL"):
        parse_step_pools([bad])


def test_compute_becomes_only_the_job_variables_a_pool_declares(wf):
    compute = wf.steps[1].compute
    ecs = {"cpu": {}, "memory": {}, "image": {}}
    assert job_variables(compute, ecs) == {"cpu": 4096, "memory": 8192}
    assert job_variables(compute, {"mem_limit": {}}) == {"mem_limit": "8192m"}
    assert job_variables(compute, {"cpu_request": {}, "memory_request": {}}) == {
        "cpu_request": "4", "memory_request": "8192Mi"}
    assert job_variables(compute, {"env": {}, "working_dir": {}}) == {}  # a process pool: none


def test_a_bad_step_pool_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "wf.yaml").write_text(textwrap.dedent(WORKFLOW))
    (tmp_path / "job.json").write_text('{"id": "x"}')
    done = subprocess.run([sys.executable, "-m", "flows.run", "workflow", str(tmp_path / "wf.yaml"), "--job",
                           str(tmp_path / "job.json"), "--step-runner", "work-pool", "--step-pool", "gpu="],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},  # the suite's own Prefect home
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: step pool 'gpu=': use POOL[,POOL...] or QUEUE=POOL[,POOL...]"]
    assert not list(tmp_path.glob(".labflows*"))  # nothing written


def test_the_child_finds_a_step_at_any_depth(tmp_path):
    from flows.step import find_step

    path = tmp_path / "nested.yaml"
    path.write_text(textwrap.dedent("""
        Repository: s3://b/r
        Steps:
          - both:
              branches:
                - steps:
                    - deep: {commands: ['true'], compute: {queue_name: q}}
          - fan:
              scatter: {i: [1]}
              steps:
                - inner: {commands: ['true']}
        """))
    wf = load_workflow(path)
    assert find_step(wf.steps, "deep").kind == "command"
    assert find_step(wf.steps, "fan").kind == "scatter"
    assert find_step(wf.steps, "inner").name == "inner"
    assert find_step(wf.steps, "nope") is None
