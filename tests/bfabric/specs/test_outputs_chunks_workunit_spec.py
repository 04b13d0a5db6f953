"""outputs.yml, chunks.yml and workunit_definition.yml models."""

from __future__ import annotations

from pathlib import Path

import pytest

from specs.bfabric import chunks as chunks_mod
from specs.bfabric import outputs as outputs_mod
from specs.bfabric import workunit as workunit_mod
from specs.bfabric.chunks import ChunksSpec, chunks_from_doc, load_chunks, write_chunks
from specs.bfabric.common import ignored_keys_notice
from specs.bfabric.outputs import (
    CopyResourceSpec,
    OutputsSpec,
    SaveDatasetSpec,
    SaveLinkSpec,
    UpdateExisting,
    load_outputs,
    outputs_from_doc,
    write_outputs,
)
from specs.bfabric.workunit import (
    WorkunitDefinition,
    load_workunit_definition,
    save_workunit_definition,
    workunit_from_doc,
)
from specs.kinds import validate_file
from specs.source import SpecError, load_yaml_text

OUTPUTS = """\
outputs:
  - type: bfabric_copy_resource
    local_path: out/result.txt
    store_entry_path: result.txt
  - type: bfabric_copy_resource
    local_path: /abs/report.pdf
    store_entry_path: reports/report.pdf
    store_folder_path: custom/folder
    update_existing: no
    protocol: tus
  - type: bfabric_dataset
    local_path: out/table.csv
  - type: bfabric_dataset
    local_path: out/t.parquet
    format: parquet
    separator: "\\t"
    name: My table
    has_header: false
    invalid_characters: ";"
    update_existing: required
  - type: bfabric_link
    name: Report
    url: https://example.org/r
  - type: bfabric_link
    name: Project page
    url: https://example.org/p
    entity_type: Project
    entity_id: 3
"""


def test_every_output_type_validates_with_defaults():
    o = outputs_from_doc(load_yaml_text(OUTPUTS, "outputs.yml")).outputs
    assert [type(x) for x in o] == [CopyResourceSpec, CopyResourceSpec, SaveDatasetSpec, SaveDatasetSpec,
                                    SaveLinkSpec, SaveLinkSpec]
    assert (o[0].local_path, o[0].store_entry_path, o[0].store_folder_path, o[0].protocol) == (
        Path("out/result.txt"), Path("result.txt"), None, "scp")
    assert o[0].update_existing == "if_exists" and o[0].update_existing is UpdateExisting.IF_EXISTS
    # a bare YAML `no` (read as false) is the policy "no"
    assert o[1].update_existing == "no" and o[1].protocol == "tus"
    assert o[1].store_folder_path == Path("custom/folder")
    assert (o[2].format, o[2].separator, o[2].name, o[2].has_header, o[2].invalid_characters) == (
        "csv", ",", "table", True, "")
    assert (o[3].format, o[3].separator, o[3].name, o[3].has_header, o[3].invalid_characters,
            o[3].update_existing) == ("parquet", "\t", "My table", False, ";", "required")
    assert (o[4].entity_type, o[4].entity_id, o[4].update_existing) == ("Workunit", None, "if_exists")
    assert (o[5].entity_type, o[5].entity_id) == ("Project", 3)


def test_outputs_round_trip(tmp_path):
    spec = outputs_from_doc(load_yaml_text(OUTPUTS, "outputs.yml"))
    path = tmp_path / "outputs.yml"
    write_outputs(path, list(spec.outputs))
    assert load_outputs(path) == spec
    assert validate_file(path) == ("outputs", spec)
    assert outputs_mod.SCHEMA_MODEL is OutputsSpec


@pytest.mark.parametrize("text, expected", [
    ("outputs:\n  - type: bfabric_link\n    name: n\n    url: u\n    entity_type: Project\n",
     "outputs.yml:2:5: outputs[0]: entity_id is required when entity_type is 'Project'"),
    ("outputs:\n  - type: bfabric_dataset\n    local_path: x.csv\n    update_existing: maybe\n",
     "outputs.yml:4:22: outputs[0].update_existing: Input should be 'no', 'if_exists' or 'required'"),
    ("outputs:\n  - type: bfabric_copy_resource\n    local_path: a\n    store_entry_path: e\n    protocol: ftp\n",
     "outputs.yml:5:15: outputs[0].protocol: Input should be 'scp' or 'tus'"),
    ("outputs:\n  - type: bfabric_copy_resource\n    local_path: a\n",
     "outputs.yml:2:5: outputs[0].store_entry_path: required key is missing"),
    ("outputs:\n  - type: bfabric_dataset\n    local_path: a\n    sep: ','\n", "outputs.yml:4:5: outputs[0].sep: unknown key"),
    ("outputs:\n  - type: bfabric_resource\n", "outputs.yml:2:11: outputs[0].type: unknown type 'bfabric_resource'"),
    ("outputs:\n  - {type: bfabric_copy_resource, local_path: a, store_entry_path: e}\n"
     "  - {type: bfabric_copy_resource, local_path: b, store_entry_path: e}\n",
     "outputs.yml:1:1: Duplicate store entry paths: e"),
])
def test_malformed_outputs(text, expected):
    with pytest.raises(SpecError) as info:
        outputs_from_doc(load_yaml_text(text, "outputs.yml"))
    assert str(info.value).startswith(expected), str(info.value)


