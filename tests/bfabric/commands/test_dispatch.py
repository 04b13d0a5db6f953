"""Dispatch helpers: the pure parts with plain dicts, the strategies against the B-Fabric stand-in."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from specs.bfabric.inputs import BfabricResourceSpec, load_inputs
from specs.bfabric.workunit import WorkunitDefinition
from tasks.bfabric.chunks import ChunksFile
from tasks.bfabric.dispatch import (
    DispatchError,
    DispatchIndividualResources,
    DispatchIndividualResourcesConfig,
    DispatchSingleDatasetFlow,
    DispatchSingleResourceFlow,
    config_msi_imzml,
    dataset_jobs,
    filter_resources,
    write_chunk_inputs,
    write_chunks_file,
)
from tests.support.standin import running_standin

# ---- pure parts -------------------------------------------------------------------------------

def test_config_defaults_and_msi_preset():
    config = DispatchIndividualResourcesConfig()
    assert (config.filter_suffix, config.resource_column, config.param_columns) == (
        None, "Imzml", [("PanelDataset", "mass_list_id")])
    assert config_msi_imzml().filter_suffix == ".imzML"


def test_filter_resources_by_name_suffix():
    resources = [{"id": 1, "name": "a.imzML"}, {"id": 2, "name": "a.ibd"}, {"id": 3, "name": "b.imzML"}]
    assert [r["id"] for r in filter_resources(resources, ".imzML")] == [1, 3]
    assert filter_resources(resources, None) == resources
    assert filter_resources(resources, ".raw") == []


def test_dataset_jobs_merge_param_columns_into_params():
    rows = [{"Imzml": "11", "PanelDataset": "501", "Other": "x"}, {"Imzml": "12", "PanelDataset": "502"}]
    jobs = dataset_jobs(rows, "Imzml", [("PanelDataset", "mass_list_id")], {"application_version": "1.0"})
    assert jobs == [(11, {"application_version": "1.0", "mass_list_id": "501"}),
                    (12, {"application_version": "1.0", "mass_list_id": "502"})]
    # a row value wins over a workunit parameter of the same name
    jobs = dataset_jobs(rows[:1], "Imzml", [("Other", "mode")], {"mode": "default"})
    assert jobs == [(11, {"mode": "x"})]


def test_dataset_jobs_errors():
    with pytest.raises(DispatchError, match="row 1 has no column 'PanelDataset'"):
        dataset_jobs([{"Imzml": "1"}], "Imzml", [("PanelDataset", "mass_list_id")], {})
    with pytest.raises(DispatchError, match="Imzml='abc' is not a resource id"):
        dataset_jobs([{"Imzml": "abc"}], "Imzml", [], {})


def test_write_chunk_inputs_and_chunks_file(tmp_path):
    chunk = write_chunk_inputs(tmp_path / "chunk_1", [
        BfabricResourceSpec(type="bfabric_resource", id=1),
        {"type": "static_yaml", "data": {"mass_list_id": "501"}, "filename": "params.yml"}])
    spec = load_inputs(chunk / "inputs.yml")
    assert [i.type for i in spec.inputs] == ["bfabric_resource", "static_yaml"]
    assert spec.inputs[1].data == {"mass_list_id": "501"}
    with pytest.raises(ValueError):
        write_chunk_inputs(tmp_path / "bad", [{"type": "bfabric_resource"}])
    write_chunks_file(tmp_path, [chunk, tmp_path / "chunk_2"])
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["chunk_1", "chunk_2"]}


# ---- strategies against the stand-in ----------------------------------------------------------

EXTRA_SEED = {
    "resource": [
        {"id": 21, "name": "run_a.imzML", "workunit": 3, "storage": 2, "relativepath": "msi/run_a.imzML"},
        {"id": 22, "name": "run_a.ibd", "workunit": 3, "storage": 2, "relativepath": "msi/run_a.ibd"},
        {"id": 23, "name": "run_b.imzML", "workunit": 3, "storage": 2, "relativepath": "msi/run_b.imzML"},
    ],
    "dataset": [{
        "id": 20, "name": "MSI runs", "container": 1,
        "attribute": [{"name": "Imzml", "position": 1, "type": "Resource"},
                      {"name": "PanelDataset", "position": 2, "type": "String"}],
        "item": [
            {"position": 1, "field": [{"attributeposition": 1, "value": "23"},
                                      {"attributeposition": 2, "value": "601"}]},
            {"position": 2, "field": [{"attributeposition": 1, "value": "21"},
                                      {"attributeposition": 2, "value": "602"}]},
        ],
    }],
}


@pytest.fixture(scope="module")
def client():
    with running_standin() as server:
        server.seed(EXTRA_SEED)
        yield server.client()


def definition(resources: list[int] | None = None, dataset: int | None = None) -> WorkunitDefinition:
    return WorkunitDefinition.model_validate({"execution": {
        "raw_parameters": {"application_version": "1.0.0"}, "resources": resources or [], "dataset": dataset}})


class PerResource(DispatchIndividualResources):
    """Writes one chunk per resource, named after it, with the job's params as a static file."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.jobs: list[tuple[int, dict]] = []

    def dispatch_job(self, resource: Any, params: dict[str, Any]) -> Path:
        self.jobs.append((resource.id, params))
        return write_chunk_inputs(self.out_dir / f"chunk_{resource.id}", [
            {"type": "bfabric_resource", "id": resource.id},
            {"type": "static_yaml", "data": params, "filename": "params.yml"}])


