"""LocalRepository keeps every key inside its storage folder, and stores files with normal modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from blocks.local import LocalRepository, file_mode
from blocks.repository import PathOutsideRoot, join_uri


def _tree(folder: Path) -> set[str]:
    """Every path below ``folder`` (files and folders), relative to it."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


ESCAPING = [
    "s3://b/../../outside.txt",
    "s3://b/x/../../../outside.txt",
    "s3://../outside.txt",
    "s3:///outside.txt",
    "s3://b/..",
    "/tmp/../outside.txt",
    "file:///tmp/../outside.txt",
]


@pytest.fixture
def layout(tmp_path) -> tuple[Path, LocalRepository]:
    """``tmp_path/storage`` as the repository root; the test watches the whole of ``tmp_path``."""
    storage = tmp_path / "storage"
    storage.mkdir()
    return tmp_path, LocalRepository(root=str(storage))


@pytest.mark.parametrize("uri", ESCAPING)
def test_every_operation_refuses_a_uri_that_leaves_the_root(layout, uri):
    parent, repo = layout
    src = parent / "src.txt"
    src.write_text("payload")
    before = _tree(parent)
    operations = [
        lambda: repo.write_text(uri, "payload"),
        lambda: repo.upload(src, uri),
        lambda: repo.read_bytes(uri),
        lambda: repo.exists(uri),
        lambda: repo.delete(uri),
        lambda: repo.download(uri, parent / "down.txt"),
        lambda: repo.list_uris(uri),
        lambda: repo.etag(uri),
        lambda: repo.get_tags(uri),
    ]
    for operation in operations:
        with pytest.raises(PathOutsideRoot, match="refused"):
            operation()
    assert _tree(parent) == before


def test_path_of_maps_plain_keys_inside_the_root(layout):
    parent, repo = layout
    assert repo.path_of("s3://b/run/a..b/x") == parent / "storage/b/run/a..b/x"
    repo.write_text("s3://b/run/./x", "ok")  # '.' stays where it is
    assert (parent / "storage/b/run/x").read_text() == "ok"
    assert repo.list_uris("s3://") == ["s3://b/run/x"]


def test_join_uri_refuses_parts_that_climb_out():
    assert join_uri("s3://b/repo", "step", "00001") == "s3://b/repo/step/00001"
    for part in ("..", "../x", "a/../../x", "x/.."):
        with pytest.raises(PathOutsideRoot, match="'..'"):
            join_uri("s3://b/repo", part)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_stored_files_get_the_mode_the_umask_gives(layout, mask):
    parent, repo = layout
    src = parent / "src.txt"
    src.write_text("x")
    old = os.umask(mask)
    try:
        repo.write_text("s3://b/written.txt", "x")
        repo.upload(src, "s3://b/uploaded.txt")
        repo.write_text("s3://b/tagged.txt", "x", tags={"k": "v"})
    finally:
        os.umask(old)
    for name in ("written.txt", "uploaded.txt", "tagged.txt"):
        mode = stat.S_IMODE((parent / "storage/b" / name).stat().st_mode)
        assert mode == 0o666 & ~mask, f"{name}: {oct(mode)}"


def test_file_mode_follows_the_current_umask():
    old = os.umask(0o027)
    try:
        assert file_mode() == 0o640
    finally:
        os.umask(old)
