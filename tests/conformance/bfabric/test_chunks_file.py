"""bfabric-app-runner's chunks.yml tests, ported: discovery, reading, and when dispatch must run again.

upstream file: tests/bfabric_app_runner/app_runner/test_runner.py (20 cases): the 13 ChunksFile cases
ported; the 7 TestRunner/TestRunApp cases are mocks of which internal function calls which
(plumbing, skipped; the same behaviour runs for real in tests/bfabric/app and bench/compat_bfabric.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tasks.bfabric.chunks import ChunksFile, NoChunksFoundError


def create_chunk(work_dir: Path, name: str) -> None:
    (work_dir / name).mkdir(parents=True)
    (work_dir / name / "inputs.yml").write_text("inputs: []\n")


def _names(work_dir: Path, chunks: list[Path]) -> list[str]:
    return [str(c.relative_to(work_dir)) for c in chunks]


def test_basic_discovery(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileInfer::test_basic_discovery"""
    create_chunk(tmp_path, "chunk1")
    create_chunk(tmp_path, "chunk2")
    assert _names(tmp_path, ChunksFile.discover(tmp_path)) == ["chunk1", "chunk2"]


def test_sorted_alphabetically(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileInfer::test_sorted_alphabetically"""
    for name in ["zebra", "alpha", "beta"]:
        create_chunk(tmp_path, name)
    assert _names(tmp_path, ChunksFile.read(tmp_path)) == ["alpha", "beta", "zebra"]


def test_no_chunks_found(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileInfer::test_no_chunks_found"""
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(NoChunksFoundError, match="No chunks found"):
        ChunksFile.read(tmp_path)
    assert not (tmp_path / "chunks.yml").exists()


def test_ignores_nested_directories(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileInfer::test_ignores_nested_directories"""
    create_chunk(tmp_path, "chunk1")
    create_chunk(tmp_path / "chunk1", "nested")
    assert _names(tmp_path, ChunksFile.read(tmp_path)) == ["chunk1"]


def test_ignores_files(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileInfer::test_ignores_files"""
    (tmp_path / "inputs.yml").touch()
    create_chunk(tmp_path, "chunk1")
    assert _names(tmp_path, ChunksFile.read(tmp_path)) == ["chunk1"]


def test_auto_discovers_when_missing(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileRead::test_auto_discovers_when_missing"""
    create_chunk(tmp_path, "chunk1")
    create_chunk(tmp_path, "chunk2")
    assert set(_names(tmp_path, ChunksFile.read(tmp_path))) == {"chunk1", "chunk2"}


def test_writes_discovered_chunks(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileRead::test_writes_discovered_chunks"""
    create_chunk(tmp_path, "chunk1")
    ChunksFile.read(tmp_path)
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["chunk1"]}


def test_prefers_existing_file(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileRead::test_prefers_existing_file"""
    (tmp_path / "chunks.yml").write_text(yaml.dump({"chunks": ["explicit_chunk"]}))
    create_chunk(tmp_path, "discovered_chunk")
    assert _names(tmp_path, ChunksFile.read(tmp_path)) == ["explicit_chunk"]


def test_no_dispatch_when_manifest_matches_disk(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileNeedsDispatch::test_no_dispatch_when_manifest_matches_disk"""
    create_chunk(tmp_path, "work")
    (tmp_path / "chunks.yml").write_text(yaml.dump({"chunks": ["work"]}))
    assert ChunksFile.needs_dispatch(tmp_path) is False


def test_dispatch_when_listed_chunk_dir_removed(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileNeedsDispatch::test_dispatch_when_listed_chunk_dir_removed"""
    (tmp_path / "chunks.yml").write_text(yaml.dump({"chunks": ["work"]}))
    assert ChunksFile.needs_dispatch(tmp_path) is True


def test_dispatch_with_absolute_manifest_paths(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileNeedsDispatch::test_dispatch_with_absolute_manifest_paths"""
    (tmp_path / "chunks.yml").write_text(yaml.dump({"chunks": [str(tmp_path / "work")]}))
    assert ChunksFile.needs_dispatch(tmp_path) is True
    create_chunk(tmp_path, "work")
    assert ChunksFile.needs_dispatch(tmp_path) is False


def test_no_dispatch_when_manifest_missing_but_dirs_discoverable(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileNeedsDispatch::test_no_dispatch_when_manifest_missing_but_dirs_discoverable"""
    create_chunk(tmp_path, "work")
    assert ChunksFile.needs_dispatch(tmp_path) is False


def test_dispatch_when_nothing_dispatched(tmp_path):
    """upstream: tests/bfabric_app_runner/app_runner/test_runner.py::TestChunksFileNeedsDispatch::test_dispatch_when_nothing_dispatched"""
    assert ChunksFile.needs_dispatch(tmp_path) is True
