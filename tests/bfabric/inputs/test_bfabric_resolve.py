"""Behaviours 10-12 and the other bfabric_* inputs, resolved through the real client and the stand-in."""

from __future__ import annotations

import io

import polars as pl
import pytest

from specs.bfabric.inputs import InputsSpec
from tasks.bfabric.inputs.lookups import NoHttpAccessError, OrderFastaError
from tasks.bfabric.inputs.prepare import prepare_inputs, resolve_inputs
from tasks.bfabric.inputs.resolved import (
    HttpSource,
    InputNotFoundError,
    InvalidInputsError,
    ResolvedDirectory,
    ResolvedFile,
    ResolvedStaticFile,
    SshSource,
)

from .conftest import STORAGE_FILES, md5


def spec(*entries: dict) -> InputsSpec:
    return InputsSpec.model_validate({"inputs": list(entries)})


def one(bfab, entry: dict):
    (item,) = resolve_inputs(bfab.client, spec(entry))
    return item


# --- behaviour 10: bfabric_resource -----------------------------------------------------------

def test_resource_defaults_to_storage_basename_with_filechecksum(bfab):
    item = one(bfab, {"type": "bfabric_resource", "id": 11})
    assert item == ResolvedFile(filename="file_11.txt",
                                source=SshSource("storagehost", f"{bfab.storage}/p1/file_11.txt"),
                                checksum=md5(STORAGE_FILES["p1/file_11.txt"]))


def test_resource_filename_and_disabled_checksum(bfab):
    item = one(bfab, {"type": "bfabric_resource", "id": 12, "filename": "in/table.csv", "check_checksum": False})
    assert item.filename == "in/table.csv"
    assert item.checksum is None
    assert item.source == SshSource("storagehost", f"{bfab.storage}/p1/sub/data.csv")


def test_several_resources_resolve_in_spec_order(bfab):
    items = resolve_inputs(bfab.client, spec({"type": "bfabric_resource", "id": 12},
                                             {"type": "static_file", "filename": "s.txt", "content": "s"},
                                             {"type": "bfabric_resource", "id": 10}))
    assert [i.filename for i in items] == ["data.csv", "s.txt", "file_10.txt"]


def test_unknown_resource_id_raises_key_error(bfab):
    with pytest.raises(KeyError) as info:
        resolve_inputs(bfab.client, spec({"type": "bfabric_resource", "id": 999}))
    assert isinstance(info.value, InputNotFoundError)
    assert str(info.value) == "B-Fabric has no resource with id 999"


def test_http_access_without_access_record_raises(bfab):
    with pytest.raises(NoHttpAccessError, match="storage 1 has no HTTP access record"):
        resolve_inputs(bfab.client, spec({"type": "bfabric_resource", "id": 10, "access": "http"}))


def test_http_access_uses_the_storage_access_url(bfab):
    bfab.server.seed({"access": [{"id": 1, "storage": 1, "type": "HTTP", "url": "https://files.example.org/store/"},
                                 {"id": 2, "storage": 2, "type": "HTTP", "url": "https://elsewhere.example.org/"}]})
    item = one(bfab, {"type": "bfabric_resource", "id": 11, "access": "http"})
    assert item.source == HttpSource(url="https://files.example.org/store/p1/file_11.txt", bfabric_auth=True)
    assert item.checksum == md5(STORAGE_FILES["p1/file_11.txt"])


def test_bfabric_inputs_need_a_client():
    with pytest.raises(Exception, match="need B-Fabric"):
        resolve_inputs(None, spec({"type": "bfabric_resource", "id": 10}))


# --- bfabric_dataset --------------------------------------------------------------------------

def test_dataset_as_csv_and_tab_separated(bfab, tmp_path):
    prepare_inputs(bfab.client, spec({"type": "bfabric_dataset", "id": 20, "filename": "ds.csv"},
                                     {"type": "bfabric_dataset", "id": 20, "filename": "ds.tsv", "separator": "\t"}),
                   tmp_path)
    assert (tmp_path / "ds.csv").read_text() == "Resource,Name\n10,first\n11,second\n"
    assert (tmp_path / "ds.tsv").read_text() == "Resource\tName\n10\tfirst\n11\tsecond\n"


def test_dataset_as_parquet(bfab, tmp_path):
    prepare_inputs(bfab.client, spec({"type": "bfabric_dataset", "id": 20, "filename": "ds.parquet",
                                      "format": "parquet"}), tmp_path)
    table = pl.read_parquet(tmp_path / "ds.parquet")
    assert table.columns == ["Resource", "Name"]
    assert table.rows() == [("10", "first"), ("11", "second")]


def test_unknown_dataset_raises(bfab):
    with pytest.raises(InputNotFoundError, match="no dataset with id 77"):
        resolve_inputs(bfab.client, spec({"type": "bfabric_dataset", "id": 77, "filename": "ds.csv"}))


# --- behaviour 11: bfabric_resource_dataset ---------------------------------------------------

