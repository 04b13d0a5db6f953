"""bfabric-app-runner's input resolution tests, ported: what each inputs.yml entry turns into (source,
target name, checksum, content), B-Fabric entities read from the stand-in with the real client.

upstream files (tests/bfabric_app_runner/inputs/resolve/): test_resolve_bfabric_resource_specs.py
(8 cases, 8 ported), test_resolve_file_specs.py (2 cases, 2 ported), test_resolve_static_yaml_specs.py
(1 case, 1 ported), test_resolve_bfabric_static_file_specs.py (1 case, 1 ported),
test_resolve_bfabric_dataset_specs.py (5 cases, 5 ported; the CSV compared with bfabric's own get_csv),
test_resolve_bfabric_order_fasta_specs.py (4 cases, 4 ported), test_resolve_bfabric_resource_archive_specs.py
(2 cases, 2 ported), test_resolve_bfabric_resource_dataset_specs.py (7 cases: 6 ported, 1 skipped as plumbing:
TestInternals::test_resolve_unfiltered_dataset checks upstream's temporary columns, "can be deleted" says its
docstring), test_resolve_bfabric_annotation_specs.py (4 cases, 4 ported; upstream's resource mock embeds the
sample's fields, a real B-Fabric resource refers to its sample by id: the sample_* columns carry them).
"""

from __future__ import annotations

import pytest

from specs.bfabric.inputs import InputsSpec, StaticYamlSpec
from tasks.bfabric.inputs.lookups import NoHttpAccessError
from tasks.bfabric.inputs.resolve import INPUT_HANDLERS, resolve_specs
from tasks.bfabric.inputs.resolved import (
    HttpSource,
    LocalSource,
    ResolvedDirectory,
    ResolvedFile,
    ResolvedStaticFile,
    SshSource,
)

SEED = {
    "storage": [{"id": 11, "name": "s1", "host": "example.com", "basepath": "/data1/", "protocol": "scp"},
                {"id": 12, "name": "s2", "host": "example2.com", "basepath": "/data2/", "protocol": "scp"}],
    "resource": [
        {"id": 101, "name": "file1.txt", "workunit": 3, "storage": 11, "relativepath": "path/to/file1.txt",
         "filechecksum": "abc123", "status": "available"},
        {"id": 102, "name": "file2.txt", "workunit": 3, "storage": 12, "relativepath": "path/to/file2.txt",
         "filechecksum": "def456", "status": "available"},
    ],
}


def _specs(*entries: dict) -> list:
    return list(InputsSpec.model_validate({"inputs": list(entries)}).inputs)


@pytest.fixture()
def client(standin_server, standin_client):
    standin_server.seed(SEED)
    return standin_client