def test_chunks_spec(tmp_path):
    doc = load_yaml_text(f"chunks:\n  - chunk1\n  - sub/chunk2\n  - {tmp_path}/chunk3\n", str(tmp_path / "chunks.yml"))
    spec = chunks_from_doc(doc)
    assert spec.chunks == [Path("chunk1"), Path("sub/chunk2"), tmp_path / "chunk3"]
    assert spec.resolved(tmp_path) == [tmp_path / "chunk1", tmp_path / "sub/chunk2", tmp_path / "chunk3"]
    write_chunks(tmp_path / "chunks.yml", ["a", tmp_path / "b"])
    assert load_chunks(tmp_path / "chunks.yml").chunks == [Path("a"), tmp_path / "b"]
    with pytest.raises(SpecError, match=r"chunks.yml:1:18: chunks\[1\]: a chunk must be inside the work directory"):
        chunks_from_doc(load_yaml_text("chunks: [chunk1, /etc]\n", "chunks.yml"))
    with pytest.raises(SpecError, match=r"chunks\[0\]: a chunk must stay inside the work directory"):
        chunks_from_doc(load_yaml_text("chunks: [a/../../x]\n", "chunks.yml"))
    assert chunks_mod.SCHEMA_MODEL is ChunksSpec
    with pytest.raises(SpecError, match=r"chunks.yml:1:9: chunks: Input should be a valid list"):
        chunks_from_doc(load_yaml_text("chunks: 3\n", "chunks.yml"))
    # upstream's ChunksFile ignores unknown keys: accepted, and named in a notice
    extra = load_yaml_text("chunks: []\nextra: 1\n", "chunks.yml")
    assert ignored_keys_notice(extra, chunks_from_doc(extra)) == (
        "chunks.yml:2:1: extra: notice: accepted as bfabric-app-runner does, but labflows ignores: extra")


WORKUNIT = """\
execution:
  raw_parameters: {application_version: 1.0.0, greeting: hello, empty: null}
  dataset: null
  resources: [1, 2]
registration:
  application_id: 1
  application_name: "labflows demo"
  workunit_id: 300
  workunit_name: "WU 300: test"
  container_id: 3000
  container_type: project
  storage_id: 2
  storage_output_folder: p3000/bfabric/Genomics/labflows_demo/2026/2026-11/2026-11-01/workunit_300
  user_id: 7
"""


def test_workunit_definition(tmp_path):
    definition = workunit_from_doc(load_yaml_text(WORKUNIT, "wu.yml"))
    assert definition.execution.raw_parameters == {"application_version": "1.0.0", "greeting": "hello",
                                                   "empty": None}
    assert definition.execution.resources == [1, 2] and definition.execution.dataset is None
    reg = definition.registration
    assert (reg.application_id, reg.workunit_id, reg.container_id, reg.container_type, reg.storage_id,
            reg.user_id) == (1, 300, 3000, "project", 2, 7)
    assert reg.application_name == "labflows_demo" and reg.workunit_name == "WU_300_test"
    assert reg.storage_output_folder == Path(
        "p3000/bfabric/Genomics/labflows_demo/2026/2026-11/2026-11-01/workunit_300")
    save_workunit_definition(definition, tmp_path / "workunit_definition.yml")
    assert load_workunit_definition(tmp_path / "workunit_definition.yml") == definition
    assert validate_file(tmp_path / "workunit_definition.yml")[0] == "workunit"
    assert workunit_mod.SCHEMA_MODEL is WorkunitDefinition


def test_workunit_definition_without_registration():
    definition = workunit_from_doc(load_yaml_text("execution: {raw_parameters: {}, dataset: 5}\n", "wu.yml"))
    assert definition.registration is None and definition.execution.dataset == 5
    assert definition.execution.resources == []


@pytest.mark.parametrize("text, expected", [
    ("execution: {raw_parameters: {v: 1}}\n", "wu.yml:1:33: execution.raw_parameters.v: Input should be a valid string"),
    ("execution: {raw_parameters: {}, resources: [a]}\n", "wu.yml:1:45: execution.resources[0]: Input should be"),
    (WORKUNIT.replace("container_type: project", "container_type: lab"),
     "wu.yml:11:19: registration.container_type: Input should be 'project' or 'order'"),
])
def test_malformed_workunit_definition(text, expected):
    """(An unknown key is not among them: bfabric's WorkunitDefinition ignores it, see below.)"""
    with pytest.raises(SpecError) as info:
        workunit_from_doc(load_yaml_text(text, "wu.yml"))
    assert str(info.value).startswith(expected), str(info.value)


def test_workunit_definition_ignores_unknown_keys_with_a_notice():
    """A misspelt ``user`` is ignored as bfabric's model does (user_id stays None), and named once."""
    doc = load_yaml_text(WORKUNIT.replace("  user_id: 7\n", "  user: 7\n"), "wu.yml")
    definition = workunit_from_doc(doc)
    assert definition.registration.user_id is None
    assert ignored_keys_notice(doc, definition) == (
        "wu.yml:14:3: registration.user: notice: accepted as bfabric-app-runner does, but labflows ignores: "
        "registration.user")
