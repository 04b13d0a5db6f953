"""Steps on work pools through the session's Prefect server: two process pools with one worker each
(each worker marked by ``LABFLOWS_WORKER_MARK``, which the steps echo into their outputs), the
``run-step`` deployment, parents in this process and on a worker; subpipe deployments with a worker
``--limit 1``; a pool without a worker; cancelling a parent.

Every worker started here is stopped at the end, also on failure (SIGINT to its process group, a
wait, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterTags
from prefect.states import Cancelling

from flows.step import run_step
from flows.workflow import run_workflow
from tests.support.processes import stop_groups

ROOT = Path(__file__).resolve().parents[2]
PULL = [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]

pytestmark = [pytest.mark.server, pytest.mark.timeout(600)]


@dataclass
class Pools:
    """Two process pools (``a`` and ``b``), one marked worker each (``a`` with ``--limit 1``)."""

    a: str
    b: str
    logs: Path

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log"))


def _deploy(client, flow_fn, name: str, pool: str, parameters: dict | None = None) -> Any:
    """A deployment of ``flow_fn`` on ``pool`` that runs in this checkout (created or replaced)."""
    from prefect.utilities.callables import parameter_schema

    flow_id = client.create_flow_from_name(flow_fn.name)
    module = Path(flow_fn.fn.__code__.co_filename).relative_to(ROOT)
    return client.create_deployment(
        flow_id=flow_id, name=name, entrypoint=f"{module}:{flow_fn.fn.__name__}", path=str(ROOT),
        work_pool_name=pool, pull_steps=PULL, parameters=parameters or {},
        parameter_openapi_schema=parameter_schema(flow_fn).model_dump_for_openapi())


@pytest.fixture(scope="module")
def pools(prefect_harness, tmp_path_factory) -> Iterator[Pools]:
    """Pools ``a`` (worker ``--limit 1``) and ``b``, the ``run-step`` deployment on ``a``."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL

    base = tmp_path_factory.mktemp("step-runner")
    logs = base / "logs"
    logs.mkdir()
    tag = uuid.uuid4().hex[:6]
    result = Pools(f"steps-a-{tag}", f"steps-b-{tag}", logs)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT),
           "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "1",
           "PREFECT_WORKER_CANCELLATION_POLL_SECONDS": "1", "LABFLOWS_SCRATCH": str(base / "scratch")}
    with get_client(sync_client=True) as client:
        for pool in (result.a, result.b):
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        _deploy(client, run_step, "run-step", result.a)
    with contextlib.ExitStack() as cleanup:
        workers: list[subprocess.Popen] = []
        cleanup.callback(stop_groups, workers)  # both at once: the slower one is waited for, not the sum
        for mark, pool, limit in (("a", result.a, "1"), ("b", result.b, "2")):
            log = cleanup.enter_context(open(logs / f"worker-{mark}.log", "wb"))
            workers.append(subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
                                             "--limit", limit], cwd=ROOT, env={**env, "LABFLOWS_WORKER_MARK": mark},
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True))
        yield result


def _wait(what: str, probe, pools: Pools, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what}: not seen within {timeout:.0f} s\n{pools.tail()}")


def _runs_tagged(*tags: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=list(tags))))


QUEUES = """
Repository: s3://runs/queues/${job.id}
Options:
  step_runner: work-pool
  step_pools: {first: POOL_A, second: POOL_B, both: "POOL_A,POOL_B"}
Steps:
  - one:
      commands: ['echo "one ${job.id} on $LABFLOWS_WORKER_MARK" > one.txt']
      outputs: {one: one.txt}
      compute: {queue_name: first}
  - here:
      commands: ['echo "here ${LABFLOWS_WORKER_MARK:-parent}" > here.txt']
      outputs: {here: here.txt}
  - two:
      inputs: {one: one.txt}
      commands: ['cat ${one} > two.txt && echo "two on $LABFLOWS_WORKER_MARK" >> two.txt']
      outputs: {two: two.txt}
      compute: {queue_name: second}
  - fan:
      scatter: {n: [1, 2, 3, 4]}
      batch_size: 2
      error_tolerance: 1
      steps:
        - mark:
            commands:
              - 'test ${scatter.n} != 3'
              - 'echo "${scatter.n} on $LABFLOWS_WORKER_MARK" > mark.txt'
            outputs: {mark: mark.txt}
            compute: {queue_name: both}
      outputs: {mark: mark.txt}
"""


