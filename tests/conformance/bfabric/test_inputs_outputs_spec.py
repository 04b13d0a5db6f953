"""bfabric-app-runner's inputs.yml, outputs.yml and file input tests, ported (files as users write them).

upstream files (tests/bfabric_app_runner/): specs/test_file_spec.py (7 cases, 7 ported),
specs/test_inputs_spec.py (2 cases, 2 ported), specs/test_outputs_spec.py (2 cases, 2 ported).
The serialization cases check what matters to a user: labflows writes files that read back the same
(and that upstream's field names and values appear), not upstream's exact key layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from specs.bfabric.inputs import (
    BfabricDatasetSpec,
    BfabricResourceSpec,
    FileSourceHttp,
    FileSpec,
    load_inputs,
    write_inputs,
)
from specs.bfabric.outputs import CopyResourceSpec, SaveDatasetSpec, load_outputs, write_outputs
from specs.source import SpecError


def _inputs(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "inputs.yml"
    path.write_text(yaml.safe_dump({"inputs": list(entries)}))
    return path


def _file(source: dict, **extra) -> dict:
    return {"type": "file", "source": source, **extra}


def test_http_source_get_filename_strips_query(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_http_source_get_filename_strips_query"""
    url = "https://host/data/x/reads.fastq.gz?token=abc"
    [spec] = load_inputs(_inputs(tmp_path, _file({"http": {"url": url}}))).inputs
    assert spec.resolved_filename == "reads.fastq.gz"


def test_http_source_auth_defaults_none(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_http_source_auth_defaults_none"""
    [spec] = load_inputs(_inputs(tmp_path, _file({"http": {"url": "https://host/data/f.txt"}}))).inputs
    assert spec.source.http.auth is None


def test_file_spec_accepts_http_source(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_file_spec_accepts_http_source"""
    [spec] = load_inputs(_inputs(tmp_path, _file({"http": {"url": "https://host/f.txt"}}, filename="f.txt"))).inputs
    assert isinstance(spec, FileSpec) and isinstance(spec.source, FileSourceHttp)


def test_file_spec_rejects_link_for_http_source(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_file_spec_rejects_link_for_http_source"""
    path = _inputs(tmp_path, _file({"http": {"url": "https://host/f.txt"}}, filename="f.txt", link=True))
    with pytest.raises(SpecError, match=r"inputs\[0\]: link: true needs a local source"):
        load_inputs(path)


def test_file_spec_allows_link_for_local_source(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_file_spec_allows_link_for_local_source"""
    [spec] = load_inputs(_inputs(tmp_path, _file({"local": "/tmp/f.txt"}, filename="f.txt", link=True))).inputs
    assert spec.link is True


def test_file_spec_rejects_user_supplied_auth(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_file_spec_rejects_user_supplied_auth"""
    path = _inputs(tmp_path, _file({"http": {"url": "https://host/f.txt", "auth": "bfabric"}}, filename="f.txt"))
    with pytest.raises(SpecError, match=r"inputs\[0\]\.source\.http\.auth: cannot be set in inputs.yml"):
        load_inputs(path)


def test_file_spec_accepts_http_source_without_auth(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_file_spec.py::test_file_spec_accepts_http_source_without_auth"""
    path = _inputs(tmp_path, _file({"http": {"url": "https://host/f.txt", "auth": None}}, filename="f.txt"))
    assert load_inputs(path).inputs[0].source.http.auth is None


# upstream's serialized InputsSpec, as an inputs.yml
INPUTS_YAML = """\
inputs:
- check_checksum: true
  filename: filename
  id: 1
  type: bfabric_resource
- filename: filename
  id: 2
  separator: ','
  type: bfabric_dataset
"""


def test_read_inputs_yaml(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_inputs_spec.py::test_read_yaml

    Deliberate difference (docs/compatibility.md): upstream's fixture gives both inputs the file name
    ``filename``; upstream parses that and refuses it only when the inputs are prepared
    (ResolvedInputs: duplicate file names), labflows refuses it when the file is read, located.
    """
    (tmp_path / "inputs.yml").write_text(INPUTS_YAML)
    with pytest.raises(SpecError, match=r"inputs.yml:6:13: inputs\[1\]\.filename: duplicate file name 'filename'"):
        load_inputs(tmp_path / "inputs.yml")
    renamed = INPUTS_YAML.replace("- filename: filename\n  id: 2", "- filename: other\n  id: 2")
    (tmp_path / "inputs.yml").write_text(renamed)
    resource, dataset = load_inputs(tmp_path / "inputs.yml").inputs
    assert isinstance(resource, BfabricResourceSpec) and (resource.id, resource.filename) == (1, "filename")
    assert resource.check_checksum is True
    assert isinstance(dataset, BfabricDatasetSpec) and (dataset.id, dataset.separator) == (2, ",")


def test_write_inputs_yaml(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_inputs_spec.py::test_write_yaml"""
    entries = yaml.safe_load(INPUTS_YAML)["inputs"]
    entries[1]["filename"] = "other"
    written = write_inputs(tmp_path / "inputs.yml", entries)
    assert load_inputs(tmp_path / "inputs.yml") == written
    again = yaml.safe_load((tmp_path / "inputs.yml").read_text())["inputs"]
    assert again[0] | {"check_checksum": True, "id": 1, "type": "bfabric_resource"} == again[0]
    assert {k: again[1][k] for k in ("type", "id", "filename", "separator")} == {
        "type": "bfabric_dataset", "id": 2, "filename": "other", "separator": ","}


# upstream's serialized OutputsSpec, as an outputs.yml
OUTPUTS_YAML = """\
outputs:
- local_path: local_path
  protocol: scp
  store_entry_path: store_entry_path
  store_folder_path: null
  type: bfabric_copy_resource
  update_existing: 'no'
- format: csv
  has_header: true
  invalid_characters: ''
  local_path: local_path
  name: null
  separator: separator
  type: bfabric_dataset
  update_existing: if_exists
"""


def test_parse_outputs(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_outputs_spec.py::test_parse"""
    (tmp_path / "outputs.yml").write_text(OUTPUTS_YAML)
    copy, dataset = load_outputs(tmp_path / "outputs.yml").outputs
    assert isinstance(copy, CopyResourceSpec)
    assert (str(copy.local_path), str(copy.store_entry_path), copy.store_folder_path) == (
        "local_path", "store_entry_path", None)
    assert (copy.protocol, str(getattr(copy.update_existing, "value", copy.update_existing))) == ("scp", "no")
    assert isinstance(dataset, SaveDatasetSpec)
    # name: null is the file's stem when registered, upstream (at registration) as here (when read)
    assert (dataset.separator, dataset.has_header, dataset.invalid_characters, dataset.name) == (
        "separator", True, "", "local_path")
    assert str(getattr(dataset.update_existing, "value", dataset.update_existing)) == "if_exists"


def test_serialize_outputs(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/test_outputs_spec.py::test_serialize"""
    (tmp_path / "in.yml").write_text(OUTPUTS_YAML)
    spec = load_outputs(tmp_path / "in.yml")
    write_outputs(tmp_path / "outputs.yml", list(spec.outputs))
    assert load_outputs(tmp_path / "outputs.yml") == spec
    entries = yaml.safe_load((tmp_path / "outputs.yml").read_text())["outputs"]
    assert entries[0]["update_existing"] == "no"  # quoted: YAML 1.1 would read a bare no as false
