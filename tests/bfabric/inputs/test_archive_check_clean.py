"""Behaviour 9 (zip inputs), the check statuses and clean."""

from __future__ import annotations

import pytest

from specs.bfabric.inputs import InputsSpec
from tasks.bfabric.inputs.archive import ArchiveError, extract_zip, member_paths
from tasks.bfabric.inputs.check import FileStatus
from tasks.bfabric.inputs.prepare import check_inputs, clean_inputs, prepare_inputs

from .conftest import STORAGE_FILES, zip_bytes


def spec(*entries: dict) -> InputsSpec:
    return InputsSpec.model_validate({"inputs": list(entries)})


def archive(id_: int = 13, filename: str = "input/result", **extra) -> dict:
    return {"type": "bfabric_resource_archive", "id": id_, "filename": filename, **extra}


def tree(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- behaviour 9: zip inputs ------------------------------------------------------------------

def test_strip_root_applies_only_with_a_single_top_level_directory():
    single = ["root/", "root/a.txt", "root/dir1/b.txt"]
    assert member_paths(single, strip_root=True) == {"root/a.txt": "a.txt", "root/dir1/b.txt": "dir1/b.txt"}
    assert member_paths(single, strip_root=False) == {"root/a.txt": "root/a.txt", "root/dir1/b.txt": "root/dir1/b.txt"}
    two_roots = ["a/x.txt", "b/y.txt"]
    assert member_paths(two_roots, strip_root=True) == {"a/x.txt": "a/x.txt", "b/y.txt": "b/y.txt"}
    file_at_top = ["root/x.txt", "top.txt"]
    assert member_paths(file_at_top, strip_root=True) == {"root/x.txt": "root/x.txt", "top.txt": "top.txt"}


def test_unsafe_member_names_are_refused(tmp_path):
    zpath = tmp_path / "evil.zip"
    zpath.write_bytes(zip_bytes({"../evil.txt": "x"}))
    with pytest.raises(ArchiveError, match="outside the directory"):
        extract_zip(zpath, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_archive_input_result_gives_result_zip_and_result_dir(bfab, tools, tmp_path):
    paths = prepare_inputs(bfab.client, spec(archive(strip_root=True)), tmp_path)
    assert paths == [tmp_path / "input/result"]
    assert (tmp_path / "input/result.zip").read_bytes() == STORAGE_FILES["p1/archive.zip"]
    assert not (tmp_path / "input/input").exists()
    assert tree(tmp_path / "input/result") == ["a.txt", "dir1/b.txt", "dir1/c.log"]
    assert tools.calls()[0][-1] == str(tmp_path / "input/result.zip.part")


def test_archive_filters_apply_after_strip_root(bfab, tools, tmp_path):
    prepare_inputs(bfab.client, spec(archive(strip_root=True, include_patterns=["*.txt"],
                                             exclude_patterns=["dir1/*"])), tmp_path)
    assert tree(tmp_path / "input/result") == ["a.txt"]


def test_archive_without_strip_root_and_multiple_roots(bfab, tools, tmp_path):
    prepare_inputs(bfab.client, spec(archive(14, "flat", strip_root=True)), tmp_path)
    assert tree(tmp_path / "flat") == ["a.txt", "dir1/b.txt"]


def test_archive_is_cached_and_the_directory_replaced_on_a_new_prepare(bfab, tools, tmp_path):
    prepare_inputs(bfab.client, spec(archive(strip_root=True)), tmp_path)
    (tmp_path / "input/result/stray.txt").write_text("left over")
    prepare_inputs(bfab.client, spec(archive(strip_root=True, include_patterns=["a.txt"])), tmp_path)
    assert tools.names() == ["rsync"]  # the cached zip was up to date
    assert tree(tmp_path / "input/result") == ["a.txt"]
    assert not list((tmp_path / "input").glob(".result.extracting-*"))


def test_archive_extracted_into_dot(bfab, tools, tmp_path):
    work = tmp_path / "work"
    prepare_inputs(bfab.client, spec(archive(14, ".")), work)
    assert tree(work) == [".archive.zip", "a.txt", "dir1/b.txt"]
    assert check_inputs(bfab.client, spec(archive(14, ".")), work) == [(".", FileStatus.CORRECT)]


# --- check ------------------------------------------------------------------------------------

def test_check_statuses_for_files(bfab, tools, tmp_path):
    entries = spec({"type": "bfabric_resource", "id": 10},
                   {"type": "bfabric_resource", "id": 11, "check_checksum": False},
                   {"type": "static_file", "filename": "s.txt", "content": "static"},
                   {"type": "bfabric_resource", "id": 12})
    assert [s for _, s in check_inputs(bfab.client, entries, tmp_path)] == [FileStatus.MISSING] * 4
    prepare_inputs(bfab.client, entries, tmp_path)
    assert check_inputs(bfab.client, entries, tmp_path) == [
        ("file_10.txt", FileStatus.CORRECT), ("file_11.txt", FileStatus.NOT_CHECKED),
        ("s.txt", FileStatus.CORRECT), ("data.csv", FileStatus.CORRECT)]
    (tmp_path / "file_10.txt").write_text("tampered")
    (tmp_path / "s.txt").write_text("edited")
    statuses = dict(check_inputs(bfab.client, entries, tmp_path))
    assert statuses["file_10.txt"] == FileStatus.INCORRECT and statuses["s.txt"] == FileStatus.INCORRECT
    assert str(FileStatus.NOT_CHECKED) == "NotChecked"


def test_check_statuses_for_directories(bfab, tools, tmp_path):
    entries = spec(archive(strip_root=True))
    assert check_inputs(bfab.client, entries, tmp_path) == [("input/result", FileStatus.MISSING)]
    prepare_inputs(bfab.client, entries, tmp_path)
    assert check_inputs(bfab.client, entries, tmp_path) == [("input/result", FileStatus.CORRECT)]
    (tmp_path / "input/result.zip").write_bytes(b"not the zip")
    assert check_inputs(bfab.client, entries, tmp_path) == [("input/result", FileStatus.INCORRECT)]
    (tmp_path / "input/result.zip").unlink()
    assert check_inputs(bfab.client, entries, tmp_path) == [("input/result", FileStatus.NOT_CHECKED)]
    for p in (tmp_path / "input/result").rglob("*"):
        if p.is_file():
            p.unlink()
    for p in sorted((tmp_path / "input/result").rglob("*"), reverse=True):
        p.rmdir()
    assert check_inputs(bfab.client, entries, tmp_path) == [("input/result", FileStatus.INCORRECT)]  # empty


# --- clean ------------------------------------------------------------------------------------

def test_clean_removes_files_links_directories_and_zip_caches(bfab, tools, tmp_path):
    local = tmp_path / "local.txt"
    local.write_text("l")
    work = tmp_path / "work"
    entries = spec({"type": "bfabric_resource", "id": 10},
                   {"type": "file", "source": {"local": str(local)}, "filename": "linked.txt", "link": True},
                   {"type": "static_file", "filename": "s.txt", "content": "x"},
                   archive(strip_root=True))
    prepare_inputs(bfab.client, entries, work)
    (work / "other.txt").write_text("not an input")
    removed = clean_inputs(bfab.client, entries, work)
    assert sorted(str(p.relative_to(work)) for p in removed) == [
        "file_10.txt", "input/result", "input/result.zip", "linked.txt", "s.txt"]
    assert tree(work) == ["other.txt"]
    assert local.exists()  # the link went, not its target
    assert clean_inputs(bfab.client, entries, work) == []


def test_clean_with_filter(tmp_path):
    entries = spec({"type": "static_file", "filename": "a.txt", "content": "a"},
                   {"type": "static_file", "filename": "b.txt", "content": "b"})
    prepare_inputs(None, entries, tmp_path)
    assert clean_inputs(None, entries, tmp_path, filter="a.txt") == [tmp_path / "a.txt"]
    assert tree(tmp_path) == ["b.txt"]
