"""Staging through a fault-injecting proxy: transient faults are survived, permanent ones fail fast.

Results are always checked through the direct (non-proxied) moto endpoint.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from blocks.repository import RepositoryError

MiB = 1024 * 1024


def make_files(folder: Path, count: int, big: int = 0) -> list[Path]:
    """``count`` files of random bytes (varied small sizes); the first ``big`` are 11 MiB (multipart)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        path = folder / f"f{i:02d}.dat"
        path.write_bytes(os.urandom(11 * MiB if i < big else 2000 + 997 * i))
        files.append(path)
    return files


def assert_no_leftovers(s3_direct, bucket: str, *folders: Path) -> None:
    """No incomplete multipart upload in the bucket and no ``.part`` file in the folders."""
    assert s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    for folder in folders:
        assert [p for p in folder.rglob("*") if p.name.endswith(".part") or ".part." in p.name] == []


def test_staging_50_files_each_way_with_20_percent_faults(make_repo, fault_proxy, bucket, s3_direct, tmp_path):
    repo = make_repo(endpoint=fault_proxy.url, multipart_threshold_mb=5, multipart_chunksize_mb=5,
                     retry_backoff_seconds=0.05)
    files = make_files(tmp_path / "outputs", 50, big=3)
    fault_proxy.share = 0.2

    repo.upload_many((f, f"s3://{bucket}/run/{f.name}", {"step": "s"}, {"execution_id": "e"}) for f in files)
    for f in files:
        assert s3_direct.get_object(Bucket=bucket, Key=f"run/{f.name}")["Body"].read() == f.read_bytes()

    down = tmp_path / "inputs"
    repo.download_many((f"s3://{bucket}/run/{f.name}", down / f.name) for f in files)
    for f in files:
        assert (down / f.name).read_bytes() == f.read_bytes()

    assert fault_proxy.counts["reset"] > 5 and fault_proxy.counts["503"] > 5, fault_proxy.counts
    fault_proxy.share = 0
    assert_no_leftovers(s3_direct, bucket, down)


def test_truncated_downloads_never_leave_half_files(make_repo, fault_proxy, bucket, s3_direct, tmp_path):
    files = make_files(tmp_path / "src", 10, big=1)
    for f in files:
        s3_direct.upload_file(str(f), bucket, f"in/{f.name}")
    repo = make_repo(endpoint=fault_proxy.url, multipart_threshold_mb=5, multipart_chunksize_mb=5,
                     retry_backoff_seconds=0.05)
    fault_proxy.faults, fault_proxy.share = ("truncate",), 0.3
    down = tmp_path / "down"
    repo.download_many((f"s3://{bucket}/in/{f.name}", down / f.name) for f in files)
    assert fault_proxy.counts["truncate"] > 0
    for f in files:
        assert (down / f.name).read_bytes() == f.read_bytes()
    assert_no_leftovers(s3_direct, bucket, down)


def test_failed_multipart_upload_is_aborted_and_absent(make_repo, fault_proxy, bucket, s3_direct, tmp_path):
    repo = make_repo(endpoint=fault_proxy.url, multipart_threshold_mb=5, multipart_chunksize_mb=5,
                     max_attempts=2, transfer_attempts=2, retry_backoff_seconds=0.01)
    big = make_files(tmp_path, 1, big=1)[0]
    # every UploadPart fails; creating and aborting multipart uploads still works
    fault_proxy.only = lambda method, path: method == "PUT" and "partNumber=" in path
    fault_proxy.share = 1.0
    with pytest.raises(RepositoryError) as info:
        repo.upload(big, f"s3://{bucket}/out/big.dat")
    message = str(info.value)
    assert message.startswith(f"could not upload s3://{bucket}/out/big.dat from {big} after 2 attempts: ")
    assert "\n" not in message
    assert s3_direct.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # nothing half-written
    assert_no_leftovers(s3_direct, bucket)


