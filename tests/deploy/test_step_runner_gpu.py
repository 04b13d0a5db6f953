"""``compute.gpu`` of a step on a work pool becomes that pool's job variables: pools of the Docker,
ECS and Kubernetes kinds created on the session's Prefect server with base job templates that
declare the variables, a ``run-step`` child started as the parent starts it, and the child run's
``job_variables`` read back from the server (which validates them against the pool's template).
Each worker type's own job configuration then renders them into what it hands its engine.
No worker runs: the runs are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import copy
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.utilities.templating import apply_values

from flows.step import run_step
from specs.workflow.model import load_workflow
from tasks.bclaw.step_runner import job_variables, step_deployment
from tasks.runtime.child_runs import ChildSpec, start_child

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

WORKFLOW = """
Repository: s3://b/r
Steps:
  - two: {commands: ['true'], compute: {cpus: 2, memory: 4 Gb, gpu: 2}}
  - every: {commands: ['true'], compute: {gpu: all}}
  - none: {commands: ['true'], compute: {cpus: 1, memory: 1 Gb}}
"""


def _docker_template() -> dict[str, Any]:
    from prefect_docker.worker import DockerWorker

    return DockerWorker.get_default_base_job_template()


def _ecs_template() -> dict[str, Any]:
    """prefect-aws' ECS template with a ``gpu`` variable in the container's resourceRequirements
    (docs/scale.md)."""
    from prefect_aws.workers.ecs_worker import ECSWorker

    template = copy.deepcopy(ECSWorker.get_default_base_job_template())
    template["variables"]["properties"]["gpu"] = {"type": "string", "title": "GPUs"}
    container = template["job_configuration"]["task_definition"]["containerDefinitions"][0]
    container["resourceRequirements"] = [{"type": "GPU", "value": "{{ gpu }}"}]
    return template


def _kubernetes_template() -> dict[str, Any]:
    """The job template docs/scale.md tells Kubernetes pools to use (prefect-kubernetes is not
    installed here: its variables and manifest, cut down to the container's resources)."""
    resources = {"requests": {"cpu": "{{ cpu_request }}", "memory": "{{ memory_request }}"},
                 "limits": {"nvidia.com/gpu": "{{ gpu_limit }}"}}
    return {
        "variables": {"type": "object", "properties": {
            "image": {"type": "string"}, "cpu_request": {"type": "string"},
            "memory_request": {"type": "string"}, "gpu_limit": {"type": "string"}}},
        "job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {
            "spec": {"containers": [{"name": "prefect-job", "image": "{{ image }}", "resources": resources}]}}}}},
    }


@pytest.fixture(scope="module")
def gpu_pools(prefect_harness) -> dict[str, str]:
    """Pools ``docker``, ``ecs`` and ``kubernetes`` (by kind -> pool name) and a base deployment of
    ``run-step`` whose job variables already pass one docker-py keyword."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.utilities.callables import parameter_schema

    tag = uuid.uuid4().hex[:6]
    templates = {"docker": _docker_template(), "ecs": _ecs_template(), "kubernetes": _kubernetes_template()}
    names = {kind: f"gpu-{kind}-{tag}" for kind in templates}
    base_pool = f"gpu-base-{tag}"
    with get_client(sync_client=True) as client:
        for kind, template in templates.items():
            client.create_work_pool(WorkPoolCreate(name=names[kind], type=kind, base_job_template=template))
        client.create_work_pool(WorkPoolCreate(name=base_pool, type="process"))
        client.create_deployment(
            flow_id=client.create_flow_from_name(run_step.name), name=f"gpu-{tag}",
            entrypoint="flows/step.py:run_step", path=str(ROOT), work_pool_name=base_pool,
            job_variables={"container_create_kwargs": {"shm_size": "1g"}},
            parameter_openapi_schema=parameter_schema(run_step).model_dump_for_openapi())
    names["base"] = f"run-step/gpu-{tag}"
    return names


@pytest.fixture(scope="module")
def steps(tmp_path_factory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("gpu") / "wf.yaml"
    path.write_text(textwrap.dedent(WORKFLOW))
    return {s.name: s for s in load_workflow(path).steps}


def _child_job_variables(pool: str, base: str, step: Any) -> dict[str, Any]:
    """Start the step's child as the parent does; its job variables as the server stored them."""
    deployment = step_deployment(pool, base)
    child = start_child(ChildSpec(deployment.name, {"workflow": "wf.yaml", "step": step.name,
                                                     "repository_uri": "s3://b/r"},
                                  job_variables=deployment.variables_for(step.compute)))
    with get_client(sync_client=True) as client:
        stored = client.read_flow_run(child.id).job_variables
        client.delete_flow_run(child.id)  # no worker would ever take it
    return stored


