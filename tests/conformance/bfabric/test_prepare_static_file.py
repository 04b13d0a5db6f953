"""bfabric-app-runner's static-file preparation tests, ported: written once, rewritten only when changed.

upstream file: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py (8 cases,
8 ported; upstream checks its log calls, here the file and its mtime are checked).
"""

from __future__ import annotations

import os

import pytest

from tasks.bfabric.inputs.resolved import ResolvedStaticFile
from tasks.bfabric.inputs.static import write_static


def test_prepare_resolved_static_file(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_prepare_resolved_static_file"""
    assert write_static(ResolvedStaticFile("test.txt", "test content"), tmp_path / "dir" / "test.txt") is True
    assert (tmp_path / "dir" / "test.txt").read_text() == "test content"


def test_prepare_resolved_static_file_nested_path(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_prepare_resolved_static_file_nested_path"""
    path = tmp_path / "nested" / "path" / "test.txt"
    write_static(ResolvedStaticFile("nested/path/test.txt", "test content"), path)
    assert path.read_text() == "test content"


def test_write_file_if_changed_file_does_not_exist(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_write_file_if_changed_file_does_not_exist"""
    assert write_static(ResolvedStaticFile("file.txt", "test content"), tmp_path / "file.txt") is True
    assert (tmp_path / "file.txt").read_text() == "test content"


def test_write_file_if_changed_file_exists_with_same_content(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_write_file_if_changed_file_exists_with_same_content"""
    path = tmp_path / "file.txt"
    path.write_text("existing content")
    os.utime(path, (1_000_000, 1_000_000))
    assert write_static(ResolvedStaticFile("file.txt", "existing content"), path) is False
    assert path.stat().st_mtime == 1_000_000


def test_write_file_if_changed_file_exists_with_different_content(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_write_file_if_changed_file_exists_with_different_content"""
    path = tmp_path / "file.txt"
    path.write_text("existing content")
    os.utime(path, (1_000_000, 1_000_000))
    assert write_static(ResolvedStaticFile("file.txt", "new content"), path) is True
    assert path.read_text() == "new content" and path.stat().st_mtime > 1_000_000


def test_write_file_if_changed_path_exists_but_not_file(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_write_file_if_changed_path_exists_but_not_file"""
    (tmp_path / "dir").mkdir()
    with pytest.raises(ValueError, match="directory is in the way"):
        write_static(ResolvedStaticFile("dir", "test content"), tmp_path / "dir")


def test_write_file_if_changed_binary_content(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_write_file_if_changed_binary_content"""
    write_static(ResolvedStaticFile("file.bin", b"binary content"), tmp_path / "file.bin")
    assert (tmp_path / "file.bin").read_bytes() == b"binary content"


def test_write_file_if_changed_binary_content_same_content(tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_static_file.py::test_write_file_if_changed_binary_content_same_content"""
    path = tmp_path / "file.bin"
    path.write_bytes(b"binary content")
    os.utime(path, (1_000_000, 1_000_000))
    assert write_static(ResolvedStaticFile("file.bin", b"binary content"), path) is False
    assert path.stat().st_mtime == 1_000_000
