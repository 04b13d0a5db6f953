"""End to end through a real Prefect server: ``prefect server start`` with its scheduler on (as by
default), the ``labflows`` process pool, ``prefect deploy`` from ``prefect.yaml`` in a fresh copy of
the checkout, a worker, ``prefect deployment run``, schedules, the launcher and subpipe deployments.

Everything runs as separate processes, as on a lab server; every process started here is stopped
at the end (also when a test fails): SIGINT to its process group, a wait, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey, DeploymentFilter, DeploymentFilterId, DeploymentFilterName,
    FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterId, FlowRunFilterTags, TaskRunFilter,
)
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.support.checkout import fresh_checkout
from tests.support.forms import nullable_fields
from tests.support.ports import free_port
from tests.support.processes import stop_group, stop_groups

ROOT = Path(__file__).resolve().parents[2]
POOL = "labflows"
STEP_POOL = "labflows-steps"  # prefect.yaml's run-step deployment (docs/scale.md)
PREFECT = [sys.executable, "-m", "prefect"]
LABFLOWS = [sys.executable, "-m", "flows.run"]  # the installed `labflows` script, from the copy's code
# docs/deploy.md, "The launcher": the watcher next to the worker
WATCH = ["launch", ".labflows/launcher", "--watch", "--workflow", "hello=examples/hello/workflow.yaml",
         "--storage", ".labflows/storage"]

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]


@dataclass
class Stack:
    """A running server with the pool, the deployments and a worker."""

    url: str
    env: dict[str, str]
    logs: Path
    checkout: Path  # the fresh copy of the checkout the deployments and the worker run in

    def cli(self, *args: str, timeout: float = 150) -> str:
        """Run a ``prefect`` command against the server from the checkout; its output."""
        result = subprocess.run([*PREFECT, *args], cwd=self.checkout, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def api(self, coro_fn, *args: Any) -> Any:
        """Run ``coro_fn(client, *args)`` with a client of this server."""

        async def call():
            async with get_client() as client:
                return await coro_fn(client, *args)

        with temporary_settings(updates={PREFECT_API_URL: self.url}):
            return asyncio.run(call())

    def wait_final(self, flow_run_id: UUID, timeout: float = 120) -> Any:
        """The flow run once it reached a final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.api(lambda c, i: c.read_flow_run(i), flow_run_id)
            if run.state and run.state.is_final():
                return run
            time.sleep(0.5)
        raise AssertionError(f"flow run {flow_run_id} not finished after {timeout:.0f} s "
                             f"(state {run.state_name}); worker log:\n{self.tail('worker.log')}")

    def tail(self, name: str, chars: int = 4000) -> str:
        """The end of a process log."""
        path = self.logs / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _start(stack_env: dict[str, str], logs: Path, cwd: Path, name: str, *args: str,
           program: list[str] = PREFECT) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "wb")
    return subprocess.Popen([*program, *args], cwd=cwd, env=stack_env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


# Dropped into the fresh checkout's launcher folder before deploying: the watcher started as
# docs/deploy.md shows must pick them up by itself (one run for hello, a rejection for nosuch).
LAUNCHER_DROPS = {"hello/first.json": '{"SAMPLE_ID": "dropped-1"}', "nosuch/job.json": '{"id": 1}'}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """Server, pool, deployments from prefect.yaml and a worker; all stopped at the end."""
    base = tmp_path_factory.mktemp("e2e")
    logs = base / "logs"
    logs.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    checkout = fresh_checkout(base / "checkout")
    # a fresh clone gets its .venv from `make`; the B-Fabric example app runs its scripts from there
    (checkout / ".venv").symlink_to(Path(sys.executable).parents[1])
    for rel, text in LAUNCHER_DROPS.items():
        (checkout / ".labflows/launcher" / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / ".labflows/launcher" / rel).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PYTHONPATH": str(checkout),  # the copy's code, not an editable install's
        "PREFECT_HOME": str(base / "prefect-home"),  # its own SQLite database and profile
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        # the scheduler stays on (as shipped); its passes come every 5 s instead of 60 s
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
        "LABFLOWS_SCRATCH": str(base / "scratch"),  # workspaces outside the checkout
        "LABFLOWS_HOME": str(base / "labflows-home"),
    })
    with contextlib.ExitStack() as cleanup:
        # docs/deploy.md step 1 (on loopback and a free port instead of 0.0.0.0:4200)
        server = _start(env, logs, checkout, "server", "server", "start", "--host", "127.0.0.1", "--port", str(port))
        cleanup.callback(stop_group, server)
        deadline = time.monotonic() + 90
        while not _healthy(url):
            assert server.poll() is None, (logs / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "prefect server did not answer within 90 s"
            time.sleep(0.3)
        stack = Stack(url, env, logs, checkout)
        stack.cli("config", "set", f"PREFECT_API_URL={url}")  # every later command finds the server by it
        # docs/deploy.md step 2: the pool of the flows, and the step runner's own pool (run-step)
        stack.cli("work-pool", "create", POOL, "--type", "process")
        stack.cli("work-pool", "create", STEP_POOL, "--type", "process")
        # the server's clients stop side by side (the slower one is waited for, not the sum), the server last
        clients: list[subprocess.Popen] = []
        cleanup.callback(stop_groups, clients)
        # docs/deploy.md step 4: the worker asks for runs every 2 s
        clients.append(_start({**env, "PREFECT_WORKER_QUERY_SECONDS": "2"}, logs, checkout, "worker",
                              "worker", "start", "--pool", POOL, "--limit", "4"))  # first: it boots while deploy runs
        stack.cli("--no-prompt", "deploy", "--all", timeout=120)
        clients.append(_start(env, logs, checkout, "watcher", *WATCH, program=LABFLOWS))
        yield stack


def _storage(tmp_path: Path) -> Path:
    """A storage folder holding the qc example's reference."""
    storage = tmp_path / "storage"
    ref = storage / "labflows-examples/refs/adapters.fa"
    ref.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "examples/qc/storage/labflows-examples/refs/adapters.fa", ref)
    return storage