def test_docker_pools_get_a_gpu_device_request_next_to_the_deployments_own_create_kwargs(gpu_pools, steps):
    from docker.types import HostConfig
    from prefect_docker.worker import DockerWorkerJobConfiguration

    pool = gpu_pools["docker"]
    two = _child_job_variables(pool, gpu_pools["base"], steps["two"])
    assert two == {"mem_limit": "4096m", "container_create_kwargs": {
        "shm_size": "1g", "device_requests": [{"count": 2, "capabilities": [["gpu"]]}]}}
    every = _child_job_variables(pool, gpu_pools["base"], steps["every"])
    assert every["container_create_kwargs"]["device_requests"] == [{"count": -1, "capabilities": [["gpu"]]}]
    assert _child_job_variables(pool, gpu_pools["base"], steps["none"]) == {"mem_limit": "1024m"}

    config = asyncio.run(DockerWorkerJobConfiguration.from_template_and_values(_docker_template(), two))
    kwargs = config.container_create_kwargs
    host = HostConfig(version="1.41", device_requests=kwargs["device_requests"])  # what docker-py sends
    assert host["DeviceRequests"] == [{"Driver": "", "Count": 2, "DeviceIDs": [], "Capabilities": [["gpu"]],
                                       "Options": {}}]


def test_ecs_pools_get_a_gpu_resource_requirement_when_the_template_declares_gpu(gpu_pools, steps):
    pool = gpu_pools["ecs"]
    two = _child_job_variables(pool, gpu_pools["base"], steps["two"])
    assert two == {"cpu": 2048, "memory": 4096, "gpu": "2"}
    assert _child_job_variables(pool, gpu_pools["base"], steps["every"])["gpu"] == "1"  # a count: all is 1
    assert "gpu" not in _child_job_variables(pool, gpu_pools["base"], steps["none"])

    rendered = apply_values(_ecs_template()["job_configuration"]["task_definition"], two)
    assert rendered["containerDefinitions"][0]["resourceRequirements"] == [{"type": "GPU", "value": "2"}]
    assert (rendered["cpu"], rendered["memory"]) == (2048, 4096)


def test_kubernetes_pools_get_an_nvidia_gpu_limit_when_the_template_declares_gpu_limit(gpu_pools, steps):
    pool = gpu_pools["kubernetes"]
    two = _child_job_variables(pool, gpu_pools["base"], steps["two"])
    assert two == {"cpu_request": "2", "memory_request": "4096Mi", "gpu_limit": "2"}
    none = _child_job_variables(pool, gpu_pools["base"], steps["none"])
    assert "gpu_limit" not in none

    manifest = apply_values(_kubernetes_template()["job_configuration"]["job_manifest"], two)
    resources = manifest["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "2", "memory": "4096Mi"}, "limits": {"nvidia.com/gpu": "2"}}
    unset = apply_values(_kubernetes_template()["job_configuration"]["job_manifest"], none)
    assert "nvidia.com/gpu" not in unset["spec"]["template"]["spec"]["containers"][0]["resources"].get("limits", {})


def test_a_process_pool_declares_none_of_them(steps):
    assert job_variables(steps["two"].compute, {"env": {}, "working_dir": {}, "command": {}}) == {}
