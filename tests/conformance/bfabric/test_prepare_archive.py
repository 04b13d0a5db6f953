"""bfabric-app-runner's zip-archive preparation tests, ported: a ``bfabric_resource_archive`` input
fetched (through the stand-in and this host's storage) and extracted, filters and ``strip_root``.

upstream file: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py (20 cases):
17 ported (the extraction cases end to end, the strip-root rules through ``member_paths``); 3 skipped as
plumbing (test_download_file_*: a mock of which helper downloads the zip). One case is a spec rule
here: ``extract`` other than ``zip`` is refused when inputs.yml is read, not when preparing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from specs.bfabric.inputs import InputsSpec, inputs_from_doc
from specs.source import SpecError, load_yaml_text
from tasks.bfabric.inputs.archive import member_paths
from tasks.bfabric.inputs.prepare import prepare_inputs

MEMBERS = {"root/file1.txt": "content1", "root/subdir/file2.txt": "content2", "root/file3.log": "log content",
           "other/file4.txt": "content4"}


@pytest.fixture()
def archive(standin_server, standin_client, tmp_path):
    """Returns ``prepare(members, **entry) -> target dir``: the zip as resource 42 on this host's storage."""
    store = tmp_path / "store"
    store.mkdir()

    def prepare(members: dict[str, str] = MEMBERS, target: Path | None = None, **entry) -> Path:
        with zipfile.ZipFile(store / "xyz.zip", "w") as zf:
            for name, text in members.items():
                zf.writestr(name, text)
        standin_server.seed({
            "storage": [{"id": 15, "name": "local", "host": "localhost", "basepath": f"{store}/", "protocol": "scp"}],
            "resource": [{"id": 42, "name": "xyz.zip", "workunit": 3, "storage": 15, "relativepath": "xyz.zip",
                          "status": "available"}]})
        target = target or tmp_path / "chunk"
        spec = InputsSpec.model_validate({"inputs": [{"type": "bfabric_resource_archive", "id": 42,
                                                      "filename": "extracted", "check_checksum": False, **entry}]})
        prepare_inputs(standin_client, spec, target)
        return target

    return prepare


def _files(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_zip_extraction(archive):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_zip_extraction"""
    target = archive()
    assert (target / "extracted.zip").is_file()
    assert _files(target / "extracted") == MEMBERS


def test_strip_root_multiple_dirs(archive):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_with_strip_root_multiple_dirs"""
    assert _files(archive(strip_root=True) / "extracted") == MEMBERS


def test_strip_root_single_dir(archive):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_with_strip_root_single_dir"""
    members = {"project/src/file1.py": "content1", "project/README.md": "content2", "project/subdir/file2.py": "c3"}
    assert _files(archive(members, strip_root=True) / "extracted") == {
        "src/file1.py": "content1", "README.md": "content2", "subdir/file2.py": "c3"}


def test_include_patterns(archive):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_with_include_patterns"""
    assert set(_files(archive(include_patterns=["*.txt"]) / "extracted")) == {
        "root/file1.txt", "root/subdir/file2.txt", "other/file4.txt"}


def test_exclude_patterns(archive):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_with_exclude_patterns"""
    assert set(_files(archive(exclude_patterns=["*.log"]) / "extracted")) == {
        "root/file1.txt", "root/subdir/file2.txt", "other/file4.txt"}


def test_unsupported_extract():
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_unsupported_extract"""
    doc = load_yaml_text("inputs:\n  - {type: bfabric_resource_archive, id: 1, filename: x, extract: tar}\n", "i.yml")
    with pytest.raises(SpecError, match=r"inputs\[0\]\.extract: Input should be 'zip'"):
        inputs_from_doc(doc)


def test_subdirectory_filename(archive, tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_prepare_resolved_directory_subdirectory_filename"""
    target = archive(filename="input/result")
    assert (target / "input" / "result.zip").is_file() and not (target / "input" / "input").exists()
    assert (target / "input" / "result" / "root" / "file1.txt").read_text() == "content1"


def test_caching_behavior_zip_file_reuse(archive):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_caching_behavior_zip_file_reuse"""
    target = archive()
    first = (target / "extracted.zip").stat().st_mtime
    archive(target=target)
    assert (target / "extracted.zip").stat().st_mtime >= first
    assert (target / "extracted" / "root" / "file1.txt").read_text() == "content1"


@pytest.mark.parametrize("name, strip, expected", [
    pytest.param("root/subdir/file.txt", False, "root/subdir/file.txt", id="test_get_output_file_path_no_strip"),
    pytest.param("root/subdir/file.txt", True, "subdir/file.txt", id="test_get_output_file_path_with_strip"),
])
def test_get_output_file_path(name, strip, expected):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::
    test_get_output_file_path_no_strip, test_get_output_file_path_with_strip"""
    assert member_paths([name], strip_root=strip) == {name: expected}


def test_get_output_file_path_strip_single_level():
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_get_output_file_path_strip_single_level
    (a member at the top level keeps its name: there is no root directory to strip)"""
    assert member_paths(["file.txt"], strip_root=True) == {"file.txt": "file.txt"}


@pytest.mark.parametrize("names, stripped", [
    pytest.param(["project/src/file.py", "project/README.md", "project/"], True,
                 id="test_should_strip_root_directory_single_root_dir"),
    pytest.param(["project/file.py", "README.md", "other/file.txt"], False,
                 id="test_should_strip_root_directory_multiple_root_entries"),
    pytest.param(["single_file.txt"], False, id="test_should_strip_root_directory_single_root_file"),
    pytest.param(["file1.txt", "file2.txt", "file3.txt"], False,
                 id="test_should_strip_root_directory_multiple_root_files"),
    pytest.param([], False, id="test_should_strip_root_directory_empty_list"),
    pytest.param(["project/src/file.py", "standalone.txt"], False,
                 id="test_should_strip_root_directory_mixed_scenario"),
])
def test_should_strip_root_directory(names, stripped):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_directory.py::test_should_strip_root_directory_*
    (6 cases, one parameter set each)"""
    paths = member_paths(names, strip_root=True)
    assert (paths != {n: n for n in names if not n.endswith("/")}) == stripped
