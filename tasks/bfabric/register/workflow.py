"""The workflow step of an app whose spec names a ``workflow_template_step_id``.

The workflow template step must exist and belong to a template. The container's workflow of that
template is found or created, then the step for this workunit is found or created (so running the
registration again adds nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.bfabric.register.common import RegistrationError, record, saved_id
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    from bfabric import Bfabric


def _ref_id(value: Any) -> int | None:
    return int(value["id"]) if isinstance(value, dict) and "id" in value else None


def _find_or_save(client: Bfabric, endpoint: str, fields: dict[str, Any], what: str) -> dict[str, Any]:
    """The entity of ``endpoint`` matching ``fields``, saved first if there is none; returns a result record."""
    found = client.read(endpoint, fields).to_list_dict()
    if found:
        return record(endpoint, found[0]["id"], str(found[0].get("name", "")), "unchanged")
    new_id = saved_id(client.save(endpoint, fields), what)
    run_logger().info("created %s %d", what, new_id)
    return record(endpoint, new_id, "", "created")


def register_workflow_step(
    client: Bfabric,
    registration: Any,
    workflow_template_step_id: int,
    dataset_id: int | None = None,
) -> list[dict[str, Any]]:
    """Find or create the workflow and the workflow step of this workunit; returns their result records."""
    steps = client.read("workflowtemplatestep", {"id": int(workflow_template_step_id)}).to_list_dict()
    if not steps:
        raise RegistrationError(f"workflow template step {workflow_template_step_id} does not exist")
    template_id = _ref_id(steps[0].get("workflowtemplate"))
    if template_id is None:
        raise RegistrationError(f"workflow template step {workflow_template_step_id} has no workflow template")

    workflow = _find_or_save(
        client,
        "workflow",
        {"containerid": int(registration.container_id), "workflowtemplateid": template_id},
        f"workflow of template {template_id}",
    )
    step_fields: dict[str, Any] = {
        "workflowid": workflow["id"],
        "workflowtemplatestepid": int(workflow_template_step_id),
        "workunitid": int(registration.workunit_id),
    }
    found = client.read("workflowstep", step_fields).to_list_dict()
    if found:
        return [workflow, record("workflowstep", found[0]["id"], str(found[0].get("name", "")), "unchanged")]
    if registration.user_id is not None:
        step_fields["supervisorid"] = int(registration.user_id)
    if dataset_id is not None:
        step_fields["datasetid"] = int(dataset_id)
    new_id = saved_id(client.save("workflowstep", step_fields), "workflow step")
    run_logger().info("created workflow step %d in workflow %d", new_id, workflow["id"])
    return [workflow, record("workflowstep", new_id, "", "created")]
