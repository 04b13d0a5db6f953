"""bfabric_link outputs (behaviour 15) and the workflow step."""

from __future__ import annotations

import pytest

from tasks.bfabric.register.outputs import RegistrationError, register_outputs
from tests.support.standin import ref_id, row_counts


def _link(**extra) -> dict:
    return {"type": "bfabric_link", "name": "Report", "url": "https://example.org/report", **extra}


def test_link_on_the_workunit(setup) -> None:
    [result] = register_outputs(setup.client, setup.outputs(_link()), setup.definition)
    [saved] = setup.client.saved("link")
    assert saved == {
        "name": "Report", "url": "https://example.org/report", "parentid": 1, "parentclassname": "Workunit",
    }
    [row] = setup.server.rows("link")
    assert (row["parentid"], row["parentclassname"], row["id"]) == (1, "Workunit", result["id"])


def test_link_on_another_entity(setup) -> None:
    register_outputs(setup.client, setup.outputs(_link(entity_type="Project", entity_id=1)), setup.definition)
    [row] = setup.server.rows("link")
    assert (row["parentid"], row["parentclassname"]) == (1, "Project")


def test_link_update_keeps_the_id(setup) -> None:
    [first] = register_outputs(setup.client, setup.outputs(_link()), setup.definition)
    [same] = register_outputs(setup.client, setup.outputs(_link()), setup.definition)
    [moved] = register_outputs(setup.client, setup.outputs(_link(url="https://example.org/v2")), setup.definition)
    assert (same["action"], moved["action"]) == ("unchanged", "updated")
    assert first["id"] == same["id"] == moved["id"]
    assert [r["url"] for r in setup.server.rows("link")] == ["https://example.org/v2"]


def test_link_policy_violations(setup) -> None:
    with pytest.raises(RegistrationError, match="update_existing is 'required'"):
        register_outputs(setup.client, setup.outputs(_link(update_existing="required")), setup.definition)
    register_outputs(setup.client, setup.outputs(_link()), setup.definition)
    with pytest.raises(RegistrationError, match="update_existing is 'no'"):
        register_outputs(setup.client, setup.outputs(_link(update_existing="no")), setup.definition)
    assert len(setup.server.rows("link")) == 1


def test_link_policy_from_plain_objects(setup) -> None:
    """Any object with the spec's attribute names works, and YAML's bare `no` (False) means 'no'."""
    from types import SimpleNamespace

    spec = SimpleNamespace(type="bfabric_link", name="Plain", url="https://x", entity_type=None, entity_id=None,
                           update_existing=None)
    register_outputs(setup.client, [spec], setup.definition)
    spec.update_existing = False
    with pytest.raises(RegistrationError, match="update_existing is 'no'"):
        register_outputs(setup.client, [spec], setup.definition)


def test_workflow_step_is_found_or_created(setup) -> None:
    setup.server.seed({"workflowtemplatestep": [{"id": 40, "name": "Analysis", "workflowtemplate": 9}]})
    first = register_outputs(setup.client, [], setup.definition, workflow_template_step_id=40)
    assert [(r["entity_type"], r["action"]) for r in first] == [("workflow", "created"), ("workflowstep", "created")]
    [workflow] = setup.server.rows("workflow")
    assert (ref_id(workflow["container"]), ref_id(workflow["workflowtemplate"])) == (1, 9)
    [step] = setup.server.rows("workflowstep")
    assert (ref_id(step["workflow"]), ref_id(step["workflowtemplatestep"]), ref_id(step["workunit"])) == (
        workflow["id"], 40, 1,
    )
    assert ref_id(step["supervisor"]) == 1

    again = register_outputs(setup.client, [], setup.definition, workflow_template_step_id=40)
    assert [r["action"] for r in again] == ["unchanged", "unchanged"]
    assert row_counts(setup.server, "workflow", "workflowstep") == {"workflow": 1, "workflowstep": 1}
    assert setup.client.reader.read_id("workflow", workflow["id"]).workflow_steps.ids == [step["id"]]


def test_workflow_step_needs_an_existing_template_step(setup) -> None:
    with pytest.raises(RegistrationError, match="workflow template step 41 does not exist"):
        register_outputs(setup.client, [], setup.definition, workflow_template_step_id=41)
    setup.server.seed({"workflowtemplatestep": [{"id": 41, "name": "orphan"}]})
    with pytest.raises(RegistrationError, match="has no workflow template"):
        register_outputs(setup.client, [], setup.definition, workflow_template_step_id=41)
    assert setup.server.rows("workflow") == []


def test_definition_without_registration_is_refused(setup) -> None:
    definition = setup.definition.model_copy(update={"registration": None})
    with pytest.raises(RegistrationError, match="no registration"):
        register_outputs(setup.client, setup.outputs(_link()), definition)


def test_outputs_from_a_yaml_file_or_plain_dicts(setup) -> None:
    spec_file = setup.work / "outputs.yml"
    spec_file.write_text("outputs:\n  - {type: bfabric_link, name: FromFile, url: 'https://example.org/f'}\n")
    [from_file] = register_outputs(setup.client, spec_file, setup.definition)
    [from_dicts] = register_outputs(setup.client, [_link(name="FromDict")], setup.definition)
    assert (from_file["name"], from_dicts["name"]) == ("FromFile", "FromDict")
    assert sorted(r["name"] for r in setup.server.rows("link")) == ["FromDict", "FromFile"]