def _parquet(item: ResolvedStaticFile) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(item.data))


def test_resource_dataset_writes_dataset_parquet_and_lists_files(bfab):
    items = resolve_inputs(bfab.client, spec({"type": "bfabric_resource_dataset", "id": 20, "filename": "files",
                                              "include_patterns": ["*file_10.txt"]}))
    assert [i.filename for i in items] == ["files/dataset.parquet", "files/file_10.txt"]
    table = _parquet(items[0])
    assert table.columns == ["Resource", "Name", "File"]
    assert table.select("Resource", "File").rows() == [(10, "file_10.txt")]
    assert items[1] == ResolvedFile("files/file_10.txt", SshSource("storagehost", f"{bfab.storage}/p1/file_10.txt"),
                                    checksum=md5(STORAGE_FILES["p1/file_10.txt"]))


def test_resource_dataset_column_clash_gives_dot_one_and_column_name_any_case(bfab):
    items = resolve_inputs(bfab.client, spec({"type": "bfabric_resource_dataset", "id": 21, "filename": "files",
                                              "column": "RESOURCE"}))
    table = _parquet(items[0])
    assert table.columns == ["resource", "File", "File.1"]
    assert table.rows() == [(10, "x", "file_10.txt")]


def test_resource_dataset_output_dataset_only_yields_a_single_file(bfab):
    items = resolve_inputs(bfab.client, spec({"type": "bfabric_resource_dataset", "id": 20, "filename": "files",
                                              "column": 0, "output_dataset_only": True,
                                              "output_dataset_filename": "index.parquet"}))
    assert len(items) == 1 and isinstance(items[0], ResolvedStaticFile)
    assert items[0].filename == "files/index.parquet"
    assert _parquet(items[0])["File"].to_list() == ["file_10.txt", "file_11.txt"]


def test_resource_dataset_unknown_column_is_an_inputs_problem(bfab):
    with pytest.raises(InvalidInputsError, match="dataset 20 has no column 'Nope'"):
        resolve_inputs(bfab.client, spec({"type": "bfabric_resource_dataset", "id": 20, "filename": "f",
                                          "column": "Nope"}))


# --- behaviour 12: order FASTA ----------------------------------------------------------------

@pytest.mark.parametrize("entity,id_", [("workunit", 7), ("order", 3)])
def test_order_fasta_from_workunit_container_or_order(bfab, entity, id_):
    item = one(bfab, {"type": "bfabric_order_fasta", "id": id_, "entity": entity, "filename": "order.fasta"})
    assert item == ResolvedStaticFile("order.fasta", ">prot\nMKV\n")


@pytest.mark.parametrize("entity,id_", [("workunit", 8), ("order", 4), ("order", 404)])
def test_order_fasta_missing_gives_an_empty_file_when_not_required(bfab, entity, id_):
    item = one(bfab, {"type": "bfabric_order_fasta", "id": id_, "entity": entity, "filename": "order.fasta"})
    assert item == ResolvedStaticFile("order.fasta", "")


@pytest.mark.parametrize("entity,id_,error", [("workunit", 8, OrderFastaError), ("order", 4, OrderFastaError),
                                              ("order", 404, InputNotFoundError)])
def test_order_fasta_missing_raises_when_required(bfab, entity, id_, error):
    with pytest.raises(error):
        resolve_inputs(bfab.client, spec({"type": "bfabric_order_fasta", "id": id_, "entity": entity,
                                          "filename": "order.fasta", "required": True}))


# --- bfabric_annotation -----------------------------------------------------------------------

def test_resource_sample_annotation_left_joins_samples(bfab, tmp_path):
    prepare_inputs(bfab.client, spec({"type": "bfabric_annotation", "annotation": "resource_sample",
                                      "filename": "annotation.csv", "separator": ",",
                                      "resource_ids": [11, 10, 12]}), tmp_path)
    table = pl.read_csv(tmp_path / "annotation.csv")
    assert {"resource_id", "resource_relativepath", "resource_sample_id", "sample_name", "sample_groupingvar"} \
        <= set(table.columns)
    assert table.columns.index("sample_name") > table.columns.index("resource_relativepath")  # resource_* first
    rows = table.select("resource_id", "sample_name", "sample_groupingvar").rows()
    assert rows == [(11, "S6", "B"), (10, "S5", "A"), (12, None, None)]


# --- bfabric_resource_archive -----------------------------------------------------------------

def test_archive_resolves_to_a_directory_with_its_zip_cache_name(bfab):
    item = one(bfab, {"type": "bfabric_resource_archive", "id": 13, "filename": "input/result",
                      "include_patterns": ["*.txt"], "strip_root": True})
    assert isinstance(item, ResolvedDirectory)
    assert item.archive_filename == "input/result.zip"
    assert item.source == SshSource("storagehost", f"{bfab.storage}/p1/archive.zip")
    assert item.checksum == md5(STORAGE_FILES["p1/archive.zip"])
    assert item.include_patterns == ("*.txt",) and item.strip_root