def test_refusing_everything_fails_within_the_retry_budget(make_repo, fault_proxy, bucket, s3_direct, tmp_path,
                                                          caplog):
    s3_direct.put_object(Bucket=bucket, Key="in/ref.txt", Body=b"ref")
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=2, transfer_attempts=2, retry_backoff_seconds=0.01)
    fault_proxy.refuse_all = True
    files = make_files(tmp_path / "out", 3)

    with pytest.raises(RepositoryError) as info, caplog.at_level(logging.WARNING):
        repo.upload_many((f, f"s3://{bucket}/out/{f.name}", None, None) for f in files)
    assert f"retrying: could not upload s3://{bucket}/out/f00.dat from {files[0]} (attempt 1 of 2)" in caplog.text
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"could not upload s3://{bucket}/out/f0") and "after 2 attempts" in message

    dest = tmp_path / "in" / "ref.txt"
    with pytest.raises(RepositoryError) as info:
        repo.download(f"s3://{bucket}/in/ref.txt", dest)
    assert str(info.value).startswith(f"could not download s3://{bucket}/in/ref.txt after 2 attempts: ")
    assert not dest.exists() and not dest.with_name("ref.txt.part").exists()

    # 2 botocore attempts x 2 labflows attempts per file: the budget is bounded and was used
    assert 2 * 2 * 4 <= fault_proxy.counts["refused"] <= 2 * 2 * 4 + 8
    assert s3_direct.list_objects_v2(Bucket=bucket, Prefix="out/").get("KeyCount") == 0
    assert_no_leftovers(s3_direct, bucket, tmp_path)


def test_access_denied_fails_at_once(make_repo, fault_proxy, bucket, tmp_path):
    repo = make_repo(endpoint=fault_proxy.url, retry_backoff_seconds=0.01)
    fault_proxy.answer_all = (403, "AccessDenied", "Access Denied")
    uri = f"s3://{bucket}/secret/input.fq"
    with pytest.raises(RepositoryError) as info:
        repo.download(uri, tmp_path / "input.fq")
    assert str(info.value) == f"access denied: could not download {uri}: AccessDenied (HTTP 403)"
    assert fault_proxy.counts["answer"] == 1  # no retry of a permanent error
    assert not (tmp_path / "input.fq").exists()
    with pytest.raises(RepositoryError) as info:
        repo.read_bytes(uri)
    assert str(info.value) == f"access denied: could not read {uri}: AccessDenied (HTTP 403)"
    assert fault_proxy.counts["answer"] == 2
    with pytest.raises(RepositoryError) as info:  # a HEAD's 403 has no body, hence no error code
        repo.etag(uri)
    assert str(info.value) == f"access denied: could not read {uri}: HTTP 403 Forbidden"


@pytest.mark.parametrize("before", [None, b"the previous version\n"], ids=["absent", "present"])
def test_a_download_failing_part_way_leaves_the_destination_as_it_was(make_repo, fault_proxy, bucket, s3_direct,
                                                                     tmp_path, before):
    """Every GET breaks off half-way, until botocore's, the body re-reads' and labflows' attempts are
    spent: the bytes that did arrive stay in ``<dest>.part`` (then removed), never in ``dest``."""
    s3_direct.put_object(Bucket=bucket, Key="in/data.bin", Body=os.urandom(200_000))
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=2, retry_backoff_seconds=0.01)
    dest = tmp_path / "in" / "data.bin"
    if before is not None:
        dest.parent.mkdir()
        dest.write_bytes(before)
    fault_proxy.faults, fault_proxy.share = ("truncate",), 1.0

    with pytest.raises(RepositoryError) as info:
        repo.download(f"s3://{bucket}/in/data.bin", dest)
    assert str(info.value).startswith(f"could not download s3://{bucket}/in/data.bin after 2 attempts: ")
    assert fault_proxy.counts["truncate"] >= 2
    if before is None:
        assert not dest.exists()
    else:
        assert dest.read_bytes() == before
    assert_no_leftovers(s3_direct, bucket, tmp_path)


@pytest.mark.parametrize("answer,reason", [
    ((503, "SlowDown", "Please reduce your request rate."), "SlowDown (HTTP 503)"),
    ((503, "ServiceUnavailable", "Service is unable to handle request."), "ServiceUnavailable (HTTP 503)"),
])
def test_503_is_retried_by_labflows_itself(make_repo, fault_proxy, bucket, tmp_path, answer, reason):
    """botocore makes one attempt per request here (max_attempts=1), so every retry seen is labflows'
    own: a 503 must be judged transient by labflows, not only by botocore."""
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=3, retry_backoff_seconds=0.01)
    fault_proxy.answer_all = answer
    uri = f"s3://{bucket}/in/x.txt"

    with pytest.raises(RepositoryError) as info:
        repo.download(uri, tmp_path / "x.txt")
    assert str(info.value) == f"could not download {uri} after 3 attempts: {reason}"
    assert fault_proxy.counts["answer"] == 3

    with pytest.raises(RepositoryError) as info:  # a HEAD: no body, so no code, only the status
        repo.etag(uri)
    assert str(info.value) == f"could not read {uri} after 3 attempts: HTTP 503 Service Unavailable"
    assert fault_proxy.counts["answer"] == 6
