"""bfabric-app-runner's resolved-inputs tests, ported: which sets of inputs can share one chunk folder,
and ``--filter``.

upstream file: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py (17 cases, 17 ported; in
the 2 filter-matches-nothing cases labflows raises where upstream's apply_filter returns nothing and its
caller, prepare_folder, raises: the user sees the same refusal, see test_prepare_folder.py).
"""

from __future__ import annotations

import pytest

from tasks.bfabric.inputs.resolved import (
    InvalidInputsError,
    LocalSource,
    ResolvedDirectory,
    ResolvedFile,
    ResolvedStaticFile,
    apply_filter,
    validate_resolved,
)


def file(name: str) -> ResolvedFile:
    return ResolvedFile(filename=name, source=LocalSource(f"/src/{name.replace('/', '_')}"))


def directory(name: str) -> ResolvedDirectory:
    return ResolvedDirectory(filename=name, source=LocalSource("/src/archive.zip"))


def test_no_duplicates_valid_single_file():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::test_no_duplicates_valid_single_file"""
    assert len(validate_resolved([file("test.txt")])) == 1


def test_no_duplicates_valid_multiple_files():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::test_no_duplicates_valid_multiple_files"""
    items = [file("file1.txt"), ResolvedStaticFile(filename="file2.txt", content="content"), directory("mydir")]
    assert len(validate_resolved(items)) == 3


def test_no_duplicates_exact_duplicate_filenames():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::test_no_duplicates_exact_duplicate_filenames"""
    with pytest.raises(InvalidInputsError, match="duplicate input file name 'test.txt'"):
        validate_resolved([file("test.txt"), file("test.txt")])


def test_no_duplicates_multiple_exact_duplicates():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::test_no_duplicates_multiple_exact_duplicates
    (labflows names the first duplicate it meets)."""
    with pytest.raises(InvalidInputsError, match="duplicate input file name 'file1.txt'"):
        validate_resolved([file("file1.txt"), file("file1.txt"), file("file2.txt"), file("file2.txt")])


def test_current_directory_alone_valid():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::test_current_directory_alone_valid"""
    assert len(validate_resolved([directory(".")])) == 1


def test_current_directory_with_other_files_invalid():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::test_current_directory_with_other_files_invalid"""
    with pytest.raises(InvalidInputsError, match=r"extracted into '\.' must be the only input"):
        validate_resolved([directory("."), file("test.txt")])


@pytest.mark.parametrize("items, inside", [
    pytest.param(["mydir", "mydir/file.txt"], "mydir/file.txt", id="test_directory_file_conflict_simple"),
    pytest.param(["mydir", "mydir/subdir/file.txt"], "mydir/subdir/file.txt", id="test_directory_file_conflict_nested"),
    pytest.param(["mydir/file.txt", "mydir"], "mydir/file.txt", id="test_file_directory_conflict_parent"),
    pytest.param(["mydir/subdir/file.txt", "mydir"], "mydir/subdir/file.txt",
                 id="test_file_directory_conflict_grandparent"),
])
def test_directory_conflicts(items, inside):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::
    test_directory_file_conflict_simple, test_directory_file_conflict_nested, test_file_directory_conflict_parent,
    test_file_directory_conflict_grandparent (one parameter set each)"""
    resolved = [directory(name) if name == "mydir" else file(name) for name in items]
    with pytest.raises(InvalidInputsError, match=f"input file '{inside}' is inside the directory input 'mydir'"):
        validate_resolved(resolved)


@pytest.mark.parametrize("items", [
    pytest.param([directory("dir1"), directory("dir2")], id="test_no_conflict_sibling_directories"),
    pytest.param([file("dir1/file.txt"), file("dir2/file.txt")], id="test_no_conflict_sibling_files"),
    pytest.param([directory("mydir"), file("otherfile.txt")], id="test_no_conflict_directory_and_unrelated_file"),
    pytest.param([file("data/input.txt"), ResolvedStaticFile(filename="config/settings.json", content="{}"),
                  directory("archive")], id="test_mixed_file_types_no_conflict"),
])
def test_no_conflicts(items):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsValidation::
    test_no_conflict_sibling_directories, test_no_conflict_sibling_files,
    test_no_conflict_directory_and_unrelated_file, test_mixed_file_types_no_conflict (one parameter set each)"""
    assert validate_resolved(items) == items


def test_apply_filter_keeps_matching_files():
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsApplyFilter::test_apply_filter_keeps_matching_files"""
    kept = apply_filter([file("file1.txt"), file("file2.txt"), file("file3.txt")], ["file1.txt", "file3.txt"])
    assert {f.filename for f in kept} == {"file1.txt", "file3.txt"}


@pytest.mark.parametrize("names", [pytest.param([], id="test_apply_filter_empty_filter"),
                                   pytest.param(["nonexistent.txt"], id="test_apply_filter_no_matches")])
def test_apply_filter_keeping_nothing_is_an_error(names):
    """upstream: tests/bfabric_app_runner/inputs/resolve/test_resolved_inputs.py::TestResolvedInputsApplyFilter::
    test_apply_filter_empty_filter, test_apply_filter_no_matches. Upstream's apply_filter returns nothing
    and prepare_folder then raises "did not match any input files"; labflows raises in apply_filter."""
    with pytest.raises(InvalidInputsError, match="no input has that file name"):
        apply_filter([file("file1.txt")], names)
