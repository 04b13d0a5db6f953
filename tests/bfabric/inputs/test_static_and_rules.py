"""Behaviours 6-8: rules on the set of resolved inputs, static files, include/exclude filters."""

from __future__ import annotations

import os

import pytest
import yaml

from specs.bfabric.inputs import InputsSpec
from tasks.bfabric.inputs.check import FileStatus
from tasks.bfabric.inputs.patterns import filter_items
from tasks.bfabric.inputs.prepare import check_inputs, prepare_inputs, resolve_inputs
from tasks.bfabric.inputs.resolved import (
    InvalidInputsError,
    LocalSource,
    ResolvedDirectory,
    ResolvedFile,
    ResolvedStaticFile,
    apply_filter,
    validate_resolved,
)


def spec(*entries: dict) -> InputsSpec:
    return InputsSpec.model_validate({"inputs": list(entries)})


def static(name: str, content: str | bytes = "x") -> dict:
    return {"type": "static_file", "filename": name, "content": content}


# --- behaviour 6: ResolvedInputs --------------------------------------------------------------

def test_duplicate_filenames_are_rejected_even_when_spelled_differently():
    with pytest.raises(InvalidInputsError, match="duplicate input file name 'a/b.txt'"):
        resolve_inputs(None, spec(static("a/b.txt"), static("a/./b.txt")))


def test_a_file_source_defaults_to_its_basename_and_collides_with_a_static_file():
    entries = [{"type": "file", "source": {"local": "/data/x.txt"}}, static("x.txt")]
    with pytest.raises(InvalidInputsError, match="'x.txt'"):
        resolve_inputs(None, spec(*entries))


def test_dot_is_allowed_alone_but_not_with_other_entries():
    src = LocalSource("/data/a.zip")
    alone = [ResolvedDirectory(filename=".", source=src)]
    assert validate_resolved(alone) == alone
    with pytest.raises(InvalidInputsError, match="'.' must be the only input"):
        validate_resolved([ResolvedDirectory(filename=".", source=src), ResolvedStaticFile("x.txt", "x")])


def test_files_inside_a_directory_input_are_rejected():
    src = LocalSource("/data/a.zip")
    with pytest.raises(InvalidInputsError, match="'out/x.txt' is inside the directory input 'out'"):
        validate_resolved([ResolvedDirectory(filename="out", source=src), ResolvedStaticFile("out/x.txt", "x")])
    # a sibling that merely starts with the same letters is fine
    ok = [ResolvedDirectory(filename="out", source=src), ResolvedStaticFile("outside.txt", "x")]
    assert validate_resolved(ok) == ok


def test_the_zip_cache_of_a_directory_counts_as_a_file_name():
    src = LocalSource("/data/a.zip")
    with pytest.raises(InvalidInputsError, match="'out.zip'"):
        validate_resolved([ResolvedDirectory(filename="out", source=src), ResolvedStaticFile("out.zip", "x")])


def test_filter_matches_exact_names_only():
    items = [ResolvedStaticFile("a.txt", "1"), ResolvedStaticFile("b.txt", "2"),
             ResolvedFile("sub/a.txt", LocalSource("/x"))]
    assert [i.filename for i in apply_filter(items, ["a.txt"])] == ["a.txt"]
    assert [i.filename for i in apply_filter(items, ["sub/a.txt", "b.txt"])] == ["b.txt", "sub/a.txt"]
    with pytest.raises(InvalidInputsError, match="no input has that file name"):
        apply_filter(items, ["*.txt"])


def test_prepare_with_filter_writes_only_the_named_file(tmp_path):
    paths = prepare_inputs(None, spec(static("a.txt", "A"), static("b.txt", "B")), tmp_path, filter="b.txt")
    assert paths == [tmp_path / "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]


# --- behaviour 7: static files ----------------------------------------------------------------

def test_static_file_is_rewritten_only_when_its_content_changed(tmp_path):
    target = tmp_path / "config" / "params.txt"
    prepare_inputs(None, spec(static("config/params.txt", "v1")), tmp_path)
    assert target.read_text() == "v1"
    os.utime(target, (1_000_000, 1_000_000))

    prepare_inputs(None, spec(static("config/params.txt", "v1")), tmp_path)
    assert target.stat().st_mtime == 1_000_000  # same content: untouched

    prepare_inputs(None, spec(static("config/params.txt", "v2")), tmp_path)
    assert target.read_text() == "v2"
    assert target.stat().st_mtime != 1_000_000
    assert not (tmp_path / "config" / "params.txt.part").exists()


def test_static_file_with_bytes_content(tmp_path):
    data = bytes(range(256))
    prepare_inputs(None, spec(static("blob.bin", data)), tmp_path)
    assert (tmp_path / "blob.bin").read_bytes() == data
    assert check_inputs(None, spec(static("blob.bin", data)), tmp_path) == [("blob.bin", FileStatus.CORRECT)]


def test_a_directory_in_the_way_of_a_static_file_raises_value_error(tmp_path):
    (tmp_path / "params.txt").mkdir()
    with pytest.raises(ValueError, match="directory is in the way"):
        prepare_inputs(None, spec(static("params.txt", "v1")), tmp_path)


def test_static_yaml_is_written_as_yaml(tmp_path):
    data = {"threshold": 0.5, "names": ["a", "b"], "nested": {"k": True}}
    prepare_inputs(None, spec({"type": "static_yaml", "filename": "p.yml", "data": data}), tmp_path)
    assert yaml.safe_load((tmp_path / "p.yml").read_text()) == data


# --- behaviour 8: include/exclude filters -----------------------------------------------------

FILES = ["test.txt", "dir1/test.txt", "dir1/a.txt", "dir2/b.txt", "dir1/c.log", "top.log"]


@pytest.mark.parametrize(("include", "exclude", "expected"), [
    (["*.txt"], [], ["test.txt", "dir1/test.txt", "dir1/a.txt", "dir2/b.txt"]),
    (["test.txt"], [], ["test.txt"]),
    (["dir1/*.txt"], [], ["dir1/test.txt", "dir1/a.txt"]),
    ([], [], FILES),
    ([], ["*.log"], ["test.txt", "dir1/test.txt", "dir1/a.txt", "dir2/b.txt"]),
    (["*.txt"], ["dir1/*"], ["test.txt", "dir2/b.txt"]),
    (["test.txt"], ["test.txt"], []),  # exclude beats include
])
def test_filter_patterns(include, exclude, expected):
    assert filter_items(FILES, include, exclude) == expected