def test_call(client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_call"""
    [item] = resolve_specs(client, _specs({"type": "bfabric_resource", "id": 101, "filename": "renamed_file.txt"}))
    assert isinstance(item, ResolvedFile)
    assert (item.filename, item.link, item.checksum) == ("renamed_file.txt", False, "abc123")
    assert item.source == SshSource(host="example.com", path="/data1/path/to/file1.txt")


def test_call_when_empty():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_call_when_empty"""
    assert resolve_specs(None, []) == []


def test_call_multiple_resources(client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_call_multiple_resources"""
    first, second = resolve_specs(client, _specs(
        {"type": "bfabric_resource", "id": 101, "filename": "renamed_file1.txt"},
        {"type": "bfabric_resource", "id": 102, "check_checksum": False}))
    assert (first.filename, first.checksum, first.source) == (
        "renamed_file1.txt", "abc123", SshSource(host="example.com", path="/data1/path/to/file1.txt"))
    assert (second.filename, second.checksum, second.source) == (
        "file2.txt", None, SshSource(host="example2.com", path="/data2/path/to/file2.txt"))


def test_call_when_resource_missing_raises_key_error(client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_call_when_resource_missing_raises_key_error"""
    with pytest.raises(KeyError, match="999"):
        resolve_specs(client, _specs({"type": "bfabric_resource", "id": 101, "filename": "found.txt"},
                                     {"type": "bfabric_resource", "id": 999, "filename": "missing.txt"}))


def test_get_file_spec(client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_get_file_spec"""
    [item] = resolve_specs(client, _specs({"type": "bfabric_resource", "id": 101, "filename": "custom_name.txt"}))
    assert (item.filename, item.link, item.checksum) == ("custom_name.txt", False, "abc123")
    assert (item.source.host, item.source.path) == ("example.com", "/data1/path/to/file1.txt")


def test_get_file_spec_http_access(client, standin_server):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_get_file_spec_http_access"""
    standin_server.seed({"access": [{"id": 1, "storage": 11, "type": "HTTP", "protocol": "https",
                                     "host": "trace.example.com", "basepath": "/data/"}]})
    [item] = resolve_specs(client, _specs({"type": "bfabric_resource", "id": 101, "filename": "renamed.txt",
                                           "access": "http"}))
    assert (item.filename, item.checksum) == ("renamed.txt", "abc123")
    assert item.source == HttpSource(url="https://trace.example.com/data/path/to/file1.txt", bfabric_auth=True)


def test_get_file_spec_http_access_no_records_raises(client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_get_file_spec_http_access_no_records_raises"""
    with pytest.raises(NoHttpAccessError, match="storage 11 has no HTTP access record"):
        resolve_specs(client, _specs({"type": "bfabric_resource", "id": 101, "access": "http"}))


def test_get_file_spec_no_filename(client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_specs.py::test_get_file_spec_no_filename"""
    [item] = resolve_specs(client, _specs({"type": "bfabric_resource", "id": 101, "check_checksum": False}))
    assert (item.filename, item.checksum) == ("file1.txt", None)


def test_resolve_file_specs_call():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_file_specs.py::test_call"""
    [spec] = _specs({"type": "file", "source": {"local": "/scratch/test.txt"}, "link": True, "checksum": "1234"})
    first = INPUT_HANDLERS[type(spec)].resolve(None, spec)
    assert first == INPUT_HANDLERS[type(spec)].resolve(None, spec)
    assert first == [ResolvedFile(filename="test.txt", source=LocalSource("/scratch/test.txt"), checksum="1234",
                                  link=True)]


def test_call_http_source_anonymous_passthrough():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_file_specs.py::test_call_http_source_anonymous_passthrough"""
    [item] = resolve_specs(None, _specs({"type": "file", "source": {"http": {"url": "https://example.org/x"}},
                                         "filename": "x.txt"}))
    assert item.source == HttpSource(url="https://example.org/x", bfabric_auth=False)


def test_resolve_static_yaml_call():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_static_yaml_specs.py::test_call"""
    spec = StaticYamlSpec(type="static_yaml", data={"key": "value"}, filename="test.yaml")
    results = [item for s in (spec, spec) for item in INPUT_HANDLERS[StaticYamlSpec].resolve(None, s)]
    assert [(r.filename, r.content) for r in results] == [("test.yaml", "key: value\n")] * 2


def test_resolve_static_file_call():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_static_file_specs.py::test_call"""
    [spec] = _specs({"type": "static_file", "content": "Hello World!", "filename": "hello.txt"})
    results = [item for _ in range(2) for item in INPUT_HANDLERS[type(spec)].resolve(None, spec)]
    expected = ("hello.txt", "Hello World!", ResolvedStaticFile)
    assert [(r.filename, r.content, type(r)) for r in results] == [expected] * 2


def _bfabric_csv(client, dataset_id: int, separator: str) -> str:
    """The CSV text bfabric's own Dataset entity makes (what upstream writes)."""
    return client.reader.read_id("dataset", dataset_id).get_csv(separator=separator)


@pytest.mark.parametrize("separator", [",", "\t"])
def test_dataset_call(standin_client, separator):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_dataset_specs.py::test_call
    and ::test_get_content_when_csv (seed dataset 1, both separators)"""
    [item] = resolve_specs(standin_client, _specs({"type": "bfabric_dataset", "id": 1, "filename": "test.csv",
                                                   "separator": separator}))
    assert isinstance(item, ResolvedStaticFile) and item.filename == "test.csv"
    assert item.content == _bfabric_csv(standin_client, 1, separator)
    assert item.content.splitlines()[1].split(separator)[:2] == ["1", "sample_1"]


def test_dataset_when_missing_raises_key_error(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_dataset_specs.py::test_call_when_dataset_missing_raises_key_error"""
    with pytest.raises(KeyError, match="999"):
        resolve_specs(standin_client, _specs({"type": "bfabric_dataset", "id": 1, "filename": "found.csv"},
                                             {"type": "bfabric_dataset", "id": 999, "filename": "missing.csv"}))


def test_dataset_call_when_empty(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_dataset_specs.py::test_call_when_empty"""
    assert resolve_specs(standin_client, []) == []


def test_dataset_get_content_when_parquet(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_dataset_specs.py::test_get_content_when_parquet"""
    import io

    import polars as pl

    [item] = resolve_specs(standin_client, _specs({"type": "bfabric_dataset", "id": 1, "filename": "t.parquet",
                                                   "format": "parquet"}))
    expected = standin_client.reader.read_id("dataset", 1).to_polars()
    assert pl.read_parquet(io.BytesIO(item.content)).equals(expected)


ORDER_SEED = {
    "order": [{"id": 5, "name": "O5", "project": 1, "fastasequence": "ACGT"},
              {"id": 6, "name": "O6", "project": 1, "fastasequence": "TAGC"}],
    "workunit": [{"id": 50, "name": "wu in order", "application": 1, "container": {"classname": "order", "id": 5},
                  "status": "pending", "createdby": "standin"}],
}


@pytest.mark.parametrize("entity, entity_id, expected", [
    pytest.param("workunit", 50, "ACGT", id="test_call+test_get_order_fasta_when_workunit"),
    pytest.param("order", 6, "TAGC", id="test_get_order_fasta_when_order"),
])
def test_order_fasta(standin_server, standin_client, entity, entity_id, expected):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_order_fasta_specs.py::test_call,
    ::test_get_order_fasta_when_workunit, ::test_get_order_fasta_when_order"""
    standin_server.seed(ORDER_SEED)
    [item] = resolve_specs(standin_client, _specs({"type": "bfabric_order_fasta", "id": entity_id, "entity": entity,
                                                   "filename": "test.fasta", "required": True}))
    assert (item.filename, item.content) == ("test.fasta", expected)


def test_order_fasta_call_when_empty(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_order_fasta_specs.py::test_call_when_empty"""
    assert resolve_specs(standin_client, []) == []


@pytest.mark.parametrize("basepath", ["/srv/www/htdocs/", "/srv/www/htdocs"])
def test_archive_source(standin_server, standin_client, basepath):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_archive_specs.py::
    test_get_file_source_with_posixpath, ::test_call_with_posixpath_storage_path (a basepath with and without
    its trailing slash)"""
    standin_server.seed({
        "storage": [{"id": 13, "name": "www", "host": "example.com", "basepath": basepath, "protocol": "scp"}],
        "resource": [{"id": 42, "name": "xyz.zip", "workunit": 3, "storage": 13, "relativepath": "xyz.zip",
                      "filechecksum": "abc123", "status": "available"}]})
    [item] = resolve_specs(standin_client, _specs({"type": "bfabric_resource_archive", "id": 42,
                                                   "filename": "output_dir"}))
    assert isinstance(item, ResolvedDirectory) and item.filename == "output_dir"
    assert item.source == SshSource(host="example.com", path="/srv/www/htdocs/xyz.zip")
    assert item.checksum == "abc123"


def _resource_dataset_seed(other_column: bool) -> dict:
    columns = [("Resource", "Resource")] + ([("OtherColumn", "String")] if other_column else [])
    rows = [[str(i)] + ([str(i + 10)] if other_column else []) for i in (10, 11, 12)]
    return {
        "storage": [{"id": 14, "name": "base", "host": "storage_host", "basepath": "/base/path/", "protocol": "scp"}],
        "resource": [{"id": i, "name": f"file_{i}.txt", "workunit": 3, "storage": 14,
                      "relativepath": f"path/to/file_{i}.txt", "filechecksum": f"checksum_{i}",
                      "status": "available"} for i in (10, 11, 12)],
        "dataset": [{"id": 20, "name": "resources", "container": 1,
                     "attribute": [{"name": n, "position": p, "type": t} for p, (n, t) in enumerate(columns, 1)],
                     "item": [{"position": r, "field": [{"attributeposition": p, "value": v}
                                                        for p, v in enumerate(row, 1)]}
                              for r, row in enumerate(rows, 1)]}],
    }


def _resource_dataset(server, client, scenario: str) -> tuple[list, "object"]:
    import io

    import polars as pl

    server.seed(_resource_dataset_seed(other_column=scenario != "minimal" and scenario != "dataset_only"))
    entry = {"type": "bfabric_resource_dataset", "id": 20, "filename": "files",
             "output_dataset_only": scenario == "dataset_only"}
    if scenario == "complex_output_column_conflict":
        entry["output_dataset_file_column"] = "OtherColumn"
    result = resolve_specs(client, _specs(entry))
    [table_file] = [r for r in result if isinstance(r, ResolvedStaticFile)]
    assert table_file.filename == "files/dataset.parquet"
    return result, pl.read_parquet(io.BytesIO(table_file.content))


@pytest.mark.parametrize("scenario", ["minimal", "complex"])
def test_resource_dataset_result_len(standin_server, standin_client, scenario):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_dataset_specs.py::TestResolveSpec::test_result_len"""
    result, _ = _resource_dataset(standin_server, standin_client, scenario)
    assert len(result) == 4


@pytest.mark.parametrize("scenario, columns, row", [
    pytest.param("minimal", ["Resource", "File"], (10, "file_10.txt"), id="test_result_dataset_minimal"),
    pytest.param("complex", ["Resource", "OtherColumn", "File"], (10, "20", "file_10.txt"),
                 id="test_result_dataset_complex"),
    pytest.param("complex_output_column_conflict", ["Resource", "OtherColumn", "OtherColumn.1"],
                 (10, "20", "file_10.txt"), id="test_result_dataset_when_conflict"),
])
def test_resource_dataset_table(standin_server, standin_client, scenario, columns, row):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_dataset_specs.py::TestResolveSpec::
    test_result_dataset_minimal, test_result_dataset_complex, test_result_dataset_when_conflict (one parameter set
    each). The resource ids are integers as in upstream; other cells are text, as B-Fabric stores them (upstream's
mock gives ints there)."""
    _, table = _resource_dataset(standin_server, standin_client, scenario)
    assert table.columns == columns and table.row(0) == row


@pytest.mark.parametrize("scenario", ["minimal", "complex", "complex_output_column_conflict"])
def test_resource_dataset_files(standin_server, standin_client, scenario):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_dataset_specs.py::TestResolveSpec::test_result_files"""
    result, _ = _resource_dataset(standin_server, standin_client, scenario)
    files = sorted((r for r in result if isinstance(r, ResolvedFile)), key=lambda f: f.filename)
    assert files == [ResolvedFile(filename=f"files/file_{i}.txt", checksum=f"checksum_{i}",
                                  source=SshSource(host="storage_host", path=f"/base/path/path/to/file_{i}.txt"))
                     for i in (10, 11, 12)]


def test_resource_dataset_only(standin_server, standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_resource_dataset_specs.py::TestResolveSpec::test_dataset_only"""
    result, table = _resource_dataset(standin_server, standin_client, "dataset_only")
    assert [r.filename for r in result] == ["files/dataset.parquet"]
    assert table.columns == ["Resource", "File"] and table.row(0) == (10, "file_10.txt")


def _annotation(filename: str, resource_ids: list[int]) -> dict:
    return {"type": "bfabric_annotation", "annotation": "resource_sample", "filename": filename, "separator": ",",
            "resource_ids": resource_ids}


@pytest.mark.parametrize("resource_ids, sample_names", [
    pytest.param([1, 2], ["sample_1", "sample_2"], id="standard"),
    pytest.param([1, 30], ["sample_1", None], id="partially_annotated"),
])
def test_resource_sample_annotation(standin_server, standin_client, resource_ids, sample_names):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_annotation_specs.py::TestGetResourceSampleAnnotation::test
    (both scenarios): resource_* columns left-joined with sample_* columns, one row per resource, in order."""
    import io

    import polars as pl

    standin_server.seed({"resource": [{"id": 30, "name": "nosample.txt", "workunit": 3, "storage": 2,
                                       "relativepath": "inputs/none.txt", "status": "available"}]})
    [item] = resolve_specs(standin_client, _specs(_annotation("dummy.csv", resource_ids)))
    table = pl.read_csv(io.StringIO(item.content))
    assert table["resource_id"].to_list() == resource_ids
    assert table["sample_name"].to_list() == sample_names
    assert {"resource_sample_id", "sample_groupingvar"} <= set(table.columns)


def test_annotation_call(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_annotation_specs.py::test_call"""
    [item] = resolve_specs(standin_client, _specs(_annotation("annotation.gff", [3])))
    assert isinstance(item, ResolvedStaticFile) and item.filename == "annotation.gff"
    assert "sample_3" in item.content


def test_annotation_call_when_empty(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_annotation_specs.py::test_call_when_empty"""
    assert resolve_specs(standin_client, []) == []


def test_annotation_call_multiple_specs(standin_client):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolve_bfabric_annotation_specs.py::test_call_multiple_specs"""
    first, second = resolve_specs(standin_client, _specs(_annotation("annotation1.gff", [1]),
                                                         _annotation("annotation2.gff", [2])))
    assert (first.filename, second.filename) == ("annotation1.gff", "annotation2.gff")
    assert "sample_1" in first.content and "sample_2" in second.content and "sample_1" not in second.content
