"""Child runs have their final name when they are created: a ``subpipe: deployment:`` child is
named ``<parent run name>/<Step>`` in the create call and keeps it (its ``run_name`` parameter is the
same name, which the child's flow uses when it starts); a ``run-step`` child's name is the one its
flow computes from its parameters. Through the session's Prefect server; the child deployment is
on a pool without a worker, so what is read back is exactly what the parent created."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

import flows.run_names
import flows.step
import flows.workflow
from flows.workflow import run_workflow
from tasks.bclaw.labels import step_run_name

pytestmark = pytest.mark.timeout(120)

PARENT = """
Repository: s3://names/parent/${{job.id}}
Options: {{step_start_timeout: 1}}
Steps:
  - Sub Step:
      subpipe: deployment:{target}
"""


@pytest.fixture
def child_deployment(prefect_harness, tmp_path: Path) -> str:
    """A run-workflow deployment with a default workflow, on a pool without a worker."""
    from prefect.client.schemas.actions import WorkPoolCreate

    name = f"named-child-{uuid.uuid4().hex[:6]}"
    (tmp_path / "child.yaml").write_text("Repository: s3://names/child\nSteps:\n  - work:\n      commands: ['true']\n")
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))
    run_workflow.to_deployment(name=name, work_pool_name=name,
                               parameters={"workflow": str(tmp_path / "child.yaml")}).apply()
    return f"run-workflow/{name}"


def _runs_of(deployment: str) -> list:
    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])))


def test_a_subpipe_deployment_child_is_named_after_its_parent_and_step_at_creation(child_deployment, tmp_path):
    (tmp_path / "parent.yaml").write_text(PARENT.format(target=child_deployment))
    (tmp_path / "p1.json").write_text('{"id": "p1"}')

    state = run_workflow(workflow=str(tmp_path / "parent.yaml"), job_file=str(tmp_path / "p1.json"),
                         storage=str(tmp_path / "storage"), return_state=True)

    assert state.is_failed()  # no worker started the child within the 1 s start timeout
    [child] = _runs_of(child_deployment)
    with get_client(sync_client=True) as client:  # never started: its name is the one it was created with
        assert [s.type.value for s in client.read_flow_run_states(child.id)] == ["SCHEDULED", "CANCELLED"]
    assert child.name == "parent:p1/Sub Step"
    # the name the child's flow computes when it starts (run_name) is that same name
    assert child.parameters["run_name"] == child.name
    assert child.parameters["job_file"] == "" and child.parameters["job"] == {"id": "p1"}


def test_the_run_step_flow_computes_the_name_its_parent_gave_at_creation(monkeypatch):
    params = {"workflow": "examples/qc/workflow.yaml", "step": "count"}
    monkeypatch.setattr(flows.step, "flow_run", SimpleNamespace(parameters=params))
    assert flows.step._run_name() == step_run_name("qc", "count") == "qc:count"

    monkeypatch.setattr(flows.step, "flow_run", SimpleNamespace(parameters={
        **params, "branches": [[7, {"x": 1}], [12, {"x": 2}]]}))
    assert flows.step._run_name() == step_run_name("qc", "count", 7, 12) == "qc:count[00007-00012]"


def test_a_workflow_run_keeps_a_given_run_name(monkeypatch):
    monkeypatch.setattr(flows.workflow, "flow_run", SimpleNamespace(parameters={
        "workflow": "examples/qc/workflow.yaml", "job_file": "", "run_name": "parent:p1/Sub Step"}))
    assert flows.workflow._flow_run_name() == "parent:p1/Sub Step"
    monkeypatch.setattr(flows.workflow, "flow_run", SimpleNamespace(parameters={
        "workflow": "examples/qc/workflow.yaml", "job_file": "", "run_name": ""}))
    assert flows.workflow._flow_run_name() == "qc"  # "" is "not given", as from a subpipe's overrides


@pytest.mark.parametrize("created_as, expected", [
    ("analytic-quail", "qc:job"),  # Prefect's placeholder: replaced
    ("plate7", "plate7"),  # `prefect deployment run --flow-run-name plate7`: kept
    ("qc-rerun", "qc-rerun"),  # two words, not both from Prefect's lists: somebody's name
])
def test_a_workflow_run_keeps_the_name_it_was_created_with_unless_prefect_made_it_up(monkeypatch, created_as, expected):
    monkeypatch.setattr(flows.workflow, "flow_run", SimpleNamespace(parameters={
        "workflow": "examples/qc/workflow.yaml", "job_file": "examples/qc/job.json", "run_name": ""}))
    monkeypatch.setattr(flows.run_names, "flow_run", SimpleNamespace(get_name=lambda: created_as))
    assert flows.workflow._flow_run_name() == expected


def test_every_name_prefect_makes_up_is_recognised_as_a_placeholder():
    from prefect.utilities.names import generate_slug

    assert all(flows.run_names.is_placeholder(generate_slug(2)) for _ in range(2000))
    assert not any(flows.run_names.is_placeholder(name) for name in ("qc:job", "plate7", "workunit-1", "qc-rerun", ""))
