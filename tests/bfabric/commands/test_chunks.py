"""ChunksFile (discovery, needs_dispatch) and the workunit_definition.yml guard."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from specs.source import SpecError
from tasks.bfabric.chunks import (
    ChunksFile,
    NoChunksFoundError,
    workunit_definition_guard,
    write_chunk_definition,
)


def make_chunk(work: Path, name: str, inputs: bool = True) -> Path:
    chunk = work / name
    chunk.mkdir(parents=True)
    if inputs:
        (chunk / "inputs.yml").write_text("inputs: []\n")
    return chunk


def test_discovery_is_sorted_one_level_and_written(tmp_path):
    make_chunk(tmp_path, "chunk2")
    make_chunk(tmp_path, "chunk1")
    make_chunk(tmp_path, "chunk1/nested")      # nested dirs are ignored
    make_chunk(tmp_path, "no_inputs", inputs=False)
    (tmp_path / "inputs.yml").write_text("inputs: []\n")  # a plain file at the top is not a chunk
    (tmp_path / "file.txt").write_text("x")
    assert ChunksFile.read(tmp_path) == [tmp_path / "chunk1", tmp_path / "chunk2"]
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["chunk1", "chunk2"]}


def test_single_discovered_chunk_file_content(tmp_path):
    make_chunk(tmp_path, "chunk1")
    ChunksFile.read(tmp_path)
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["chunk1"]}


def test_existing_chunks_file_wins(tmp_path):
    make_chunk(tmp_path, "a")
    make_chunk(tmp_path, "b")
    (tmp_path / "chunks.yml").write_text(f"chunks: [b, sub/elsewhere, {tmp_path / 'a'}]\n")
    assert ChunksFile.read(tmp_path) == [tmp_path / "b", tmp_path / "sub/elsewhere", tmp_path / "a"]


def test_chunks_outside_the_work_dir_are_refused(tmp_path):
    (tmp_path / "chunks.yml").write_text("chunks: [b, /etc]\n")
    with pytest.raises(SpecError, match=r"chunks.yml:1:13: chunks\[1\]: a chunk must be inside the work directory \(the folder of chunks.yml\), not '/etc'"):
        ChunksFile.read(tmp_path)


def test_no_chunks_found(tmp_path):
    with pytest.raises(NoChunksFoundError, match="No chunks found"):
        ChunksFile.read(tmp_path)
    assert not (tmp_path / "chunks.yml").exists()


def test_invalid_chunks_file_is_a_located_error(tmp_path):
    (tmp_path / "chunks.yml").write_text("chunk: [a]\n")
    # upstream's ChunksFile ignores unknown keys: the missing 'chunks' names the misspelt one
    with pytest.raises(SpecError, match=r"chunks.yml:1:1: chunks: required key is missing \(is 'chunk' a mis"):
        ChunksFile.read(tmp_path)


def test_write_makes_inside_paths_relative(tmp_path):
    ChunksFile.write(tmp_path, [tmp_path / "x", Path("y")])
    assert yaml.safe_load((tmp_path / "chunks.yml").read_text()) == {"chunks": ["x", "y"]}


def test_write_refuses_chunks_outside_the_work_dir_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"chunks outside the work directory .*: /other/z"):
        ChunksFile.write(tmp_path, [tmp_path / "x", Path("/other/z")])
    assert not (tmp_path / "chunks.yml").exists()


def test_needs_dispatch_rules(tmp_path):
    # no manifest, nothing discoverable -> dispatch
    assert ChunksFile.needs_dispatch(tmp_path) is True
    # no manifest, but discoverable chunks -> no dispatch
    make_chunk(tmp_path, "c1")
    assert ChunksFile.needs_dispatch(tmp_path) is False
    # manifest whose chunks all have inputs.yml -> no dispatch
    make_chunk(tmp_path, "c2")
    ChunksFile.write(tmp_path, [Path("c1"), Path("c2")])
    assert ChunksFile.needs_dispatch(tmp_path) is False
    # a listed chunk lost its inputs.yml (e.g. the dir was removed) -> dispatch again
    (tmp_path / "c2" / "inputs.yml").unlink()
    assert ChunksFile.needs_dispatch(tmp_path) is True
    (tmp_path / "c2").rmdir()
    assert ChunksFile.needs_dispatch(tmp_path) is True


def test_guard_restores_modified_definition(tmp_path, caplog):
    definition = tmp_path / "workunit_definition.yml"
    definition.write_text("execution: {raw_parameters: {}}\n")
    with caplog.at_level(logging.WARNING):
        with workunit_definition_guard(tmp_path):
            definition.write_text("execution: {raw_parameters: {changed: yes}}\n")
    assert definition.read_text() == "execution: {raw_parameters: {}}\n"
    assert (tmp_path / "workunit_definition.yml.bak").read_text() == "execution: {raw_parameters: {changed: yes}}\n"
    assert "was modified by dispatch" in caplog.text


def test_guard_restores_even_when_dispatch_fails_or_deletes(tmp_path):
    definition = tmp_path / "workunit_definition.yml"
    definition.write_text("original\n")
    with pytest.raises(RuntimeError):
        with workunit_definition_guard(tmp_path):
            definition.unlink()
            raise RuntimeError("dispatch failed")
    assert definition.read_text() == "original\n"
    assert not (tmp_path / "workunit_definition.yml.bak").exists()


def test_guard_leaves_unchanged_definition_alone(tmp_path, caplog):
    definition = tmp_path / "workunit_definition.yml"
    definition.write_text("same\n")
    with caplog.at_level(logging.WARNING):
        with workunit_definition_guard(tmp_path):
            definition.write_text("same\n")
    assert not (tmp_path / "workunit_definition.yml.bak").exists()
    assert "modified" not in caplog.text
    with workunit_definition_guard(tmp_path / "nowhere"):
        pass  # nothing to guard


def test_chunk_definition_is_written_as_bfabric_writes_it_and_kept(tmp_path):
    """Each chunk gets the workunit_definition.yml bfabric-app-runner's outputs step caches there: the bytes
    of bfabric's own ``WorkunitDefinition.to_yaml``; an existing file is left alone (as upstream's cache)."""
    from bfabric.experimental.workunit_definition import WorkunitDefinition as BfabricDefinition

    from specs.bfabric.workunit import WorkunitDefinition

    data = {"execution": {"raw_parameters": {"application_version": "1.0.0", "x": None}, "resources": [3, 1]},
            "registration": {"application_id": 1, "application_name": "my app", "workunit_id": 7,
                             "workunit_name": "WU 7", "container_id": 2, "container_type": "project",
                             "storage_id": 3, "storage_output_folder": "p2/out", "user_id": 5}}
    (tmp_path / "expected.yml").touch()
    BfabricDefinition.model_validate(data).to_yaml(tmp_path / "expected.yml")
    chunk = tmp_path / "chunk_1"
    chunk.mkdir()
    path = write_chunk_definition(WorkunitDefinition.model_validate(data), chunk)
    assert path == chunk / "workunit_definition.yml"
    assert path.read_bytes() == (tmp_path / "expected.yml").read_bytes()
    path.write_text("kept\n")
    write_chunk_definition(WorkunitDefinition.model_validate(data), chunk)
    assert path.read_text() == "kept\n"
