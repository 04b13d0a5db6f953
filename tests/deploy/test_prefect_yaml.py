"""``prefect.yaml``, its commented Docker and ECS variants, the Dockerfile and the Python side of
deployments, checked the way ``prefect deploy`` reads them, without a server or a Docker engine."""

from __future__ import annotations

import importlib
import inspect
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.cli.deploy._models import DeploymentConfig, PrefectYamlModel
from prefect.flows import load_flow_from_entrypoint
from prefect.client.schemas.schedules import CronSchedule
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate

ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "prefect.yaml"
VARIANT = re.compile(r"^ *# >>> variant (\w+)\n(.*?)^ *# <<< variant \1$", re.M | re.S)


def _config() -> dict[str, Any]:
    return yaml.safe_load(PREFECT_YAML.read_text())


def _deployments() -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in _config()["deployments"]}


def _variants() -> dict[str, list[dict[str, Any]]]:
    """The commented-out deployments, uncommented as a user would (``# `` removed from each line)."""
    found = {}
    for name, body in VARIANT.findall(PREFECT_YAML.read_text()):
        text = "\n".join(re.sub(r"^( *)# ?", r"\1", line) for line in body.splitlines())
        found[name] = yaml.safe_load(text)
    return found


def _step(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A deployment step's function (imported as Prefect does) and its arguments."""
    (path, args), = spec.items()
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr), {k: v for k, v in (args or {}).items()
                                                            if k not in ("id", "requires")}


def test_prefect_itself_accepts_the_file_and_every_key_is_one_it_knows():
    model = PrefectYamlModel.model_validate(_config())
    assert [d.name for d in model.deployments][:3] == ["run-workflow", "run-app", "launcher"]
    for deployment in _config()["deployments"]:
        assert set(deployment) <= set(DeploymentConfig.model_fields), deployment["name"]


def test_every_deployment_goes_to_the_labflows_process_pool_and_works_in_the_checkout():
    config = _config()
    assert config["build"] == [{"deployments.steps.checkout": {"id": "checkout"}}]
    assert config["pull"] == [{"prefect.deployments.steps.set_working_directory":
                               {"directory": "{{ checkout.directory }}"}}]
    for name, deployment in _deployments().items():
        # run-step: steps of parents on "labflows" get their own pool (a waiting parent holds no slot they need)
        assert deployment["work_pool"]["name"] == ("labflows-steps" if name == "run-step" else "labflows"), name
        # the engine started directly, without Prefect's workspace supervisor process in front of it
        assert deployment["work_pool"]["job_variables"] == {"command": "{{ checkout.engine_command }}"}, name
        assert "pull" not in deployment and "build" not in deployment, name


def test_the_build_step_names_the_checkout_and_an_engine_command_of_this_python(tmp_path, monkeypatch):
    from deployments.steps import checkout

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", "/opt/my env/bin/python")  # a space survives the worker's split
    noted = checkout()
    assert noted["directory"] == str(tmp_path)
    assert shlex.split(noted["engine_command"]) == ["/opt/my env/bin/python", "-m", "prefect.engine"]


@pytest.mark.parametrize("name, flow_name", [("run-workflow", "run-workflow"), ("run-app", "run-app"),
                                             ("launcher", "launcher"), ("qc-nightly", "run-workflow"),
                                             ("run-step", "run-step")])
def test_entrypoints_load_and_parameters_have_descriptions_and_valid_values(name, flow_name):
    deployment = _deployments()[name]
    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    assert flow.name == flow_name
    schema = parameter_schema(flow).model_dump()
    undocumented = [p for p, spec in schema["properties"].items() if not spec.get("description")]
    assert undocumented == [], f"{name}: parameters without a description in the UI form: {undocumented}"
    # the preset values fit the form (required ones without a preset are asked for at run time)
    validate(deployment.get("parameters", {}), schema, raise_on_error=True, ignore_required=True)
    assert set(deployment.get("parameters", {})) <= set(schema["properties"])


