"""S3Repository refuses keys with '..' segments before any request (moto's server over HTTP)."""

from __future__ import annotations

import pytest

from blocks.repository import PathOutsideRoot


@pytest.mark.parametrize("key", ["../escape.txt", "run/../../escape.txt", "run/..", "a/b/../c"])
def test_keys_with_dotdot_segments_are_refused_and_nothing_is_stored(repo, bucket, s3_direct, tmp_path, key):
    uri = f"s3://{bucket}/{key}"
    src = tmp_path / "src.txt"
    src.write_text("payload")
    for operation in (lambda: repo.write_text(uri, "payload"), lambda: repo.upload(src, uri),
                      lambda: repo.read_bytes(uri), lambda: repo.exists(uri), lambda: repo.delete(uri),
                      lambda: repo.download(uri, tmp_path / "down.txt"), lambda: repo.list_uris(uri),
                      lambda: repo.copy(f"s3://{bucket}/ok.txt", uri)):
        with pytest.raises(PathOutsideRoot, match=r"refused .*'\.\.' would leave its folder"):
            operation()
    assert s3_direct.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert not (tmp_path / "down.txt").exists()


def test_plain_keys_still_work(repo, bucket, s3_direct):
    repo.write_text(f"s3://{bucket}/run/a..b/x.txt", "ok")
    assert s3_direct.get_object(Bucket=bucket, Key="run/a..b/x.txt")["Body"].read() == b"ok"