def _artifacts(client, flow_run_id: UUID) -> list[Any]:
    return client.read_artifacts(
        artifact_filter=ArtifactFilter(), task_run_filter=TaskRunFilter(),
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        sort=ArtifactSort.CREATED_DESC, limit=50, offset=0)


def _launched_runs(client, workflow: str = "qc") -> list[Any]:
    return client.read_flow_runs(
        flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["launcher", f"workflow:{workflow}"])),
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["run-workflow"])),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=50, offset=0)


@pytest.mark.parametrize("name", ["run-workflow/run-workflow", "run-app/run-app", "launcher/launcher"])
def test_deployments_work_in_the_checkout_with_a_described_form(stack, name):
    deployment = stack.api(lambda c: c.read_deployment_by_name(name))
    assert deployment.work_pool_name == POOL
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(stack.checkout)}}]
    # the worker starts the engine itself with the deploying Python (no workspace supervisor process)
    assert deployment.job_variables == {"command": shlex.join([sys.executable, "-m", "prefect.engine"])}
    props = deployment.parameter_openapi_schema["properties"]
    assert props and all(p.get("description") for p in props.values()), props
    assert nullable_fields(deployment.parameter_openapi_schema) == []  # no "str | None" toggles in the form


def test_deployed_run_workflow_completes_with_outputs_and_artifacts(stack, tmp_path):

    storage = _storage(tmp_path)
    out = stack.cli("deployment", "run", "run-workflow/run-workflow", "--flow-run-name", "plate7",
                    "--param", "workflow=examples/qc/workflow.yaml", "--param", "job_file=examples/qc/job.json",
                    "--param", f"storage={storage}")
    flow_run_id = UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))
    assert "'plate7'" in out  # the name is known when the run is created, not a placeholder
    run = stack.wait_final(flow_run_id)
    assert run.state.is_completed(), f"{run.state}\n{stack.tail('worker.log')}"
    assert run.name == "plate7"  # kept by the flow when it starts (without a name: `qc:job`)
    assert {"labflows", "workflow:qc"} <= set(run.tags)

    results = storage / "labflows-examples/runs/qc/S1"
    assert json.loads((results / "stats.json").read_text()) == {"read_count": 100, "adapters": 2}
    assert (results / "report.txt").read_text() == "sample S1\nlines 400\n"

    artifacts = {a.key: a for a in stack.api(_artifacts, flow_run_id)}
    assert {"qc-make-reads", "qc-count", "qc-report"} <= set(artifacts)
    assert "| stats | s3://labflows-examples/runs/qc/S1/stats.json |" in artifacts["qc-count"].data
    assert "| exit code | 0 |" in artifacts["qc-report"].data
    summary = stack.api(lambda c: c.read_artifacts(artifact_filter=ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=["qc-summary"]))))
    assert [a.type for a in summary] == ["markdown"] and "| steps | 3 done |" in summary[0].data


