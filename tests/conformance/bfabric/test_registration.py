"""bfabric-app-runner's output registration tests, ported: run with the real client against the stand-in
(upstream mocks the client; here the entities B-Fabric ends up with are checked).

upstream files (tests/bfabric_app_runner/output_registration/): test_save_dataset.py (6 cases, 6
ported), test_save_link.py (3 cases, 3 ported), test_register_all.py (1 case with 4 parameter sets,
ported), test_copy_file_to_storage.py (3 cases, 3 ported); and from ../actions/test_execute.py the 3
workflow-step cases (its other 15 cases check, with mocks, which action sets which status: that
behaviour runs for real in tests/bfabric/app/test_app_actions.py and bench/compat_bfabric.py).
"""

from __future__ import annotations

import polars as pl
import pytest

from tasks.bfabric.register.outputs import RegistrationError, register_outputs
from tests.support.standin import ref_id

WORKUNIT = 1


def _datasets(setup) -> list[dict]:
    return [d for d in setup.server.rows("dataset") if ref_id(d.get("workunit")) == WORKUNIT]


def _dataset_entry(path, **extra) -> dict:
    return {"type": "bfabric_dataset", "local_path": str(path), "name": "my_dataset", **extra}


def _register(setup, *entries: dict) -> list[dict]:
    return register_outputs(setup.client, setup.outputs(*entries), setup.definition)


@pytest.fixture()
def csv_path(setup):
    return setup.write("table.csv", "a,b\n1,2\n3,4\n")


def test_save_dataset_no_existing_creates(setup, csv_path):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_dataset.py::test_save_dataset_no_existing_creates"""
    [result] = _register(setup, _dataset_entry(csv_path))
    [row] = _datasets(setup)
    assert result["action"] == "created" and row["name"] == "my_dataset"
    assert ref_id(row["container"]) == 1 and ref_id(row["workunit"]) == WORKUNIT
    assert [a["name"] for a in row["attribute"]] == ["a", "b"]


def test_save_dataset_reads_parquet(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_dataset.py::test_save_dataset_reads_parquet"""
    path = setup.work / "table.parquet"
    pl.DataFrame({"a": [1, 3], "b": [2, 4]}).write_parquet(path)
    _register(setup, _dataset_entry(path, format="parquet"))
    [row] = _datasets(setup)
    assert [a["name"] for a in row["attribute"]] == ["a", "b"]
    assert [[f["value"] for f in item["field"]] for item in row["item"]] == [["1", "2"], ["3", "4"]]


def test_save_dataset_existing_unchanged_skips(setup, csv_path):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_dataset.py::test_save_dataset_existing_unchanged_skips"""
    _register(setup, _dataset_entry(csv_path))
    saves = len(setup.client.saved("dataset"))
    [again] = _register(setup, _dataset_entry(csv_path))
    assert again["action"] == "unchanged" and len(setup.client.saved("dataset")) == saves


def test_save_dataset_existing_changed_updates(setup, csv_path):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_dataset.py::test_save_dataset_existing_changed_updates"""
    [first] = _register(setup, _dataset_entry(csv_path))
    setup.write("table.csv", "a,b,c\n1,2,5\n3,4,6\n")
    [again] = _register(setup, _dataset_entry(csv_path))
    assert (again["id"], again["action"]) == (first["id"], "updated")
    assert setup.client.saved("dataset")[-1]["id"] == first["id"]
    [row] = _datasets(setup)
    assert [a["name"] for a in row["attribute"]] == ["a", "b", "c"]


def test_save_dataset_existing_with_no_policy_raises(setup, csv_path):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_dataset.py::test_save_dataset_existing_with_no_policy_raises"""
    _register(setup, _dataset_entry(csv_path))
    saves = len(setup.client.saves)
    with pytest.raises(RegistrationError, match="already exists"):
        _register(setup, _dataset_entry(csv_path, update_existing="no"))
    assert len(setup.client.saves) == saves


def test_save_dataset_required_but_missing_raises(setup, csv_path):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_dataset.py::test_save_dataset_required_but_missing_raises"""
    with pytest.raises(RegistrationError, match="does not exist"):
        _register(setup, _dataset_entry(csv_path, update_existing="required"))
    assert setup.client.saves == [] and _datasets(setup) == []


LINK = {"type": "bfabric_link", "name": "test_link", "url": "https://example.com", "entity_type": "Workunit"}