def _workflow(tmp_path: Path, pools: Pools, text: str, name: str = "wf.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).replace("POOL_A", pools.a).replace("POOL_B", pools.b))
    return path


def test_steps_and_scatter_batches_run_on_the_workers_of_the_pools_their_queues_name(pools, tmp_path):
    storage = tmp_path / "storage"
    wf = _workflow(tmp_path, pools, QUEUES, "queues.yaml")
    state = run_workflow(workflow=str(wf), job={"id": "j1"}, storage=str(storage), return_state=True)
    assert state.is_completed(), f"{state.message}\n{pools.tail()}"

    repo = storage / "runs/queues/j1"
    assert (repo / "one.txt").read_text() == "one j1 on a\n"
    assert (repo / "here.txt").read_text() == "here parent\n"  # no queue, no default pool: in-process
    assert (repo / "two.txt").read_text() == "one j1 on a\ntwo on b\n"  # input staged from one's output
    assert sorted(p.name for p in (repo / "_control_").glob("*.complete")) == \
        ["here.complete", "one.complete", "two.complete"]
    summary = state.result()
    assert [(s["name"], s["status"]) for s in summary["steps"]] == [
        ("one", "done"), ("here", "done"), ("two", "done"), ("fan", "done")]
    assert summary["steps"][0]["outputs"] == ["s3://runs/queues/j1/one.txt"]
    assert summary["steps"][3]["message"] == "4 branches, 1 failed"  # error_tolerance 1 kept
    children = _runs_tagged("step:two")
    assert [(r.name, r.state.is_completed()) for r in children] == [("queues:two", True)]
    assert f"pool:{pools.b}" in children[0].tags
    assert _link_state(children[0]) == "Completed"  # the parent's box for the child, not left Pending

    fan = repo / "fan"  # batch 0-1 on pool a, batch 2-3 on pool b: spread over both workers
    marks = {i: (fan / f"{i:05d}/mark.txt").read_text().strip() for i in (0, 1, 3)}
    assert marks == {0: "1 on a", 1: "2 on a", 3: "4 on b"}
    assert not (fan / "00002/mark.txt").exists() and not (fan / "00002/_control_/mark.complete").exists()
    assert (fan / "00003/_control_/mark.complete").exists()
    assert sorted(r.name for r in _runs_tagged("step:fan")) == ["queues:fan[00000-00001]", "queues:fan[00002-00003]"]


LONELY = """
Repository: s3://runs/lonely/${job.id}
Options: {step_runner: work-pool, step_start_timeout: 3}
Steps:
  - STEP
"""


def test_a_pool_without_a_worker_fails_a_step_or_subpipe_in_one_line_after_the_configured_wait(pools, tmp_path):
    from prefect.client.schemas.actions import WorkPoolCreate

    lonely = f"no-worker-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=lonely, type="process"))
        _deploy(client, run_workflow, lonely, lonely, {"workflow": "any.yaml"})
    steps = {"wait": f"wait: {{commands: ['true'], compute: {{queue_name: {lonely}}}}}",
             "sub": f"sub: {{subpipe: 'deployment:run-workflow/{lonely}'}}"}
    messages = {}
    for name, step in steps.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(LONELY).replace("STEP", step))
        started = time.monotonic()
        state = run_workflow(workflow=str(tmp_path / f"{name}.yaml"), job={"id": "l1"},
                             storage=str(tmp_path / "storage"), return_state=True)
        assert time.monotonic() - started < 180  # a hang guard (loaded machine), not a timing claim
        assert state.is_failed()
        messages[name] = str(state.result(raise_on_failure=False))
        assert "\n" not in messages[name]
    assert f"step wait: no worker of work pool '{lonely}' started flow run wait:wait within 3 s " \
           f"(0 online worker(s); start one: prefect worker start --pool {lonely}" in messages["wait"]
    assert f"deployment run-workflow/{lonely}: no worker of work pool '{lonely}' started flow run" in messages["sub"]
    assert "give child deployments their own work pool" in messages["sub"]
    with get_client(sync_client=True) as client:
        sub_children = client.read_flow_runs(deployment_filter=DeploymentFilter(
            id=DeploymentFilterId(any_=[client.read_deployment_by_name(f"run-workflow/{lonely}").id])))
    left = _runs_tagged(f"pool:{lonely}") + sub_children
    assert [r.state.name for r in left] == ["Cancelled", "Cancelled"]  # not left waiting for a worker