def test_deployed_run_app_gets_its_b_fabric_credentials_from_a_saved_block(stack, tmp_path):
    """docs/deploy.md, "A B-Fabric app": the stand-in, a BfabricCredentials block, prefect deployment run."""
    with open(stack.logs / "standin.log", "wb") as log:
        standin = subprocess.Popen([*LABFLOWS, "bfabric-standin", "--seed", "examples/bfabric/seed.yaml", "--port", "0"],
                                   cwd=stack.checkout, env=stack.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        printed = _wait_for(stack, "the stand-in's address", lambda: re.search(
            r"^export BFABRICPY_CONFIG_OVERRIDE='(.*)'$", (stack.logs / "standin.log").read_text(), re.M), 60)
        config = json.loads(printed.group(1))
        url, auth = config["client"]["base_url"], config["auth"]
        save = (f"from blocks import BfabricCredentials; BfabricCredentials(base_url={url!r}, "
                f"login={auth['login']!r}, password={auth['password']!r}).save('lab-bfabric', overwrite=True)")
        subprocess.run([sys.executable, "-c", save], cwd=stack.checkout, env=stack.env, check=True, timeout=60)
        out = stack.cli("deployment", "run", "run-app/run-app", "--flow-run-name", "workunit-1",
                        "--param", "app_yml=examples/bfabric/app/app.yml", "--param", f"work_dir={tmp_path / 'WU1'}",
                        "--param", "workunit_ref=1", "--param", "credentials_block=lab-bfabric")
        run = stack.wait_final(UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)), timeout=150)
    finally:
        stop_group(standin)
    assert run.state.is_completed(), f"{run.state}\n{stack.tail('worker.log')}"
    assert run.name == "workunit-1" and "workunit:1" in run.tags
    summary = stack.api(lambda c: c.read_artifacts(artifact_filter=ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]), key=ArtifactFilterKey(any_=["workunit-1-summary"]))))
    assert "| chunks | 4 (4 done) |" in summary[0].data


# ---- more deployments like the shipped ones ---------------------------------------------------------
@contextlib.contextmanager
def _deployment_variant(stack: Stack, name: str, parameters: dict[str, Any], *,
                        like: str = "run-workflow/run-workflow", **changes: Any) -> Iterator[UUID]:
    """A deployment ``<flow>/<name>`` like the shipped ``like`` (no schedule, no concurrency limit)
    with other defaults; deleted at the end (with the runs it still has scheduled)."""
    base = stack.api(lambda c: c.read_deployment_by_name(like))
    deployment_id = stack.api(lambda c: c.create_deployment(
        flow_id=base.flow_id, name=name, entrypoint=base.entrypoint, path=base.path, work_pool_name=POOL,
        pull_steps=base.pull_steps, parameter_openapi_schema=base.parameter_openapi_schema,
        parameters=parameters, tags=["labflows"], **changes))
    try:
        yield deployment_id
    finally:
        stack.api(lambda c: c.delete_deployment(deployment_id))


def _runs_of(client, deployment_id: UUID) -> list[Any]:
    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                                 sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200, offset=0)


def test_launcher_starts_one_run_per_job_file_and_a_second_pass_none(stack, tmp_path):
    deployment = stack.api(lambda c: c.read_deployment_by_name("launcher/launcher"))
    assert [(s.schedule.interval.total_seconds(), s.active) for s in deployment.schedules] == [(3600.0, False)]

    storage = _storage(tmp_path)
    launch = tmp_path / "launch"
    (launch / "qc").mkdir(parents=True)
    (launch / "qc" / "lane 1.json").write_text('{"sample": "LA", "reads": 20}')
    (launch / "qc" / "lane-2.yaml").write_text("sample: LB\nreads: 30\n")
    params = {"prefix": str(launch), "workflows_dir": "examples", "storage": str(storage)}

    def launch_once(deployment_id: UUID) -> Any:
        run = stack.api(lambda c: c.create_flow_run_from_deployment(deployment_id, parameters=params))
        final = stack.wait_final(run.id)
        assert final.state.is_completed(), f"{final.state}\n{stack.tail('worker.log')}"
        return final

    # an unscheduled copy with these parameters (the shipped one keeps its own)
    with _deployment_variant(stack, "manual-passes", params, like="launcher/launcher") as deployment_id:
        launch_once(deployment_id)
        launched = stack.api(_launched_runs)
        assert len(launched) == 2
        assert sorted(r.name.rsplit("_", 1)[0] for r in launched) == ["lane-1", "lane-2"]
        assert all(re.fullmatch(r"lane-[12]_[0-9a-f]{8}", r.name) for r in launched)

        launch_once(deployment_id)
        assert sorted(r.id for r in stack.api(_launched_runs)) == sorted(r.id for r in launched)

    for run in launched:
        final = stack.wait_final(run.id)
        assert final.state.is_completed(), f"{final.name}: {final.state}\n{stack.tail('worker.log')}"
        assert final.name == run.name  # the launcher's name survives the flow's own naming
        assert "workflow:qc" in final.tags
    assert (storage / "labflows-examples/runs/qc/LA/report.txt").read_text() == "sample LA\nlines 80\n"
    assert (storage / "labflows-examples/runs/qc/LB/report.txt").read_text() == "sample LB\nlines 120\n"
    assert (storage / "labflows-examples/runs/qc/LB/lane-2.yaml").exists()  # job file copied in
    records = [p for p in (launch / "_launcher_" / "launched").rglob("*.json") if p.is_file()]
    assert len(records) == 2


