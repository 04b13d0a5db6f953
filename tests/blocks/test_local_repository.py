"""LocalRepository: BayerCLAW glob behaviour (reference section 8, case 8), tags, atomic writes."""

import pytest

from blocks.local import LocalRepository
from blocks.repository import ObjectNotFound


@pytest.fixture
def seeded(tmp_path) -> LocalRepository:
    repo = LocalRepository(root=str(tmp_path))
    for name in ("file1", "file2", "file3", "other_file", "different/path/different_file"):
        repo.write_text(f"s3://b/{name}", name)
    return repo


@pytest.mark.parametrize("pattern,names", [
    ("file?", ["file1", "file2", "file3"]),
    ("file[12]", ["file1", "file2"]),
    ("*file*", ["different/path/different_file", "file1", "file2", "file3", "other_file"]),
    ("nothing*", []),
    ("?iffer*", ["different/path/different_file"]),
])
def test_globs_match_bclaw(seeded, pattern, names):
    assert seeded.glob(f"s3://b/{pattern}") == [f"s3://b/{n}" for n in names]


def test_listing_is_by_string_prefix_and_hides_side_files(seeded):
    seeded.write_text("s3://b/file9", "x", tags={"k": "v"})
    assert seeded.list_uris("s3://b/fil") == ["s3://b/file1", "s3://b/file2", "s3://b/file3", "s3://b/file9"]
    assert seeded.get_tags("s3://b/file9") == {"k": "v"}
    assert not [u for u in seeded.list_uris("s3://") if ".labflows-meta" in u]


def test_missing_object_and_download_leave_no_partial_file(seeded, tmp_path):
    with pytest.raises(ObjectNotFound, match="s3://b/nope"):
        seeded.download("s3://b/nope", tmp_path / "ws" / "nope")
    assert not (tmp_path / "ws" / "nope").exists() and not (tmp_path / "ws" / "nope.part").exists()
    seeded.download("s3://b/file1", tmp_path / "ws" / "file1")
    assert (tmp_path / "ws" / "file1").read_text() == "file1"
