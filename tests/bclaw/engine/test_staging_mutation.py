"""tasks/bclaw/staging.py called directly on a local repository: no Prefect server, no flow.

These are the fast tests ``make mutate`` judges staging's mutants by (bench/mutate.py runs them
with ``--noconftest``, so they need no fixture of a conftest); the flow-level behaviour is in
test_command_step.py.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from blocks.local import LocalRepository
from tasks.bclaw import staging
from tasks.bclaw.staging import (
    MissingInputError,
    UploadedOutput,
    download_inputs,
    fetch_references,
    input_uri,
    is_full_uri,
    merge_tags,
    upload_outputs,
)

REPO = "s3://bucket/repo"


@pytest.fixture
def repo(tmp_path) -> LocalRepository:
    return LocalRepository(root=str(tmp_path / "storage"))


@pytest.fixture
def workspace(tmp_path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


def output(name: str, dest: str | None = None, s3_tags: dict | None = None) -> SimpleNamespace:
    """An output spec as upload_outputs reads it (name, dest, s3_tags)."""
    return SimpleNamespace(name=name, dest=dest, s3_tags=s3_tags or {})


@pytest.mark.parametrize("value, full", [
    ("s3://b/k", True), ("/abs/k", True), ("file:///abs/k", True),
    ("k", False), ("dir/k", False), ("s3:/b/k", False), ("./k", False),
])
def test_full_uris_are_s3_absolute_or_file(value, full):
    assert is_full_uri(value) is full


def test_input_uri_keeps_full_uris_and_puts_the_rest_under_the_repository_by_basename():
    assert input_uri("s3://other/x/a.txt", REPO) == "s3://other/x/a.txt"
    assert input_uri("/data/a.txt", REPO) == "/data/a.txt"
    assert input_uri("sub/dir/a.txt", REPO) == f"{REPO}/a.txt"
    assert input_uri("a.txt", REPO + "/") == f"{REPO}/a.txt"


def test_download_inputs_fetches_globs_full_uris_and_names_symbols_without_question_mark(repo, workspace, caplog):
    repo.write_text(f"{REPO}/a.txt", "A")
    repo.write_text(f"{REPO}/r1.fq", "R1")
    repo.write_text(f"{REPO}/r2.fq", "R2")
    repo.write_text("s3://other/far/x.txt", "X")
    inputs = {"a": "a.txt", "reads": "*.fq", "far": "s3://other/far/x.txt", "opt?": "nothing.txt"}
    with caplog.at_level(logging.WARNING, logger="labflows"):
        symbols = download_inputs(repo, inputs, REPO, workspace)
    assert symbols == {"a": "a.txt", "reads": "*.fq", "far": "x.txt", "opt": "nothing.txt"}
    assert {p.name: p.read_text() for p in workspace.iterdir()} == {"a.txt": "A", "r1.fq": "R1", "r2.fq": "R2",
                                                                    "x.txt": "X"}
    assert [r.getMessage() for r in caplog.records] == ["optional file not found: nothing.txt; skipping"]


def test_a_missing_required_input_names_the_symbol_and_where_it_looked_and_downloads_nothing(repo, workspace):
    repo.write_text(f"{REPO}/a.txt", "A")
    with pytest.raises(MissingInputError) as info:
        download_inputs(repo, {"a": "a.txt", "need?": "x", "need": "dir/missing.txt"}, REPO, workspace)
    assert str(info.value) == f"input need: no file matches {REPO}/missing.txt"
    assert list(workspace.iterdir()) == []


def test_a_missing_optional_input_is_no_error_even_alone(repo, workspace):
    assert download_inputs(repo, {"x?": "x.txt"}, REPO, workspace) == {"x": "x.txt"}
    assert list(workspace.iterdir()) == []


def test_references_are_cached_by_etag_linked_in_and_not_fetched_twice(repo, workspace, tmp_path):
    uri = "s3://refs/genome/ref.fa"
    repo.write_text(uri, "ACGT")
    cache = tmp_path / "cache"
    assert fetch_references(repo, {"ref": uri}, cache, workspace) == {"ref": "ref.fa"}
    cached = cache / repo.etag(uri) / "ref.fa"
    assert cached.read_text() == "ACGT" and (cached.parent / ".lock").exists()
    assert os.stat(workspace / "ref.fa").st_ino == cached.stat().st_ino  # a hard link, no copy
    cached.unlink()
    cached.write_text("from the cache")  # the same etag: a second fetch must not download again
    (workspace / "ref.fa").write_text("stale")
    fetch_references(repo, {"ref": uri}, cache, workspace)
    assert (workspace / "ref.fa").read_text() == "from the cache"
    assert os.stat(workspace / "ref.fa").st_ino == cached.stat().st_ino


def test_a_reference_is_copied_when_it_cannot_be_linked(repo, workspace, tmp_path, monkeypatch):
    uri = "s3://refs/ref.fa"
    repo.write_text(uri, "ACGT")
    (workspace / "ref.fa").write_text("old")

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(staging.os, "link", cross_device)
    fetch_references(repo, {"ref": uri}, tmp_path / "cache", workspace)
    cached = tmp_path / "cache" / repo.etag(uri) / "ref.fa"
    assert (workspace / "ref.fa").read_text() == "ACGT"
    assert os.stat(workspace / "ref.fa").st_ino != cached.stat().st_ino


def test_merge_tags_later_layers_win_and_none_is_empty():
    assert merge_tags(None, {"a": "1", "b": "1"}, None, {"b": "2"}, {"c": "3"}) == {"a": "1", "b": "2", "c": "3"}
    assert merge_tags() == {} and merge_tags(None) == {}


def test_upload_outputs_globs_recursively_skips_folders_and_uses_dest_tags_and_metadata(repo, workspace, caplog):
    (workspace / "deep" / "er").mkdir(parents=True)
    (workspace / "deep" / "er" / "b.txt").write_text("B")
    (workspace / "a.txt").write_text("A")
    (workspace / "dir.txt").mkdir()  # a folder that matches the glob is no output
    (workspace / "one.bam").write_text("BAM")
    outputs = {
        "texts": output("**/*.txt", s3_tags={"kind": "text", "level": "file"}),
        "bam": output("one.bam", dest="s3://elsewhere/out/"),
        "none": output("*.vcf"),
    }
    with caplog.at_level(logging.WARNING, logger="labflows"):
        uploaded = upload_outputs(repo, outputs, REPO, workspace, base_tags={"level": "options", "run": "r1"},
                                  metadata={"step": "s1"})
    assert uploaded == [UploadedOutput("texts", [f"{REPO}/a.txt", f"{REPO}/b.txt"]),
                        UploadedOutput("bam", ["s3://elsewhere/out/one.bam"]),
                        UploadedOutput("none", [])]
    assert repo.read_text(f"{REPO}/b.txt") == "B" and repo.read_text("s3://elsewhere/out/one.bam") == "BAM"
    assert repo.get_tags(f"{REPO}/a.txt") == {"level": "file", "run": "r1", "kind": "text"}
    assert repo.get_tags("s3://elsewhere/out/one.bam") == {"level": "options", "run": "r1"}
    assert repo.get_metadata(f"{REPO}/a.txt") == {"step": "s1"}
    assert [r.getMessage() for r in caplog.records] == ["output none: no file matches *.vcf"]
    assert not repo.exists(f"{REPO}/dir.txt")


def test_uploaded_output_is_frozen():
    with pytest.raises(AttributeError):
        UploadedOutput("x", []).symbol = "y"  # type: ignore[misc]


def test_upload_tags_and_metadata_are_keyword_only(repo, workspace):
    """A positional dict after the workspace is a mistake (which one is the tags?), not a guess."""
    (workspace / "a.txt").write_text("A")
    with pytest.raises(TypeError):
        upload_outputs(repo, {"a": output("a.txt")}, REPO, workspace, {"level": "options"})  # type: ignore[misc]
    assert not repo.exists(f"{REPO}/a.txt")


# ---- outputs moved out of a workspace that goes right after --------------------------------------
def test_with_move_an_output_is_renamed_into_the_repository_and_leaves_the_workspace(repo, workspace, tmp_path):
    (workspace / "sub").mkdir()
    for name in ("a.txt", "sub/b.txt"):
        (workspace / name).write_text(name)
    inodes = {name: (workspace / name).stat().st_ino for name in ("a.txt", "sub/b.txt")}
    upload_outputs(repo, {"a": output("a.txt"), "b": output("sub/b.txt", s3_tags={"t": "1"})}, REPO, workspace,
                   metadata={"execution_id": "e"}, move=True)
    stored = tmp_path / "storage/bucket/repo"
    assert (stored / "a.txt").read_text() == "a.txt" and (stored / "b.txt").read_text() == "sub/b.txt"
    assert {"a.txt": (stored / "a.txt").stat().st_ino, "sub/b.txt": (stored / "b.txt").stat().st_ino} == inodes
    assert not (workspace / "a.txt").exists() and not (workspace / "sub/b.txt").exists()
    assert repo.get_tags(f"{REPO}/b.txt") == {"t": "1"} and repo.get_metadata(f"{REPO}/a.txt") == {"execution_id": "e"}


def test_without_move_every_output_stays_in_the_workspace(repo, workspace):
    (workspace / "a.txt").write_text("A")
    upload_outputs(repo, {"a": output("a.txt")}, REPO, workspace)
    assert (workspace / "a.txt").read_text() == "A" and repo.read_text(f"{REPO}/a.txt") == "A"


def test_a_file_uploaded_twice_is_copied_both_times(repo, workspace):
    (workspace / "a.txt").write_text("A")
    upload_outputs(repo, {"a": output("a.txt"), "again": output("a.txt", dest="s3://bucket/other/")}, REPO,
                   workspace, move=True)
    assert repo.read_text(f"{REPO}/a.txt") == "A" and repo.read_text("s3://bucket/other/a.txt") == "A"
    assert (workspace / "a.txt").read_text() == "A"


@pytest.mark.parametrize("name", ["elsewhere", "zz-elsewhere"])  # sorting before and after the workspace
def test_a_file_below_a_symlinked_folder_leading_out_is_copied_not_moved(repo, workspace, tmp_path, name):
    outside = tmp_path / name
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me here")
    (workspace / "link").symlink_to(outside)
    (workspace / "own.txt").symlink_to(outside / "precious.txt")  # a symlinked file: the repository copies
    upload_outputs(repo, {"p": output("link/precious.txt"), "o": output("own.txt")}, REPO, workspace, move=True)
    assert (outside / "precious.txt").read_text() == "keep me here"
    assert (workspace / "own.txt").is_symlink() and (workspace / "link").is_symlink()
    assert repo.read_text(f"{REPO}/precious.txt") == "keep me here" and repo.read_text(f"{REPO}/own.txt") == "keep me here"
    assert not os.path.islink(repo.path_of(f"{REPO}/own.txt"))
