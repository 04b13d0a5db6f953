"""LocalRepository's cheap paths (scatter branches write a dozen files each): an empty object is
created without a temporary file but never through what is already there, folders are made on the
first write below them, and temporary files get the umask's mode without a chmod."""

from __future__ import annotations

import os
import stat

import pytest

from blocks.local import LocalRepository


@pytest.fixture
def repo(tmp_path) -> LocalRepository:
    return LocalRepository(root=str(tmp_path / "storage"))


def test_an_empty_object_replaces_a_symlink_instead_of_truncating_its_target(repo, tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    marker = tmp_path / "storage/b/run/_control_/step.complete"
    marker.parent.mkdir(parents=True)
    marker.symlink_to(outside)
    repo.write_bytes("s3://b/run/_control_/step.complete", b"", tags={"bclaw.system": "true"})
    assert outside.read_text() == "keep me"
    assert not marker.is_symlink() and marker.read_bytes() == b""
    assert repo.get_tags("s3://b/run/_control_/step.complete") == {"bclaw.system": "true"}


def test_an_empty_object_over_an_existing_one_and_in_new_folders(repo, tmp_path):
    repo.write_bytes("s3://b/new/deep/x", b"")
    repo.write_bytes("s3://b/new/deep/x", b"")
    assert repo.read_bytes("s3://b/new/deep/x") == b""
    assert sorted(p.name for p in (tmp_path / "storage/b/new/deep").iterdir()) == ["x"]


@pytest.mark.parametrize("data", [b"", b"content"])
def test_new_objects_get_the_umask_mode_and_their_side_files_too(repo, tmp_path, data):
    old = os.umask(0o027)
    try:
        repo.write_bytes("s3://b/m/x", data, metadata={"m": "1"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "storage/b/m/x").stat().st_mode) == 0o640
    assert repo.get_metadata("s3://b/m/x") == {"m": "1"}


def test_an_upload_into_a_new_folder_and_a_download_into_one(repo, tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("S")
    repo.upload(src, "s3://b/up/a/b/c.txt", metadata={"execution_id": "e"})
    dest = tmp_path / "ws/new/dir/c.txt"
    repo.download("s3://b/up/a/b/c.txt", dest)
    assert dest.read_text() == "S" and sorted(p.name for p in dest.parent.iterdir()) == ["c.txt"]