def test_run_workflow_offers_the_executor_as_a_choice():
    from flows.workflow import run_workflow
    from tasks.runtime.executors import EXECUTORS

    executor = parameter_schema(run_workflow).model_dump()["properties"]["executor"]
    assert executor["enum"] == ["local", "docker", "podman"] and executor["type"] == "string"  # one choice field
    assert list(EXECUTORS) == ["local", "docker", "podman"]


def test_the_run_form_hides_the_internal_repository_uri_but_a_parent_can_still_pass_it():
    from flows.workflow import run_workflow

    schema = parameter_schema(run_workflow).model_dump()
    assert "repository_uri" not in schema["properties"]
    assert "repository_uri" in inspect.signature(run_workflow.fn).parameters
    validate({"workflow": "w.yaml", "repository_uri": "s3://b/parent/Step"}, schema, raise_on_error=True)


def test_schedules_launcher_hourly_sweep_and_nightly_example_paused():
    deployments = _deployments()
    # new files are launched by the watcher (labflows launch --watch): no run every minute
    assert deployments["launcher"]["schedules"] == [{"interval": 3600, "active": False}]
    nightly = deployments["qc-nightly"]["schedules"][0]
    assert CronSchedule(cron=nightly["cron"], timezone=nightly["timezone"]).cron == "0 2 * * *"
    assert nightly["active"] is False
    assert (ROOT / deployments["qc-nightly"]["parameters"]["workflow"]).is_file()


@pytest.mark.parametrize("variant, pool_type, worker", [
    ("docker", "docker", "prefect_docker.worker:DockerWorker"),
    ("ecs", "ecs", "prefect_aws.workers.ecs_worker:ECSWorker"),
])
def test_commented_variants_are_valid_when_uncommented(variant, pool_type, worker):
    (deployment,) = _variants()[variant]
    PrefectYamlModel.model_validate({"deployments": [deployment]})
    assert set(deployment) <= set(DeploymentConfig.model_fields)
    assert load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"])).name == "run-workflow"
    for section in ("build", "push", "pull"):
        for spec in deployment[section]:
            fn, args = _step(spec)
            inspect.signature(fn).bind(**args)  # the step accepts these arguments
    (pull,) = deployment["pull"]
    assert pull["prefect.deployments.steps.set_working_directory"]["directory"] == "/opt/labflows"
    module, _, cls = worker.partition(":")
    worker_cls = getattr(importlib.import_module(module), cls)
    assert worker_cls.type == pool_type
    known = worker_cls.get_default_base_job_template()["variables"]["properties"]
    assert set(deployment["work_pool"]["job_variables"]) <= set(known)


def test_the_dockerfile_puts_the_checkout_where_the_variants_pull_from():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert re.search(r"^WORKDIR /opt/labflows$", dockerfile, re.M)
    assert re.search(r"^COPY \. \.$", dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".labflows"} <= set(ignored)


def test_python_side_builds_the_same_deployments_and_the_nightly_schedule():
    from deployments.schedules import nightly_workflow
    from deployments.serve import build_deployments, build_parser

    served = build_deployments(build_parser().parse_args(["--nightly", "--launcher-prefix", "/srv/launch"]))
    names = [d.name for d in served]
    assert names[:2] == ["run-workflow", "launcher"] and "qc-nightly" in names
    launcher = served[1]
    assert launcher.parameters["prefix"] == "/srv/launch"
    assert launcher.schedules[0].schedule.interval.total_seconds() == 3600
    assert launcher.schedules[0].active is False  # the watcher launches; the sweep is a paused fallback
    nightly = nightly_workflow("examples/qc/workflow.yaml", "examples/qc/job.json")
    assert nightly.name == "qc-nightly"
    assert nightly.schedules[0].schedule.cron == "0 2 * * *"
    assert nightly.parameters == {"workflow": "examples/qc/workflow.yaml", "job_file": "examples/qc/job.json"}
