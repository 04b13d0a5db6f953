"""The deployments' run forms: every optional parameter is one plain field (no "str | None" type
toggle in the Prefect UI), and a deployment created from the flow still takes runs whose optional
parameters are left out or empty (the form's "not given"), through the session's Prefect server."""

from __future__ import annotations

import uuid

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.flows import load_flow_from_entrypoint

from tests.support.forms import nullable_fields
from tests.support.paths import REPO_ROOT as ROOT

pytestmark = pytest.mark.timeout(120)

# what people start from the UI (run-step is started by parent runs only)
FORMS = ("run-workflow", "run-app", "launcher")


def _entrypoints() -> dict[str, str]:
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    return {d["name"]: d["entrypoint"] for d in deployments if d["name"] in FORMS}


def test_nullable_fields_sees_the_toggle_the_ui_shows():
    schema = {"properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "b": {"type": ["string", "null"]},
                             "c": {"type": "string", "default": None}}}
    assert nullable_fields(schema) == ["a", "b"]


@pytest.mark.parametrize("name", FORMS)
def test_the_run_form_has_no_null_toggles(name):
    flow = load_flow_from_entrypoint(str(ROOT / _entrypoints()[name]))
    schema = flow.parameters.model_dump()
    assert nullable_fields(schema) == []
    optional = [p for p in schema["properties"] if p not in schema.get("required", [])]
    assert optional and all(schema["properties"][p].get("description") for p in optional)


def test_a_deployment_run_with_the_optional_fields_left_out_or_empty_is_accepted(prefect_harness):
    from flows.workflow import run_workflow

    name = f"form-{uuid.uuid4().hex[:6]}"
    deployment_id = run_workflow.to_deployment(name=name).apply()  # enforces the parameter schema
    with get_client(sync_client=True) as client:
        assert nullable_fields(client.read_deployment(deployment_id).parameter_openapi_schema) == []
        left_out = client.create_flow_run_from_deployment(deployment_id, parameters={"workflow": "wf.yaml"})
        empty = client.create_flow_run_from_deployment(deployment_id, parameters={
            "workflow": "wf.yaml", "job_file": "", "storage": "", "repository_block": "", "run_name": ""})
        assert left_out.parameters == {"workflow": "wf.yaml"} and empty.parameters["job_file"] == ""
        with pytest.raises(Exception, match="422|Validation|not of type"):  # the schema is enforced
            client.create_flow_run_from_deployment(deployment_id, parameters={"workflow": "wf.yaml", "job_file": 3})