CHILD = """
Repository: s3://elsewhere/${job.name}
Steps:
  - work:
      commands: ['SLEEP_HERE echo "child ${job.name} on $LABFLOWS_WORKER_MARK" > result.txt']
      outputs: {result: result.txt}
"""
PARENT = """
Repository: s3://runs/nested/${job.name}
Options: {step_start_timeout: TIMEOUT}
Steps:
  - sub:
      subpipe: deployment:run-workflow/TARGET
      retrieve: [result.txt -> copied.txt]
"""


def _nested(pools: Pools, tmp_path: Path, child_pool: str, timeout: int = 60, sleep: str = "") -> tuple[Any, str]:
    """A parent deployment on pool a (worker --limit 1) whose subpipe is a deployment on ``child_pool``."""
    tag = uuid.uuid4().hex[:6]
    (tmp_path / "child.yaml").write_text(CHILD.replace("SLEEP_HERE", sleep))
    (tmp_path / "parent.yaml").write_text(PARENT.replace("TARGET", f"child-{tag}").replace("TIMEOUT", str(timeout)))
    with get_client(sync_client=True) as client:
        _deploy(client, run_workflow, f"child-{tag}", child_pool, {"workflow": str(tmp_path / "child.yaml")})
        parent = _deploy(client, run_workflow, f"parent-{tag}", pools.a)
        run = client.create_flow_run_from_deployment(parent, parameters={
            "workflow": str(tmp_path / "parent.yaml"), "job": {"name": f"n-{tag}"},
            "storage": str(tmp_path / "storage")})
    return run, f"n-{tag}"


def _final(run_id, pools: Pools, timeout: float = 240) -> Any:
    def probe():
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
        return run if run.state and run.state.is_final() else None

    return _wait(f"flow run {run_id} final", probe, pools, timeout)


def test_a_parent_on_a_limit_1_worker_completes_with_its_child_on_its_own_pool(pools, tmp_path):
    run, name = _nested(pools, tmp_path, child_pool=pools.b)
    final = _final(run.id, pools)
    assert final.state.is_completed(), f"{final.state.message}\n{pools.tail()}"
    assert (tmp_path / f"storage/runs/nested/{name}/copied.txt").read_text() == f"child {name} on b\n"


def test_cancelling_a_parent_cancels_its_running_child(pools, tmp_path):
    run, _ = _nested(pools, tmp_path, child_pool=pools.b, sleep="sleep 60 &&")
    tag = f"labflows.parent:{run.id}"
    child = _wait("the child running", lambda: next(
        (r for r in _runs_tagged(tag) if r.state and r.state.is_running()), None), pools)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, Cancelling(message="test cancels the parent"), force=True)
    cancelled = _wait("the child cancelled", lambda: next(
        (r for r in _runs_tagged(tag) if r.id == child.id and r.state.is_cancelled()), None), pools, 240)
    assert cancelled.state.is_cancelled()
    assert _final(run.id, pools).state.is_cancelled()


SUSPENDING = """
Repository: s3://runs/suspend/${job.name}
Options: {step_runner: work-pool, step_pools: {remote: POOL_B}}
Steps:
  - before:
      commands: ['echo ran >> RUNS && echo "before ${job.name}" > before.txt']
      outputs: {before: before.txt}
  - remote:
      commands: ['i=0; while [ ! -e GO ] && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done; EXIT echo "remote on $LABFLOWS_WORKER_MARK" > remote.txt']
      outputs: {remote: remote.txt}
      compute: {queue_name: remote}
  - after:
      inputs: {remote: remote.txt}
      commands: ['cat ${remote} > after.txt']
      outputs: {after: after.txt}
"""
QUICK = """
Repository: s3://runs/quick/${job.name}
Steps:
  - only: {commands: ['echo quick > quick.txt'], outputs: {quick: quick.txt}}
"""


def _state_name(run_id) -> str:
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    return run.state.name if run.state else ""


def _link_state(child) -> str:
    """The state name of the child's link task run in its parent (what the UI shows for it)."""
    with get_client(sync_client=True) as client:
        return client.read_task_run(child.parent_task_run_id).state.name