def test_individual_resources_resource_flow(client, tmp_path):
    dispatcher = PerResource(client, config_msi_imzml(), tmp_path)
    chunks = dispatcher.dispatch_workunit(definition(resources=[23, 22, 21]))
    assert [rid for rid, _ in dispatcher.jobs] == [23, 21]  # .ibd filtered out, input order kept
    assert dispatcher.jobs[0][1] == {"application_version": "1.0.0"}
    assert chunks == [tmp_path / "chunk_23", tmp_path / "chunk_21"]
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["chunk_23", "chunk_21"]}
    assert ChunksFile.read(tmp_path) == chunks and not ChunksFile.needs_dispatch(tmp_path)
    assert load_inputs(tmp_path / "chunk_21" / "inputs.yml").inputs[0].id == 21


def test_individual_resources_dataset_flow_uses_default_columns(client, tmp_path):
    dispatcher = PerResource(client, DispatchIndividualResourcesConfig(), tmp_path)
    dispatcher.dispatch_workunit(definition(dataset=20))
    assert dispatcher.jobs == [(23, {"application_version": "1.0.0", "mass_list_id": "601"}),
                               (21, {"application_version": "1.0.0", "mass_list_id": "602"})]
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["chunk_23", "chunk_21"]}


def test_individual_resources_dataset_flow_custom_columns(client, tmp_path):
    config = DispatchIndividualResourcesConfig(resource_column="Resource", param_columns=[("Condition", "group")])
    dispatcher = PerResource(client, config, tmp_path)
    dispatcher.dispatch_workunit(definition(dataset=1))
    assert [(rid, p["group"]) for rid, p in dispatcher.jobs] == [
        (1, "condition_1"), (2, "condition_1"), (3, "condition_2"), (4, "condition_2")]


def test_individual_resources_errors(client, tmp_path):
    dispatcher = PerResource(client, config_msi_imzml(), tmp_path)
    with pytest.raises(DispatchError, match="no input resource name ends with '.imzML'"):
        dispatcher.dispatch_workunit(definition(resources=[1, 2]))
    with pytest.raises(DispatchError, match="resource.*not found in B-Fabric: 999"):
        dispatcher.dispatch_workunit(definition(resources=[21, 999]))
    with pytest.raises(DispatchError, match="dataset 999 not found"):
        dispatcher.dispatch_workunit(definition(dataset=999))
    with pytest.raises(DispatchError, match="neither an input dataset nor input resources"):
        dispatcher.dispatch_workunit(definition())
    assert dispatcher.jobs == [] and not (tmp_path / "chunks.yml").exists()


class AllInOne(DispatchSingleResourceFlow):
    def dispatch_job(self, resources: list[Any], workunit: WorkunitDefinition) -> Path:
        self.seen = ([r.id for r in resources], workunit)
        return write_chunk_inputs(self.out_dir / "all", [{"type": "bfabric_resource", "id": r.id} for r in resources])


def test_single_resource_flow(client, tmp_path, caplog):
    dispatcher = AllInOne(client, None, tmp_path)
    wu = definition(resources=[3, 1, 2])
    assert dispatcher.dispatch_workunit(wu) == [tmp_path / "all"]
    assert dispatcher.seen == ([3, 1, 2], wu)
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["all"]}

    empty_dir = tmp_path / "empty"
    dispatcher = AllInOne(client, None, empty_dir)
    with caplog.at_level(logging.ERROR):
        assert dispatcher.dispatch_workunit(definition(dataset=1)) == []
    assert "no input resources" in caplog.text
    assert not hasattr(dispatcher, "seen") and not (empty_dir / "chunks.yml").exists()


class WholeDataset(DispatchSingleDatasetFlow):
    def dispatch_job(self, dataset: Any, workunit: WorkunitDefinition) -> None:
        self.columns = dataset.column_names
        write_chunk_inputs(self.out_dir / "table", [
            {"type": "bfabric_dataset", "id": dataset.id, "filename": "table.csv"}])


def test_single_dataset_flow(client, tmp_path):
    dispatcher = WholeDataset(client, None, tmp_path)
    assert dispatcher.dispatch_workunit(definition(dataset=1)) == []
    assert dispatcher.columns == ["Resource", "Name", "Condition"]
    # nothing returned: chunks.yml is left to discovery
    assert not (tmp_path / "chunks.yml").exists()
    assert ChunksFile.read(tmp_path) == [tmp_path / "table"]
    with pytest.raises(DispatchError, match="no input dataset"):
        dispatcher.dispatch_workunit(definition(resources=[1]))