def test_save_link_no_existing(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_link.py::test_save_link_no_existing"""
    _register(setup, LINK)
    [saved] = setup.client.saved("link")
    assert (saved["name"], saved["url"], saved["parentid"], saved["parentclassname"]) == (
        "test_link", "https://example.com", WORKUNIT, "Workunit")


def test_save_link_existing_with_no_raises(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_link.py::test_save_link_existing_with_no_raises"""
    _register(setup, LINK)
    with pytest.raises(RegistrationError, match="already exists"):
        _register(setup, LINK | {"update_existing": "no"})
    assert len(setup.client.saved("link")) == 1


def test_save_link_missing_with_required_raises(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_save_link.py::test_save_link_missing_with_required_raises"""
    with pytest.raises(RegistrationError, match="does not exist"):
        _register(setup, LINK | {"update_existing": "required"})
    assert setup.client.saved("link") == []


@pytest.mark.parametrize("existing", [
    pytest.param([], id="no_existing_resources"),
    pytest.param([("App 1 - resource", "pending")], id="legacy_placeholder_only"),
    pytest.param([("App 1 - resource", "pending"), ("slurm_stdout", "available"), ("slurm_stderr", "available")],
                 id="legacy_placeholder_with_log_resources"),
    pytest.param([("earlier.txt", "available")], id="resource_created_by_the_app"),
])
def test_registers_a_new_resource(setup, existing):
    """upstream: tests/bfabric_app_runner/output_registration/test_register_all.py::TestRegisterAll::test_registers_a_new_resource"""
    for name, status in existing:
        setup.client.save("resource", {"name": name, "workunitid": WORKUNIT, "storageid": setup.storage_id,
                                       "relativepath": f"legacy/{name}", "status": status})
    local = setup.write("result.txt", "payload")
    [result] = _register(setup, {"type": "bfabric_copy_resource", "local_path": str(local),
                                 "store_entry_path": "result.txt"})
    saved = setup.client.saved("resource")[-1]
    assert result["action"] == "created" and "id" not in saved
    assert (saved["name"], saved["workunitid"], saved["relativepath"], saved["status"]) == (
        "result.txt", WORKUNIT, "out/folder/result.txt", "available")


def test_copy_file_to_storage_scp(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_copy_file_to_storage.py::test_copy_file_to_storage_scp_routes_through_transfer_package"""
    local = setup.write("result.txt", "payload")
    _register(setup, {"type": "bfabric_copy_resource", "local_path": str(local), "store_entry_path": "result.txt"})
    target = f"{setup.remote}/out/folder/result.txt"
    assert ["ssh", "storagehost", "mkdir", "-p", f"{setup.remote}/out/folder"] in setup.ssh.calls()
    assert ["scp", str(local), f"storagehost:{target}"] in setup.ssh.calls()
    assert (setup.remote / "out/folder/result.txt").read_text() == "payload"


def test_copy_file_to_storage_rejects_storage_without_scp(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_copy_file_to_storage.py::test_copy_file_to_storage_scp_rejects_storage_without_scp_prefix"""
    local = setup.write("result.txt", "payload")
    entry = {"type": "bfabric_copy_resource", "local_path": str(local), "store_entry_path": "result.txt"}
    with pytest.raises(RegistrationError, match="protocol"):
        register_outputs(setup.client, setup.outputs(entry), setup.definition,
                         force_storage={"host": "h", "basepath": "/b/", "protocol": "s3"})
    assert setup.client.saved("resource") == []


def test_copy_file_to_storage_tus_not_yet_wired(setup):
    """upstream: tests/bfabric_app_runner/output_registration/test_copy_file_to_storage.py::test_copy_file_to_storage_tus_not_yet_wired"""
    local = setup.write("result.txt", "payload")
    entry = {"type": "bfabric_copy_resource", "local_path": str(local), "store_entry_path": "r.txt", "protocol": "tus"}
    with pytest.raises(NotImplementedError, match="tus"):
        _register(setup, entry)
    assert setup.client.saved("resource") == []


def test_register_workflow_step_creates_workflow_and_step(setup):
    """upstream: tests/bfabric_app_runner/actions/test_execute.py::test_register_workflow_step_creates_workflow_and_step"""
    setup.server.seed({"workflowtemplatestep": [{"id": 789, "name": "step", "workflowtemplate": 999}]})
    execution = setup.definition.execution.model_copy(update={"dataset": 1})
    definition = setup.definition.model_copy(update={"execution": execution})
    register_outputs(setup.client, [], definition, workflow_template_step_id=789)
    [workflow] = setup.client.saved("workflow")
    [step] = setup.client.saved("workflowstep")
    assert workflow == {"containerid": 1, "workflowtemplateid": 999}
    assert step == {"workflowid": setup.server.rows("workflow")[0]["id"], "workflowtemplatestepid": 789,
                    "supervisorid": 1, "workunitid": WORKUNIT, "datasetid": 1}


def test_register_workflow_step_raises_when_step_not_found(setup):
    """upstream: tests/bfabric_app_runner/actions/test_execute.py::test_register_workflow_step_raises_when_step_not_found"""
    with pytest.raises(RegistrationError, match="workflow template step 789 does not exist"):
        register_outputs(setup.client, [], setup.definition, workflow_template_step_id=789)
    assert setup.client.saves == []


def test_register_workflow_step_raises_when_no_workflow_template(setup):
    """upstream: tests/bfabric_app_runner/actions/test_execute.py::test_register_workflow_step_raises_when_no_workflow_template"""
    setup.server.seed({"workflowtemplatestep": [{"id": 789, "name": "orphan"}]})
    with pytest.raises(RegistrationError, match="has no workflow template"):
        register_outputs(setup.client, [], setup.definition, workflow_template_step_id=789)
    assert setup.client.saves == []
