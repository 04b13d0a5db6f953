"""An MD5 that B-Fabric holds in upper case is the same checksum: the fetched file is accepted, a
present file is "up to date", and the check says Correct (files and cached archives)."""

from __future__ import annotations

from specs.bfabric.inputs import InputsSpec
from tasks.bfabric.inputs.check import FileStatus
from tasks.bfabric.inputs.prepare import check_inputs, prepare_inputs

from .conftest import STORAGE_FILES, md5


def spec(*entries: dict) -> InputsSpec:
    return InputsSpec.model_validate({"inputs": list(entries)})


def upper_case_checksum(bfab, resource_id: int, relative: str) -> str:
    checksum = md5(STORAGE_FILES[relative]).upper()
    bfab.client.save("resource", {"id": resource_id, "filechecksum": checksum})
    assert bfab.client.read("resource", {"id": resource_id})[0]["filechecksum"] == checksum
    return checksum


def test_an_upper_case_md5_accepts_the_fetched_file(bfab, tools, tmp_path):
    upper_case_checksum(bfab, 10, "p1/file_10.txt")
    entries = spec({"type": "bfabric_resource", "id": 10})
    assert prepare_inputs(bfab.client, entries, tmp_path) == [tmp_path / "file_10.txt"]
    assert (tmp_path / "file_10.txt").read_bytes() == STORAGE_FILES["p1/file_10.txt"]
    assert check_inputs(bfab.client, entries, tmp_path) == [("file_10.txt", FileStatus.CORRECT)]


def test_an_upper_case_md5_keeps_a_present_file(bfab, tools, tmp_path):
    upper_case_checksum(bfab, 10, "p1/file_10.txt")
    (tmp_path / "file_10.txt").write_bytes(STORAGE_FILES["p1/file_10.txt"])
    prepare_inputs(bfab.client, spec({"type": "bfabric_resource", "id": 10}), tmp_path)
    assert tools.calls() == []  # up to date: not fetched again


def test_an_upper_case_md5_checks_a_cached_archive(bfab, tools, tmp_path):
    upper_case_checksum(bfab, 14, "p1/flat.zip")
    entries = spec({"type": "bfabric_resource_archive", "id": 14, "filename": "flat"})
    prepare_inputs(bfab.client, entries, tmp_path)
    assert check_inputs(bfab.client, entries, tmp_path) == [("flat", FileStatus.CORRECT)]