def _state_names(run_id) -> list[str]:
    with get_client(sync_client=True) as client:
        return [s.name for s in sorted(client.read_flow_run_states(run_id), key=lambda s: s.timestamp)]


def _suspending_parent(pools: Pools, tmp_path: Path, exit_code: str = "") -> tuple[Any, Any, str]:
    """A parent deployment on pool a (worker --limit 1) whose step ``remote`` runs on pool b until
    the test creates ``GO``; returns (parent run, its running child, job name) once the parent is
    Suspended."""
    tag = uuid.uuid4().hex[:6]
    text = SUSPENDING.replace("POOL_B", pools.b).replace("RUNS", str(tmp_path / "before-runs.txt")) \
        .replace("GO", str(tmp_path / "GO")).replace("EXIT", f"exit {exit_code};" if exit_code else "")
    (tmp_path / "suspending.yaml").write_text(textwrap.dedent(text))
    with get_client(sync_client=True) as client:
        parent = _deploy(client, run_workflow, f"suspending-{tag}", pools.a)
        run = client.create_flow_run_from_deployment(parent, parameters={
            "workflow": str(tmp_path / "suspending.yaml"), "job": {"name": f"s-{tag}"},
            "storage": str(tmp_path / "storage")})
    child = _wait("the step's child running", lambda: next(
        (r for r in _runs_tagged(f"labflows.parent:{run.id}", "step:remote") if r.state and r.state.is_running()),
        None), pools)
    _wait("the parent suspended", lambda: _state_name(run.id) == "Suspended", pools)
    return run, child, f"s-{tag}"


def test_a_deployed_parent_suspends_while_its_step_runs_elsewhere_and_frees_its_worker_slot(pools, tmp_path):
    run, child, name = _suspending_parent(pools, tmp_path)
    (tmp_path / "quick.yaml").write_text(textwrap.dedent(QUICK))
    with get_client(sync_client=True) as client:  # the parent's worker (--limit 1) takes another run meanwhile
        other = client.create_flow_run_from_deployment(_deploy(client, run_workflow, f"quick-{name}", pools.a),
                                                        parameters={"workflow": str(tmp_path / "quick.yaml"),
                                                                    "job": {"name": name},
                                                                    "storage": str(tmp_path / "storage")})
    assert _final(other.id, pools).state.is_completed()
    assert _state_name(child.id) == "Running" and _state_name(run.id) == "Suspended"  # still waiting
    _wait("the child's link task run Running", lambda: _link_state(child) == "Running", pools, 60)

    (tmp_path / "GO").touch()
    final = _final(run.id, pools)
    assert final.state.is_completed(), f"{final.state.message}\n{pools.tail()}"
    repo = tmp_path / f"storage/runs/suspend/{name}"
    assert (repo / "after.txt").read_text() == "remote on b\n"
    assert (repo / "before.txt").read_text() == f"before {name}\n"
    assert (tmp_path / "before-runs.txt").read_text() == "ran\n"  # the resumed parent did not run it again
    assert sorted(p.name for p in (repo / "_control_").glob("*.complete")) == \
        ["after.complete", "before.complete", "remote.complete"]
    assert [r.id for r in _runs_tagged(f"labflows.parent:{run.id}")] == [child.id]  # the same child, found again
    assert _link_state(child) == "Completed"
    names = _state_names(run.id)
    resumed = names[names.index("Suspended"):]  # suspended once, then scheduled and run again to the end
    assert resumed[:2] == ["Suspended", "Resuming"] and "Running" in resumed and resumed[-1] == "Completed", names
    assert names.count("Suspended") == 1, names


def test_a_failing_step_fails_its_suspended_parent_with_the_steps_one_line_reason(pools, tmp_path):
    run, child, _ = _suspending_parent(pools, tmp_path, exit_code="3")
    (tmp_path / "GO").touch()
    final = _final(run.id, pools)
    assert final.state.is_failed(), f"{final.state.message}\n{pools.tail()}"
    message = final.state.message or ""
    assert f"step remote: flow run {child.name} on work pool {pools.b} ended Failed" in message, message
    assert "\n" not in message
    assert (tmp_path / "before-runs.txt").read_text() == "ran\n"
    assert _link_state(child) == "Failed"