def _hello_params(storage: Path) -> dict[str, Any]:
    return {"workflow": "examples/hello/workflow.yaml", "job_file": "examples/hello/job.json",
            "storage": str(storage)}


def test_a_short_interval_schedule_fires_and_a_worker_completes_its_runs(stack, tmp_path):
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import IntervalSchedule

    schedule = DeploymentScheduleCreate(schedule=IntervalSchedule(interval=timedelta(seconds=15)),
                                        max_scheduled_runs=2)
    with _deployment_variant(stack, "every-15s", _hello_params(tmp_path / "storage"),
                             schedules=[schedule]) as deployment_id:
        deadline = time.monotonic() + 120  # well inside the test's timeout, so the logs get shown
        while time.monotonic() < deadline:  # nothing but the server's scheduler creates these runs
            runs = stack.api(_runs_of, deployment_id)
            if any(r.state and r.state.is_final() for r in runs):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"no scheduled run finished; runs {[(r.name, r.state_name) for r in runs]}\n"
                                 f"{stack.tail('server.log')}\n{stack.tail('worker.log')}")
    finished = [r for r in runs if r.state.is_final()]
    assert all(r.state.is_completed() for r in finished), [(r.name, r.state) for r in finished]
    assert all(r.auto_scheduled and r.idempotency_key.startswith("scheduled ") for r in runs)
    assert (tmp_path / "storage/example-bucket/hello-world/sample-001/hello.txt").read_text() == \
        "Hello world! This is job sample-001!\n"


def _wait_for(stack: Stack, what: str, probe, timeout: float) -> Any:
    """``probe()`` once it returns something truthy; fails after ``timeout`` seconds with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what}: not seen within {timeout:.0f} s\n{stack.tail('worker.log')}")


def _rejected_events(client) -> list[dict]:
    async def read() -> list[dict]:
        resp = await client._client.post("/events/filter", json={
            "filter": {"event": {"name": ["labflows.job.rejected"]}}, "limit": 50})
        resp.raise_for_status()
        return resp.json()["events"]

    return read()


def _watcher_runs(client) -> list[Any]:
    """The launcher flow runs the watcher started (in its own process, not through the deployment)."""
    return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["launcher"])),
                                 flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(is_null_=True)),
                                 sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=50, offset=0)


def test_the_watcher_launches_dropped_jobs_and_reports_rejections(stack):
    """LAUNCHER_DROPS were dropped into the fresh checkout before deploying; only the watcher acts."""
    launcher = stack.api(lambda c: c.read_deployment_by_name("launcher/launcher"))
    launch = stack.checkout / ".labflows/launcher"

    def rejecting_run() -> Any:
        runs = stack.api(_watcher_runs)
        return next((r for r in runs if r.state.is_completed() and "rejected" in (r.state.message or "")), None)

    run = _wait_for(stack, "a launcher run of the watcher that rejected nosuch/job.json", rejecting_run, 120)
    assert "no workflow named 'nosuch'" in run.state.message and "\n" not in run.state.message
    assert (stack.checkout / "workflows").is_dir()  # created on first use: a fresh clone has none
    moved = launch / "_launcher_/rejected/nosuch/job.json"
    assert moved.read_text() == LAUNCHER_DROPS["nosuch/job.json"]
    assert "no workflow named 'nosuch'" in Path(f"{moved}.error.txt").read_text()

    artifacts = stack.api(lambda c: c.read_artifacts(artifact_filter=ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]), key=ArtifactFilterKey(any_=["launcher-rejected"]))))
    assert [a.type for a in artifacts] == ["markdown"]
    assert f"| {launch}/nosuch/job.json | " in artifacts[0].data

    events = _wait_for(stack, "the labflows.job.rejected event", lambda: stack.api(_rejected_events), 30)
    assert [e["payload"]["file"] for e in events] == [f"{launch}/nosuch/job.json"]
    assert "no workflow named 'nosuch'" in events[0]["payload"]["reason"]
    assert events[0]["payload"]["moved_to"] == f"{launch}/_launcher_/rejected/nosuch/job.json"
    assert any(r["prefect.resource.id"] == f"prefect.flow-run.{run.id}" for r in events[0]["related"])

    launched = stack.api(_launched_runs, "hello")
    assert [r.name.rsplit("_", 1)[0] for r in launched] == ["first"]
    final = stack.wait_final(launched[0].id)
    assert final.state.is_completed(), f"{final.state}\n{stack.tail('worker.log')}"
    assert (stack.checkout / ".labflows/storage/example-bucket/hello-world/dropped-1/hello.txt").read_text() == \
        "Hello world! This is job dropped-1!\n"

    # a file dropped while the watcher runs: one more run (the 60 s are a hang guard, the default pass is 10 s)
    (launch / "hello/second.json").write_text('{"SAMPLE_ID": "dropped-2"}')
    _wait_for(stack, "a run for hello/second.json", lambda: len(stack.api(_launched_runs, "hello")) == 2, 60)
    assert sorted(r.name.rsplit("_", 1)[0] for r in stack.api(_launched_runs, "hello")) == ["first", "second"]
    # no empty runs: one launcher run per pass that found files, none through the deployment
    assert len(stack.api(_watcher_runs)) <= 3 and stack.api(_runs_of, launcher.id) == []


SUBPIPE_PARENT = """
Repository: s3://e2e/parent/${{job.id}}
Steps:
  - sub:
      subpipe: deployment:{target}
      retrieve: [result.txt -> copied.txt]
