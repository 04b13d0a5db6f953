"""LocalRepository called directly, one behaviour a test: mapping, side files, atomic transfers.

Fast tests ``make mutate`` judges blocks/local.py's mutants by (with ``--noconftest``: no server);
containment and modes are in test_local_containment.py, globbing in test_local_repository.py.
"""

from __future__ import annotations

import builtins
import errno
import os
import stat
from pathlib import Path

import pytest

import blocks.local
from blocks.local import LocalRepository, file_mode
from blocks.repository import ObjectNotFound


@pytest.fixture
def repo(tmp_path) -> LocalRepository:
    return LocalRepository(root=str(tmp_path / "storage"))


@pytest.fixture
def no_attrs(monkeypatch):
    """A file system without user extended attributes: tags and metadata go to side files."""

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(blocks.local.os, "setxattr", refuse)


def files_below(folder: Path) -> list[str]:
    """Every file below ``folder`` (hidden ones too), relative to it, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_s3_uris_map_below_the_root_and_plain_or_file_uris_are_absolute_paths(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = LocalRepository(root="rel-storage")
    assert relative.path_of("s3://b/k/x.txt") == tmp_path / "rel-storage/b/k/x.txt"
    assert repo.path_of("file:///data/x.txt") == Path("/data/x.txt")
    assert repo.path_of("/data/x.txt") == Path("/data/x.txt")
    assert repo.path_of("data/x.txt") == tmp_path / "data/x.txt"


@pytest.mark.usefixtures("no_attrs")
def test_tags_of_an_object_outside_the_root_live_under_local_in_the_side_folder(repo, tmp_path):
    outside = tmp_path / "plain" / "x.txt"
    repo.write_text(str(outside), "X", tags={"k": "v"})
    assert outside.read_text() == "X" and repo.get_tags(str(outside)) == {"k": "v"}
    side = tmp_path / "storage/.labflows-meta/_local_" / (outside.relative_to("/").as_posix() + ".json")
    assert side.is_file()
    repo.write_text("s3://b/in.txt", "I", metadata={"m": "1"})
    assert (tmp_path / "storage/.labflows-meta/b/in.txt.json").is_file()


def test_metadata_alone_is_kept_and_a_rewrite_without_either_drops_the_side_file(repo, tmp_path):
    repo.write_text("s3://b/x", "1", metadata={"step": "s1"})
    assert repo.get_metadata("s3://b/x") == {"step": "s1"} and repo.get_tags("s3://b/x") == {}
    repo.write_text("s3://b/x", "2", tags={"t": "1"})
    assert repo.get_tags("s3://b/x") == {"t": "1"} and repo.get_metadata("s3://b/x") == {}
    repo.write_text("s3://b/x", "3")
    assert (repo.get_tags("s3://b/x"), repo.get_metadata("s3://b/x")) == ({}, {})
    assert files_below(tmp_path / "storage") == ["b/x"]


def test_an_object_is_a_file_not_a_folder_and_reading_what_is_not_one_is_not_found(repo, tmp_path):
    repo.write_text("s3://b/dir/x", "X")
    assert repo.exists("s3://b/dir/x") and not repo.exists("s3://b/dir") and not repo.exists("s3://b/none")
    for uri in ("s3://b/dir", "s3://b/none", "s3://b/dir/x/under-a-file"):
        with pytest.raises(ObjectNotFound, match=f"^no such object: {uri}$"):
            repo.read_bytes(uri)
    with pytest.raises(ObjectNotFound, match="^no such object: s3://b/dir$"):
        repo.download("s3://b/dir", tmp_path / "ws" / "dir")


def test_a_write_replaces_the_object_whole_and_leaves_no_temporary_file(repo, tmp_path):
    repo.write_bytes("s3://b/k/x.bin", b"first, longer content")
    repo.write_bytes("s3://b/k/x.bin", b"second")
    assert repo.read_bytes("s3://b/k/x.bin") == b"second"
    assert files_below(tmp_path / "storage") == ["b/k/x.bin"]


def test_listing_a_folder_prefix_and_a_plain_path_prefix(repo, tmp_path):
    for name in ("run/a", "run/b/c", "run2/d", "runner"):
        repo.write_text(f"s3://b/{name}", name)
    (tmp_path / "storage/b/run/.hidden").write_text("h")
    assert repo.list_uris("s3://b/run/") == ["s3://b/run/a", "s3://b/run/b/c"]
    assert repo.list_uris("s3://b/run") == ["s3://b/run/a", "s3://b/run/b/c", "s3://b/run2/d", "s3://b/runner"]
    assert repo.list_uris("s3://b/nothing/") == [] and repo.list_uris("s3://none/x") == []
    plain = tmp_path / "storage/b/run"
    assert repo.list_uris(f"{plain}/") == [f"{plain}/a", f"{plain}/b/c"]


def test_a_download_goes_through_a_part_file_and_a_failed_one_leaves_nothing(repo, tmp_path):
    repo.write_bytes("s3://b/big", b"x" * 100)
    dest = tmp_path / "ws" / "sub" / "big"
    seen = []
    repo.download("s3://b/big", dest, progress=lambda done, total: seen.append((done, total)))
    assert dest.read_bytes() == b"x" * 100 and seen[0] == (0, 100) and seen[-1] == (100, 100)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["big"]

    def broken(done: int, total: int) -> None:
        if done:
            raise OSError("disk went away")

    dest.unlink()
    with pytest.raises(OSError, match="disk went away"):
        repo.download("s3://b/big", dest, progress=broken)
    assert list(dest.parent.iterdir()) == []


def test_a_failed_upload_leaves_the_old_object_and_no_temporary_file(repo, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"new content")
    repo.write_bytes("s3://b/obj", b"old")

    def broken(done: int, total: int) -> None:
        if done:
            raise OSError("network went away")

    with pytest.raises(OSError, match="network went away"):
        repo.upload(src, "s3://b/obj", tags={"t": "1"}, progress=broken)
    assert repo.read_bytes("s3://b/obj") == b"old" and repo.get_tags("s3://b/obj") == {}
    assert files_below(tmp_path / "storage") == ["b/obj"]
    repo.upload(src, "s3://b/new/obj", tags={"t": "1"}, metadata={"m": "2"})
    assert repo.read_bytes("s3://b/new/obj") == b"new content"
    assert (repo.get_tags("s3://b/new/obj"), repo.get_metadata("s3://b/new/obj")) == ({"t": "1"}, {"m": "2"})


def test_delete_removes_the_object_and_its_side_file_and_a_missing_one_is_fine(repo, tmp_path):
    repo.write_text("s3://b/x", "X", tags={"k": "v"})
    repo.delete("s3://b/x")
    repo.delete("s3://b/x")
    assert not repo.exists("s3://b/x") and repo.get_tags("s3://b/x") == {}
    assert files_below(tmp_path / "storage") == []


def test_the_etag_changes_with_the_content_and_stays_without_a_change(repo):
    repo.write_text("s3://b/x", "one")
    first = repo.etag("s3://b/x")
    assert repo.etag("s3://b/x") == first and len(first) == 32 and int(first, 16) >= 0
    repo.write_text("s3://b/x", "two!")
    assert repo.etag("s3://b/x") != first


def test_file_mode_follows_the_umask_without_proc(monkeypatch):
    """On a host without /proc (macOS), the umask is read by setting and restoring it."""
    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(blocks.local, "open", no_proc, raising=False)
    old = os.umask(0o037)
    try:
        assert file_mode() == 0o640
        assert os.umask(0o037) == 0o037  # left as it was
    finally:
        os.umask(old)


@pytest.mark.parametrize("attrs", ["attribute", "side files"])
def test_folders_of_any_name_are_listed_except_the_side_folder(repo, attrs, request):
    if attrs == "side files":
        request.getfixturevalue("no_attrs")
    for name in ("-tmp/a", "+plus/b", ".cache/c", "z/d"):
        repo.write_text(f"s3://b/{name}", name, tags={"k": "v"})
    assert repo.list_uris("s3://b/") == ["s3://b/+plus/b", "s3://b/-tmp/a", "s3://b/.cache/c", "s3://b/z/d"]
    assert repo.list_uris("s3://") == ["s3://b/+plus/b", "s3://b/-tmp/a", "s3://b/.cache/c", "s3://b/z/d"]


def test_options_of_writes_and_transfers_are_keyword_only(repo, tmp_path):
    """A positional dict or callable after the paths is a mistake (tags or metadata?), refused before any I/O."""
    src = tmp_path / "src.txt"
    src.write_text("S")
    with pytest.raises(TypeError):
        repo.write_bytes("s3://b/x", b"X", {"k": "v"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        repo.upload(src, "s3://b/y", {"k": "v"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        repo.move_in(src, "s3://b/y", {"k": "v"})  # type: ignore[misc]
    assert files_below(tmp_path) == ["src.txt"]
    repo.write_bytes("s3://b/z", b"Z")
    with pytest.raises(TypeError):
        repo.download("s3://b/z", tmp_path / "ws" / "z", lambda done, total: None)  # type: ignore[misc]
    assert not (tmp_path / "ws").exists()


def test_an_upload_to_a_new_bucket_creates_every_folder_on_the_way(repo, tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("S")
    repo.upload(src, "s3://fresh/deep/er/obj.txt")
    assert repo.read_text("s3://fresh/deep/er/obj.txt") == "S"


def test_file_mode_reads_the_umask_without_changing_it_even_for_a_moment(monkeypatch):
    """Setting the umask to read it would give files other threads create meanwhile the wrong mode
    (Linux: the umask is in /proc/self/status)."""
    changes = []
    real_umask = os.umask
    monkeypatch.setattr(os, "umask", lambda mask: changes.append(mask) or real_umask(mask))
    assert file_mode() == 0o666 & ~int(next(line.split()[1] for line in Path("/proc/self/status").read_text()
                                             .splitlines() if line.startswith("Umask:")), 8)
    assert changes == []


def test_the_second_containment_check_holds_without_the_uri_check(repo, tmp_path, monkeypatch):
    """The mapping checks its result against the root too, whatever a future URI form lets through."""
    monkeypatch.setattr(blocks.local, "check_uri", lambda uri: None)
    root = str(tmp_path / "storage")
    for uri in ("s3://../0/x", "s3://../storage-evil/x", "s3://../../etc/passwd"):  # before, beside, above
        with pytest.raises(blocks.local.PathOutsideRoot):
            repo.path_of(uri)
    assert str(repo.path_of("s3://")) == root  # the root itself is inside
    assert str(repo.path_of("s3://b/../k")) == root + "/k"


def test_a_write_that_cannot_replace_its_object_leaves_no_temporary_file(repo, tmp_path):
    (tmp_path / "storage/b/k").mkdir(parents=True)  # a folder where the object would go
    with pytest.raises(IsADirectoryError):
        repo.write_bytes("s3://b/k", b"data")
    assert files_below(tmp_path / "storage") == []


@pytest.mark.usefixtures("no_attrs")
def test_a_folder_made_by_somebody_else_meanwhile_is_fine_for_writes_and_downloads(repo, tmp_path, monkeypatch):
    """Opening found the folder missing, another process made it before this one could: no error."""
    real_open, real_copy = os.open, blocks.local.copy_file
    (tmp_path / "storage/b").mkdir(parents=True)
    (tmp_path / "dl").mkdir()
    failed_once = set()

    def open_missing_once(path, *args, **kwargs):  # the side file's: a temporary file would just retry
        if "racing" in str(path) and blocks.local._META_DIR in str(path) and "open" not in failed_once:
            failed_once.add("open")
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    def copy_missing_once(src, dest, *args, **kwargs):
        if "copy" not in failed_once:
            failed_once.add("copy")
            raise FileNotFoundError(dest)
        return real_copy(src, dest, *args, **kwargs)

    repo.write_bytes("s3://b/first.txt", b"x", tags={"t": "1"})  # the side files' folder exists now
    monkeypatch.setattr(blocks.local.os, "open", open_missing_once)
    repo.write_bytes("s3://b/racing.txt", b"x", tags={"t": "2"})
    assert (tmp_path / "storage/b/racing.txt").read_bytes() == b"x" and repo.get_tags("s3://b/racing.txt") == {"t": "2"}
    monkeypatch.setattr(blocks.local, "copy_file", copy_missing_once)
    repo.download("s3://b/racing.txt", tmp_path / "dl/racing.txt")
    assert (tmp_path / "dl/racing.txt").read_bytes() == b"x" and failed_once == {"open", "copy"}


# ---- tags and metadata in the object's extended attribute ---------------------------------------
def _attr(path: Path) -> dict:
    import json

    return json.loads(os.getxattr(path, "user.labflows"))


@pytest.mark.parametrize("data", [b"", b"content"])  # an empty object (a marker) takes the O_EXCL path
def test_tags_and_metadata_live_in_the_objects_attribute_and_make_no_side_file(repo, tmp_path, data):
    repo.write_bytes("s3://b/run/_control_/s.complete", data, tags={"bclaw.system": "true"}, metadata={"m": "1"})
    obj = tmp_path / "storage/b/run/_control_/s.complete"
    assert _attr(obj) == {"tags": {"bclaw.system": "true"}, "metadata": {"m": "1"}}
    assert repo.get_tags("s3://b/run/_control_/s.complete") == {"bclaw.system": "true"}
    assert repo.get_metadata("s3://b/run/_control_/s.complete") == {"m": "1"}
    assert files_below(tmp_path / "storage") == ["b/run/_control_/s.complete"]  # no side folder either


def test_an_object_appears_with_its_attribute_already_set(repo, tmp_path, monkeypatch):
    """Set on the temporary file before the rename: nobody sees the object without its tags."""
    src = tmp_path / "src.txt"
    src.write_text("S")
    seen = []
    real_replace = os.replace

    def watching(a, b):
        seen.append(_attr(Path(a)))
        return real_replace(a, b)

    monkeypatch.setattr(blocks.local.os, "replace", watching)
    repo.write_bytes("s3://b/w", b"W", tags={"t": "1"})
    repo.upload(src, "s3://b/u", metadata={"execution_id": "e"})
    assert seen == [{"tags": {"t": "1"}, "metadata": {}}, {"tags": {}, "metadata": {"execution_id": "e"}}]


def test_a_write_without_tags_leaves_no_attribute_and_drops_an_earlier_side_file(repo, tmp_path):
    side = tmp_path / "storage/.labflows-meta/b/x.json"
    side.parent.mkdir(parents=True)
    side.write_text('{"tags": {"old": "1"}, "metadata": {}}')  # as earlier versions wrote them
    (tmp_path / "storage/b").mkdir()
    (tmp_path / "storage/b/x").write_text("old")
    assert repo.get_tags("s3://b/x") == {"old": "1"}  # read where no attribute is
    repo.write_text("s3://b/x", "new", tags={"new": "2"})
    assert repo.get_tags("s3://b/x") == {"new": "2"} and not side.exists()
    side.write_text('{"tags": {"old": "1"}, "metadata": {}}')
    repo.write_text("s3://b/x", "plain")
    assert repo.get_tags("s3://b/x") == {} and not side.exists()
    with pytest.raises(OSError):
        os.getxattr(tmp_path / "storage/b/x", "user.labflows")


@pytest.mark.parametrize("code", [errno.ENOTSUP, errno.E2BIG, errno.ENOSPC, errno.EPERM, errno.ERANGE])
@pytest.mark.parametrize("data", [b"", b"content"])
def test_where_the_attribute_cannot_be_set_the_side_file_keeps_them(repo, tmp_path, monkeypatch, code, data):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(blocks.local.os, "setxattr", refuse)
    repo.write_bytes("s3://b/x", data, tags={"k": "v"})
    assert repo.get_tags("s3://b/x") == {"k": "v"}
    assert files_below(tmp_path / "storage") == [".labflows-meta/b/x.json", "b/x"]


def test_another_attribute_failure_fails_the_write_and_leaves_no_temporary_file(repo, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "I/O error")

    repo.write_bytes("s3://b/x", b"old")
    monkeypatch.setattr(blocks.local.os, "setxattr", broken)
    with pytest.raises(OSError, match="I/O error"):
        repo.write_bytes("s3://b/x", b"new", tags={"k": "v"})
    src = tmp_path / "src.txt"
    src.write_text("S")
    with pytest.raises(OSError, match="I/O error"):
        repo.upload(src, "s3://b/x", tags={"k": "v"})
    assert repo.read_bytes("s3://b/x") == b"old" and files_below(tmp_path / "storage") == ["b/x"]


# ---- move_in: an upload that may rename its source into place ------------------------------------
@pytest.fixture
def src(tmp_path) -> Path:
    path = tmp_path / "ws" / "out.txt"
    path.parent.mkdir()
    path.write_text("whole content")
    return path


def test_move_in_renames_the_file_into_a_new_folder_with_its_tags(repo, tmp_path, src):
    inode = src.stat().st_ino
    seen = []
    repo.move_in(src, "s3://b/new/dir/out.txt", tags={"t": "1"}, metadata={"m": "2"},
                 progress=lambda done, total: seen.append((done, total)))
    obj = tmp_path / "storage/b/new/dir/out.txt"
    assert not src.exists() and obj.read_text() == "whole content" and obj.stat().st_ino == inode
    assert (repo.get_tags("s3://b/new/dir/out.txt"), repo.get_metadata("s3://b/new/dir/out.txt")) == \
        ({"t": "1"}, {"m": "2"})
    assert seen == [(13, 13)] and files_below(tmp_path / "storage") == ["b/new/dir/out.txt"]


def test_move_in_replaces_an_object_and_its_earlier_side_file(repo, tmp_path, src):
    repo.write_text("s3://b/out.txt", "old")
    side = tmp_path / "storage/.labflows-meta/b/out.txt.json"
    side.parent.mkdir(parents=True)
    side.write_text('{"tags": {"old": "1"}, "metadata": {}}')
    repo.move_in(src, "s3://b/out.txt")
    assert repo.read_text("s3://b/out.txt") == "whole content" and repo.get_tags("s3://b/out.txt") == {}
    assert not side.exists()


def _copied(repo, tmp_path, src) -> None:
    """``src`` was copied, not moved: it is still there, the object is a file of its own."""
    repo.move_in(src, "s3://b/out.txt", tags={"t": "1"})
    obj = tmp_path / "storage/b/out.txt"
    assert os.path.lexists(src) and not obj.is_symlink() and obj.stat().st_nlink == 1
    assert obj.read_text() == "whole content" and repo.get_tags("s3://b/out.txt") == {"t": "1"}
    assert stat.S_IMODE(obj.stat().st_mode) == file_mode()


def test_a_symlink_is_copied_and_what_it_points_to_stays(repo, tmp_path, src):
    link = src.parent / "link.txt"
    link.symlink_to(src)
    _copied(repo, tmp_path, link)
    assert src.read_text() == "whole content" and link.is_symlink()


def test_a_file_with_another_hard_link_is_copied(repo, tmp_path, src):
    os.link(src, tmp_path / "cache-copy.txt")
    _copied(repo, tmp_path, src)
    assert (tmp_path / "cache-copy.txt").stat().st_nlink == 2  # src and the cache's name: both kept


@pytest.mark.parametrize("mode", [0o755, 0o600])  # wider and narrower than the object mode
def test_a_file_with_another_mode_is_copied_to_get_the_object_mode(repo, tmp_path, src, mode):
    src.chmod(mode)
    _copied(repo, tmp_path, src)
    assert stat.S_IMODE(src.stat().st_mode) == mode


@pytest.mark.parametrize("other", [1, -1])  # an owner above and below this user
def test_a_file_of_another_owner_is_copied(repo, tmp_path, src, monkeypatch, other):
    uid = os.geteuid()
    monkeypatch.setattr(blocks.local.os, "geteuid", lambda: uid + other)
    _copied(repo, tmp_path, src)


def test_a_file_on_another_file_system_is_copied(repo, tmp_path, src, monkeypatch):
    real_replace = os.replace

    def cross_device(a, b):
        if str(a) == str(src):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_replace(a, b)

    monkeypatch.setattr(blocks.local.os, "replace", cross_device)
    _copied(repo, tmp_path, src)


def test_moving_a_missing_file_or_onto_a_folder_fails_and_keeps_the_source(repo, tmp_path, src):
    with pytest.raises(FileNotFoundError):
        repo.move_in(src.parent / "none.txt", "s3://b/none.txt")
    (tmp_path / "storage/b/dir").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        repo.move_in(src, "s3://b/dir")
    assert src.read_text() == "whole content" and files_below(tmp_path / "storage") == []


def test_a_folder_is_never_moved_even_with_a_file_mode(repo, tmp_path):
    folder = tmp_path / "ws" / "dir"
    folder.mkdir(parents=True)
    folder.chmod(file_mode())
    try:
        with pytest.raises(IsADirectoryError):
            repo.move_in(folder, "s3://b/dir")
        assert folder.is_dir() and files_below(tmp_path / "storage") == []
    finally:
        folder.chmod(0o755)


def test_a_platform_without_extended_attributes_keeps_them_in_side_files(repo, tmp_path, monkeypatch):
    monkeypatch.delattr(blocks.local.os, "setxattr")
    monkeypatch.delattr(blocks.local.os, "getxattr")
    repo.write_bytes("s3://b/x", b"", tags={"k": "v"})
    assert repo.get_tags("s3://b/x") == {"k": "v"}
    assert files_below(tmp_path / "storage") == [".labflows-meta/b/x.json", "b/x"]


def test_a_shorter_side_file_replaces_a_longer_one_whole(repo, no_attrs):
    repo.write_text("s3://b/x", "x", tags={"long": "v" * 200})
    repo.write_text("s3://b/x", "x", tags={"k": "v"})
    assert repo.get_tags("s3://b/x") == {"k": "v"}


def test_move_in_into_a_folder_somebody_else_made_meanwhile(repo, tmp_path, src, monkeypatch):
    """The rename found the object's folder missing; another process made it before this one could."""
    real_replace = os.replace
    made = []

    def folder_appears(a, b):
        if not made:
            made.append(b)
            os.makedirs(os.path.dirname(b))
            raise FileNotFoundError(b)
        return real_replace(a, b)

    monkeypatch.setattr(blocks.local.os, "replace", folder_appears)
    repo.move_in(src, "s3://b/raced/out.txt")
    assert not src.exists() and repo.read_text("s3://b/raced/out.txt") == "whole content" and made
