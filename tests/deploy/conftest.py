"""Fixtures for the deployment tests: a run-workflow deployment on the session's Prefect server,
launcher folders with job files, and a moto S3 server over HTTP."""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.sorting import FlowRunSort

from blocks.local import LocalRepository
from tasks.launcher.router import LauncherSetup, normalize_prefix

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = "run-workflow/launcher-tests"


@pytest.fixture(scope="session")
def workflow_deployment(prefect_harness) -> str:
    """A ``run-workflow`` deployment (no work pool: its runs stay scheduled) on the session server."""
    from flows.workflow import run_workflow

    run_workflow.to_deployment(name=DEPLOYMENT.split("/")[1]).apply()
    return DEPLOYMENT


def flow_runs_of(deployment: str) -> list[Any]:
    """Every flow run of a deployment, read through the Prefect API."""

    async def read() -> list[Any]:
        async with get_client() as client:
            dep = await client.read_deployment_by_name(deployment)
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)

    return asyncio.run(read())


def delete_flow_runs_of(deployment: str) -> None:
    """Remove a deployment's flow runs (each launcher test starts from none)."""

    async def delete() -> None:
        async with get_client() as client:
            dep = await client.read_deployment_by_name(deployment)
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)
            for run in runs:
                await client.delete_flow_run(run.id)

    asyncio.run(delete())


@pytest.fixture
def launch_dir(tmp_path: Path, workflow_deployment: str) -> Path:
    """An empty launcher folder, a ``workflows/echo.yaml`` workflow, and no runs of the deployment."""
    delete_flow_runs_of(workflow_deployment)
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "echo.yaml").write_text(textwrap.dedent("""\
        Repository: s3://runs/echo/${job.id}
        Steps:
          - say:
              commands: ['echo ${job.id} > said.txt']
              outputs: {said: said.txt}
        """))
    launch = tmp_path / "launch"
    launch.mkdir()
    return launch


@pytest.fixture
def make_setup(tmp_path: Path, launch_dir: Path, workflow_deployment: str) -> Callable[..., LauncherSetup]:
    """``make_setup(**changes)``: a fresh launcher set-up on ``launch_dir`` (own repository objects)."""

    def make(**changes: Any) -> LauncherSetup:
        storage = str(tmp_path / "storage")
        fields: dict[str, Any] = dict(
            launcher_repo=LocalRepository(root=storage), prefix=normalize_prefix(str(launch_dir)),
            run_repo=LocalRepository(root=storage), deployment=workflow_deployment,
            workflows_dir=str(tmp_path / "workflows"), run_parameters={"storage": storage},
            launcher_run_id="test")
        fields.update(changes)
        return LauncherSetup(**fields)

    return make


@pytest.fixture
def drop_job(launch_dir: Path) -> Callable[[str, str], Path]:
    """``drop_job(rel, text)``: write a job file at ``<launch_dir>/<rel>``."""

    def drop(rel: str, text: str) -> Path:
        path = launch_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return drop


@pytest.fixture
def runs_of() -> Callable[[str], list[Any]]:
    """``runs_of(deployment)``: the deployment's flow runs, read through the API."""
    return flow_runs_of


# ---- S3 over HTTP (moto) ---------------------------------------------------------------------------
@pytest.fixture
def versioned_bucket(moto_endpoint: str) -> str:
    """A fresh bucket with versioning switched on."""
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    name = f"launch-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def s3_repo(moto_endpoint: str) -> Any:
    """An :class:`~blocks.s3.S3Repository` talking to the moto server."""
    from prefect_aws import AwsCredentials
    from prefect_aws.client_parameters import AwsClientParameters

    from blocks.s3 import S3Repository

    return S3Repository(credentials=AwsCredentials(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=moto_endpoint)))
