"""inputs.yml: every input type with its defaults, and located errors."""

from __future__ import annotations

import textwrap

import pytest

from specs.bfabric import inputs as inputs_mod
from specs.bfabric.inputs import (
    BfabricAnnotationSpec,
    BfabricDatasetSpec,
    BfabricOrderFastaSpec,
    BfabricResourceArchiveSpec,
    BfabricResourceDatasetSpec,
    BfabricResourceSpec,
    FileSourceHttp,
    FileSourceHttpValue,
    FileSourceLocal,
    FileSourceSsh,
    FileSpec,
    InputsSpec,
    StaticFileSpec,
    StaticYamlSpec,
    inputs_from_doc,
    load_inputs,
    write_inputs,
)
from specs.kinds import validate_file
from specs.source import SpecError, load_yaml_text

ALL_TYPES = """\
inputs:
  - type: bfabric_resource
    id: 1
  - type: bfabric_resource
    id: 2
    filename: renamed.raw
    check_checksum: false
    access: http
  - type: bfabric_dataset
    id: 3
    filename: table.csv
  - type: bfabric_dataset
    id: 4
    filename: table.parquet
    separator: "\\t"
    format: parquet
  - type: bfabric_resource_archive
    id: 5
    filename: unpacked
    include_patterns: ["*.txt"]
    exclude_patterns: [skip/*]
    strip_root: true
  - type: bfabric_resource_dataset
    id: 6
    filename: files
  - type: bfabric_resource_dataset
    id: 7
    column: 2
    filename: files2
    output_dataset_only: true
  - type: bfabric_order_fasta
    id: 8
    entity: workunit
    filename: order.fasta
  - type: bfabric_annotation
    filename: annotation.csv
    separator: ","
    resource_ids: [1, 2]
  - type: file
    source: {local: /data/in.txt}
    link: true
  - type: file
    source: {ssh: {host: fs.example.org, path: /store/a/b.mzML}}
    filename: sub/b.mzML
    checksum: 0123456789abcdef0123456789abcdef
  - type: file
    source: {http: {url: "https://example.org/x/data.csv?token=1"}}
  - type: static_file
    content: "hello\\n"
    filename: hello.txt
  - type: static_file
    content: !!binary AAEC
    filename: bytes.bin
  - type: static_yaml
    data: {a: 1, b: [x, y]}
    filename: params.yml
  - type: static_yaml
    data: [1, 2]
    filename: list.yml
"""


@pytest.fixture
def all_inputs() -> InputsSpec:
    return inputs_from_doc(load_yaml_text(ALL_TYPES, "inputs.yml"))


def test_every_input_type_validates_with_defaults(all_inputs):
    i = all_inputs.inputs
    assert [type(x) for x in i] == [
        BfabricResourceSpec, BfabricResourceSpec, BfabricDatasetSpec, BfabricDatasetSpec,
        BfabricResourceArchiveSpec, BfabricResourceDatasetSpec, BfabricResourceDatasetSpec, BfabricOrderFastaSpec,
        BfabricAnnotationSpec, FileSpec, FileSpec, FileSpec, StaticFileSpec, StaticFileSpec, StaticYamlSpec,
        StaticYamlSpec]
    assert (i[0].filename, i[0].check_checksum, i[0].access) == (None, True, "ssh")
    assert (i[1].filename, i[1].check_checksum, i[1].access) == ("renamed.raw", False, "http")
    assert (i[2].separator, i[2].format) == (",", "csv")
    assert (i[3].separator, i[3].format) == ("\t", "parquet")
    assert (i[4].extract, i[4].include_patterns, i[4].exclude_patterns, i[4].strip_root, i[4].check_checksum) == (
        "zip", ["*.txt"], ["skip/*"], True, True)
    assert (i[5].column, i[5].output_dataset_filename, i[5].output_dataset_file_column, i[5].output_dataset_only,
            i[5].include_patterns, i[5].check_checksum) == ("Resource", "dataset.parquet", "File", False, [], True)
    assert (i[6].column, i[6].output_dataset_only) == (2, True)
    assert (i[7].entity, i[7].required) == ("workunit", False)
    assert (i[8].annotation, i[8].format, i[8].resource_ids) == ("resource_sample", "csv", [1, 2])
    assert isinstance(i[9].source, FileSourceLocal) and i[9].link and i[9].resolved_filename == "in.txt"
    assert isinstance(i[10].source, FileSourceSsh) and i[10].resolved_filename == "sub/b.mzML"
    assert i[10].source.ssh.host == "fs.example.org" and i[10].link is False
    assert isinstance(i[11].source, FileSourceHttp) and i[11].resolved_filename == "data.csv"
    assert i[11].source.http.auth is None and i[11].checksum is None
    assert i[12].content == "hello\n" and i[13].content == b"\x00\x01\x02"
    assert i[14].data == {"a": 1, "b": ["x", "y"]} and i[15].data == [1, 2]


