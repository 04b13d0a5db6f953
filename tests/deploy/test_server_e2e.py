"""End to end through a real Prefect server: ``prefect server start``, the ``labflows`` process pool,
``prefect deploy`` from ``prefect.yaml``, a worker, ``prefect deployment run`` and the launcher.

Everything runs as separate processes, as on a lab server; every process started here is stopped
at the end (also when a test fails): SIGINT to its process group, a wait, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter, DeploymentFilter, DeploymentFilterName, FlowRunFilter, FlowRunFilterId,
    FlowRunFilterTags, TaskRunFilter,
)
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort
from prefect.settings import PREFECT_API_URL, temporary_settings

ROOT = Path(__file__).resolve().parents[2]
POOL = "labflows"
PREFECT = [sys.executable, "-m", "prefect"]

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]


@dataclass
class Stack:
    """A running server with the pool, the deployments and a worker."""

    url: str
    env: dict[str, str]
    logs: Path

    def cli(self, *args: str, timeout: float = 90) -> str:
        """Run a ``prefect`` command against the server from the checkout; its output."""
        result = subprocess.run([*PREFECT, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen, grace_s: float = 15) -> None:
    """SIGINT to the process group, wait, then SIGKILL (a worker ignores one SIGTERM)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _start(stack_env: dict[str, str], logs: Path, name: str, *args: str) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "wb")
    return subprocess.Popen([*PREFECT, *args], cwd=ROOT, env=stack_env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """Server, pool, deployments from prefect.yaml and a worker; all stopped at the end."""
    base = tmp_path_factory.mktemp("e2e")
    logs = base / "logs"
    logs.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(base / "prefect-home"),  # its own SQLite database
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        # runs are started by the test, not by schedules (the launcher deployment has one)
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
        "LABFLOWS_SCRATCH": str(base / "scratch"),  # workspaces outside the checkout
        "LABFLOWS_HOME": str(base / "labflows-home"),
    })
    with contextlib.ExitStack() as cleanup:
        server = _start(env, logs, "server", "server", "start", "--host", "127.0.0.1", "--port", str(port))
        cleanup.callback(_stop, server)
        deadline = time.monotonic() + 90
        while not _healthy(url):
            assert server.poll() is None, (logs / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "prefect server did not answer within 90 s"
            time.sleep(0.3)
        stack = Stack(url, env, logs)
        stack.cli("work-pool", "create", POOL, "--type", "process")
        stack.cli("--no-prompt", "deploy", "--name", "run-workflow", "--name", "launcher", "--name", "run-app",
                  timeout=120)
        worker = _start(env, logs, "worker", "worker", "start", "--pool", POOL, "--limit", "4")
        cleanup.callback(_stop, worker)
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


def _launched_runs(client) -> list[Any]:
    return client.read_flow_runs(
        flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["launcher"])),
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["run-workflow"])),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=50, offset=0)


@pytest.mark.parametrize("name", ["run-workflow/run-workflow", "run-app/run-app", "launcher/launcher"])
def test_deployments_work_in_the_checkout_with_a_described_form(stack, name):
    deployment = stack.api(lambda c: c.read_deployment_by_name(name))
    assert deployment.work_pool_name == POOL
    assert deployment.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    props = deployment.parameter_openapi_schema["properties"]
    assert props and all(p.get("description") for p in props.values()), props


def test_deployed_run_workflow_completes_with_outputs_and_artifacts(stack, tmp_path):

    storage = _storage(tmp_path)
    out = stack.cli("deployment", "run", "run-workflow/run-workflow",
                    "--param", "workflow=examples/qc/workflow.yaml", "--param", "job_file=examples/qc/job.json",
                    "--param", f"storage={storage}")
    flow_run_id = UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))
    run = stack.wait_final(flow_run_id)
    assert run.state.is_completed(), f"{run.state}\n{stack.tail('worker.log')}"
    assert run.name == "qc:job"
    assert {"labflows", "workflow:qc"} <= set(run.tags)

    results = storage / "labflows-examples/runs/qc/S1"
    assert json.loads((results / "stats.json").read_text()) == {"read_count": 100, "adapters": 2}
    assert (results / "report.txt").read_text() == "sample S1\nlines 400\n"

    artifacts = {a.key: a for a in stack.api(_artifacts, flow_run_id)}
    assert {"qc-make-reads", "qc-count", "qc-report"} <= set(artifacts)
    assert "| stats | s3://labflows-examples/runs/qc/S1/stats.json |" in artifacts["qc-count"].data
    assert "| exit code | 0 |" in artifacts["qc-report"].data


def test_launcher_starts_one_run_per_job_file_and_a_second_pass_none(stack, tmp_path):
    deployment = stack.api(lambda c: c.read_deployment_by_name("launcher/launcher"))
    assert [(s.schedule.interval.total_seconds(), s.active) for s in deployment.schedules] == [(60.0, True)]

    storage = _storage(tmp_path)
    launch = tmp_path / "launch"
    (launch / "qc").mkdir(parents=True)
    (launch / "qc" / "lane 1.json").write_text('{"sample": "LA", "reads": 20}')
    (launch / "qc" / "lane-2.yaml").write_text("sample: LB\nreads: 30\n")
    params = {"prefix": str(launch), "workflows_dir": "examples", "storage": str(storage)}

    def launch_once() -> Any:
        run = stack.api(lambda c: c.create_flow_run_from_deployment(deployment.id, parameters=params))
        final = stack.wait_final(run.id)
        assert final.state.is_completed(), f"{final.state}\n{stack.tail('worker.log')}"
        return final

    launch_once()
    launched = stack.api(_launched_runs)
    assert len(launched) == 2
    assert sorted(r.name.rsplit("_", 1)[0] for r in launched) == ["lane-1", "lane-2"]
    assert all(re.fullmatch(r"lane-[12]_[0-9a-f]{8}", r.name) for r in launched)

    launch_once()
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