"""
SUBPIPE_CHILD = """
Repository: s3://elsewhere/child/${job.name}
Steps:
  - work:
      commands: ['echo "child ${job.name}" > result.txt']
      outputs: {result: result.txt}
"""


def test_subpipe_deployments_get_their_own_job_data_and_a_misconfigured_target_one_line(stack, tmp_path):
    (tmp_path / "child.yaml").write_text(SUBPIPE_CHILD)
    (tmp_path / "default-job.json").write_text('{"name": "DEFAULT"}')
    targets = {"good": "run-workflow/e2e-child", "bad": "run-workflow/run-workflow"}  # the latter: no workflow
    for name, target in targets.items():
        (tmp_path / f"{name}.yaml").write_text(SUBPIPE_PARENT.format(target=target))
    storage = tmp_path / "storage"
    child_defaults = {"workflow": str(tmp_path / "child.yaml"), "job_file": str(tmp_path / "default-job.json"),
                      "storage": str(tmp_path / "elsewhere")}
    with _deployment_variant(stack, "e2e-child", child_defaults) as child_id:
        shipped = stack.api(lambda c: c.read_deployment_by_name("run-workflow/run-workflow"))
        started = {name: stack.api(lambda c, n=name: c.create_flow_run_from_deployment(shipped.id, parameters={
            "workflow": f"{tmp_path / n}.yaml", "job": {"id": n, "name": f"parent-{n}"}, "storage": str(storage)})).id
            for name in targets}  # both parents at once
        bad, good = stack.wait_final(started["bad"]), stack.wait_final(started["good"], timeout=180)
        children = stack.api(_runs_of, child_id)

    assert bad.state.is_failed()
    message = bad.state.message
    assert "deployment run-workflow/run-workflow has no value for the required parameter(s) 'workflow'" in message
    assert "409" not in message and "\n" not in message

    assert good.state.is_completed(), f"{good.state}\n{stack.tail('worker.log')}"
    sub = storage / "e2e/parent/good/sub"
    assert (sub / "result.txt").read_text() == "child parent-good\n"
    assert json.loads((sub / "_JOB_DATA_").read_text())["job"] == {"id": "good", "name": "parent-good"}
    assert not (sub / "default-job.json").exists()  # the deployment's default job file stays out
    assert (storage / "e2e/parent/good/copied.txt").read_text() == "child parent-good\n"
    assert not (tmp_path / "elsewhere").exists()
    # named at creation <parent>/<Step>, the name it kept once it ran; "" is "no job file"
    assert [(c.name, c.parameters["job_file"], c.state.is_completed()) for c in children] == \
        [(f"{good.name}/sub", "", True)]