def test_write_and_reload_round_trip(all_inputs, tmp_path):
    path = tmp_path / "inputs.yml"
    write_inputs(path, list(all_inputs.inputs))
    assert load_inputs(path) == all_inputs
    kind, model = validate_file(path)
    assert kind == "inputs" and model == all_inputs


def test_write_inputs_accepts_dicts_and_validates(tmp_path):
    path = tmp_path / "inputs.yml"
    write_inputs(path, [{"type": "bfabric_resource", "id": 3}])
    assert load_inputs(path).inputs[0].id == 3
    with pytest.raises(ValueError):
        write_inputs(path, [{"type": "bfabric_resource", "id": "three"}])


def test_trusted_code_may_set_http_auth():
    value = FileSourceHttpValue.model_validate({"url": "https://x/y", "auth": "bfabric"},
                                               context={"trusted_auth": True})
    assert value.auth == "bfabric"


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        inputs_from_doc(load_yaml_text(textwrap.dedent(text), "inputs.yml"))
    return str(info.value).splitlines()


@pytest.mark.parametrize("text, expected", [
    ("inputs:\n  - type: bfabric_resource\n    id: 1\n    fielname: x\n",
     "inputs.yml:4:5: inputs[0].fielname: unknown key"),
    ("inputs:\n  - type: bfabric_resource\n    id: one\n",
     "inputs.yml:3:9: inputs[0].id: Input should be a valid integer, unable to parse string as an integer"),
    ("inputs:\n  - type: bfabric_resources\n    id: 1\n",
     "inputs.yml:2:11: inputs[0].type: unknown type 'bfabric_resources'; expected one of: 'bfabric_resource', "),
    ("inputs:\n  - id: 1\n", "inputs.yml:2:5: inputs[0]: required key 'type' is missing"),
    ("inputs:\n  - type: bfabric_dataset\n    id: 1\n", "inputs.yml:2:5: inputs[0].filename: required key is missing"),
    ("inputs:\n  - type: bfabric_dataset\n    id: 1\n    filename: /abs.csv\n",
     "inputs.yml:4:15: inputs[0].filename: must be a relative path, not '/abs.csv'"),
    ("inputs:\n  - type: bfabric_dataset\n    id: 1\n    filename: ../up.csv\n",
     "inputs.yml:4:15: inputs[0].filename: must not leave the target directory"),
    ("inputs:\n  - type: bfabric_dataset\n    id: 1\n    filename: a.csv\n    separator: ';'\n",
     "inputs.yml:5:16: inputs[0].separator: Input should be ',' or '\\t'"),
    ("inputs:\n  - type: bfabric_order_fasta\n    id: 1\n    entity: project\n    filename: f\n",
     "inputs.yml:4:13: inputs[0].entity: Input should be 'workunit' or 'order'"),
    ("inputs:\n  - type: file\n    source: {ftp: {url: x}}\n",
     "inputs.yml:3:13: inputs[0].source: source must have exactly one of the keys local, ssh or http"),
    ("inputs:\n  - type: file\n    source: {local: rel/path}\n",
     "inputs.yml:3:21: inputs[0].source.local: must be an absolute path, not 'rel/path'"),
    ("inputs:\n  - type: file\n    source: {http: {url: 'https://x/y', auth: bfabric}}\n",
     "inputs.yml:3:47: inputs[0].source.http.auth: cannot be set in inputs.yml"),
    ("inputs:\n  - type: file\n    link: true\n    source: {ssh: {host: h, path: /p}}\n",
     "inputs.yml:2:5: inputs[0]: link: true needs a local source"),
    ("inputs:\n  - type: static_yaml\n    data: 3\n    filename: x.yml\n",
     "inputs.yml:3:11: inputs[0].data: Input should be a valid dictionary"),
    ("inputs: []\nextra: 1\n", "inputs.yml:2:1: extra: unknown key"),
    ("outputs: []\n", "inputs.yml:1:1: inputs: required key is missing"),
])
def test_malformed_inputs_give_located_errors(text, expected):
    errors = errors_of(text)
    assert errors[0].startswith(expected), errors


def test_schema_model_exposed():
    assert inputs_mod.SCHEMA_MODEL is InputsSpec
    schema = InputsSpec.model_json_schema()
    assert "inputs" in schema["properties"]


def test_load_inputs_reports_unreadable_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read file"):
        load_inputs(tmp_path / "missing.yml")
