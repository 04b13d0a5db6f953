"""Fast direct tests of S3Repository (for mutation testing): the session's moto server, small
objects, the fault proxy for failures part-way and for counting requests; most tests a second or less."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest
from prefect_aws import AwsCredentials, MinIOCredentials
from prefect_aws.client_parameters import AwsClientParameters
from pydantic import ValidationError

from blocks.repository import ObjectNotFound, RepositoryError
from blocks.s3 import S3Repository

MiB = 1024 * 1024


def _put(s3_direct, bucket: str, key: str, body: bytes) -> str:
    s3_direct.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


# --- the block's fields, as a user fills in the form ----------------------------------------------

def test_the_documented_defaults() -> None:
    repo = S3Repository()
    assert (repo.buckets, repo.server_side_encryption, repo.retry_mode) == ([], "AES256", "standard")
    assert (repo.multipart_threshold_mb, repo.multipart_chunksize_mb, repo.max_concurrency) == (16, 16, 10)
    assert (repo.file_concurrency, repo.max_attempts, repo.transfer_attempts) == (8, 5, 3)
    assert repo.retry_backoff_seconds == 1.0 and isinstance(repo.credentials, AwsCredentials)
    assert repo.transfer_workers() == 8
    assert S3Repository(file_concurrency=3).transfer_workers() == 3


@pytest.mark.parametrize(("field", "lowest"), [
    ("multipart_threshold_mb", 5), ("multipart_chunksize_mb", 5), ("max_concurrency", 1), ("file_concurrency", 1),
    ("max_attempts", 1), ("transfer_attempts", 1), ("retry_backoff_seconds", 0),
])
def test_the_lowest_values_allowed(field: str, lowest: int) -> None:
    assert getattr(S3Repository(**{field: lowest}), field) == lowest
    with pytest.raises(ValidationError, match=field):
        S3Repository(**{field: lowest - 0.5 if field == "retry_backoff_seconds" else lowest - 1})


def test_credentials_from_a_saved_dict() -> None:
    minio = S3Repository.model_validate({"credentials": {
        "block_type_slug": "minio-credentials", "minio_root_user": "u", "minio_root_password": "p"}})
    assert isinstance(minio.credentials, MinIOCredentials) and minio.credentials.minio_root_user == "u"
    aws = S3Repository.model_validate({"credentials": {"aws_access_key_id": "k", "region_name": "eu-west-1"}})
    assert isinstance(aws.credentials, AwsCredentials) and aws.credentials.region_name == "eu-west-1"
    given = MinIOCredentials(minio_root_user="u", minio_root_password="p")
    assert S3Repository(credentials=given).credentials.minio_root_user == "u"
    with pytest.raises(ValidationError, match="credentials match neither"):
        S3Repository.model_validate({"credentials": {"minio_root_user": 5, "region_name": ["x"]}})


def test_credentials_without_a_slug_try_each_kind_in_turn() -> None:
    # AwsCredentials refuses a non-string profile name; MinIOCredentials has none and is tried next
    saved = {"minio_root_user": "u", "minio_root_password": "p", "profile_name": 5}
    minio = S3Repository.model_validate({"credentials": saved}).credentials
    assert isinstance(minio, MinIOCredentials) and minio.minio_root_user == "u"


def _offline(**fields) -> S3Repository:
    """A repository whose endpoint refuses connections, each request tried once (for calls that
    must fail before any request is made)."""
    return S3Repository(credentials=AwsCredentials(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url="http://127.0.0.1:9")),
        max_attempts=1, transfer_attempts=1, **fields)


def test_the_client_pool_holds_every_concurrent_request() -> None:
    repo = _offline(max_concurrency=5, file_concurrency=5)  # 5 | 5 and 5 ^ 5 are not 5 + 5
    assert repo._client().meta.config.max_pool_connections == 5 + 5 + 2


def test_transfer_options_are_keyword_only(tmp_path: Path) -> None:
    repo, src = _offline(), tmp_path / "f.txt"
    src.write_text("f")
    for call in (lambda: repo.write_bytes("s3://b/k", b"x", {"t": "1"}),
                 lambda: repo.upload(src, "s3://b/k", {"t": "1"}),
                 lambda: repo.download("s3://b/k", tmp_path / "d", print)):
        with pytest.raises(TypeError, match="positional argument"):
            call()
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]


# --- URIs ---------------------------------------------------------------------------------------------

def test_uris_name_a_served_bucket(make_repo, bucket, s3_direct) -> None:
    uri = _put(s3_direct, bucket, "a/b.txt", b"x")
    assert make_repo(buckets=[bucket]).read_bytes(uri) == b"x"
    with pytest.raises(RepositoryError) as refused:
        make_repo(buckets=["other", "more"]).read_bytes(uri)
    assert str(refused.value) == f"bucket {bucket!r} is not served by this repository (serves other, more): {uri}"
    with pytest.raises(RepositoryError, match=r"^refused 's3:///a': needs a bucket name"):
        make_repo().read_bytes("s3:///a")


def test_plain_paths_are_local_files(tmp_path: Path) -> None:
    repo = _offline()  # S3 is never asked
    path = str(tmp_path / "d" / "f.txt")
    assert not repo.exists(path)
    repo.write_bytes(path, b"local")
    assert repo.exists(path) and repo.read_bytes(path) == b"local"
    assert repo.list_uris(str(tmp_path / "d")) == [path]
    assert repo.etag(path) and repo.get_tags(path) == {} and repo.get_metadata(path) == {}
    repo.download(path, tmp_path / "copy.txt")
    repo.upload(tmp_path / "copy.txt", str(tmp_path / "up.txt"))
    repo.copy(path, str(tmp_path / "copied.txt"))
    assert [(tmp_path / n).read_bytes() for n in ("copy.txt", "up.txt", "copied.txt")] == [b"local"] * 3
    repo.delete(path)
    assert not Path(path).exists()


# --- objects --------------------------------------------------------------------------------------------

def test_write_read_exists_delete(repo, bucket, s3_direct) -> None:
    uri = f"s3://{bucket}/k/v.txt"
    assert repo.exists(uri) is False
    repo.write_bytes(uri, b"value", tags={"t": 1}, metadata={"m": 2})
    assert repo.exists(uri) is True and repo.read_bytes(uri) == b"value"
    head = s3_direct.head_object(Bucket=bucket, Key="k/v.txt")
    assert head["ServerSideEncryption"] == "AES256" and head["Metadata"] == {"m": "2"}
    assert repo.get_tags(uri) == {"t": "1"} and repo.get_metadata(uri) == {"m": "2"}
    assert repo.etag(uri) == head["ETag"].strip('"') and '"' not in repo.etag(uri)
    repo.delete(uri)
    assert repo.exists(uri) is False
    with pytest.raises(ObjectNotFound):
        repo.read_bytes(uri)


def test_no_tags_no_metadata_no_encryption(make_repo, bucket, s3_direct) -> None:
    make_repo(server_side_encryption=None).write_bytes(f"s3://{bucket}/p", b"x", tags={}, metadata={})
    head = s3_direct.head_object(Bucket=bucket, Key="p")
    assert "ServerSideEncryption" not in head and head["Metadata"] == {}
    assert s3_direct.get_object_tagging(Bucket=bucket, Key="p")["TagSet"] == []


def test_tags_with_odd_characters_round_trip(repo, bucket, tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_text("f")
    tags = {"odd key": "a=b/c+d e"}
    repo.upload(src, f"s3://{bucket}/f.txt", tags=tags, metadata={"n": 3})
    assert repo.get_tags(f"s3://{bucket}/f.txt") == tags
    assert repo.get_metadata(f"s3://{bucket}/f.txt") == {"n": "3"}


def test_listing_by_prefix(repo, bucket, s3_direct) -> None:
    for key in ("p/b", "p/a", "p2/c", "q/d"):
        _put(s3_direct, bucket, key, b".")
    assert repo.list_uris(f"s3://{bucket}/p") == [f"s3://{bucket}/{k}" for k in ("p/a", "p/b", "p2/c")]
    assert repo.list_uris(f"s3://{bucket}/p/") == [f"s3://{bucket}/p/a", f"s3://{bucket}/p/b"]
    assert repo.list_uris(f"s3://{bucket}/none/") == []


def test_a_missing_object_and_a_missing_bucket_are_told_apart(repo, bucket, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        repo.download(f"s3://{bucket}/nothing", tmp_path / "n")
    with pytest.raises(ObjectNotFound):
        repo.etag(f"s3://{bucket}/nothing")
    for call in (lambda: repo.download("s3://lf-no-such-bucket/x", tmp_path / "x"),
                 lambda: repo.etag("s3://lf-no-such-bucket/x")):
        with pytest.raises(RepositoryError, match=r"^no such bucket: lf-no-such-bucket \(for s3://") as failed:
            call()
        assert not isinstance(failed.value, ObjectNotFound)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_object_stays_missing_when_the_bucket_check_fails(make_repo, fault_proxy, bucket,
                                                                   tmp_path: Path) -> None:
    # the object is missing (404); asking whether the bucket is missing too breaks off: still "no such object"
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=1)
    fault_proxy.only = lambda method, path: method == "HEAD" and path.strip("/") == bucket
    fault_proxy.faults, fault_proxy.share = ("reset",), 1.0
    with pytest.raises(ObjectNotFound, match=f"^no such object: s3://{bucket}/nothing$"):
        repo.download(f"s3://{bucket}/nothing", tmp_path / "n")
    assert fault_proxy.counts["reset"] == 1 and list(tmp_path.iterdir()) == []


def test_a_missing_bucket_on_upload_and_copy(repo, bucket, s3_direct, tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_text("f")
    with pytest.raises(RepositoryError, match="^no such bucket: lf-no-such-bucket"):
        repo.upload(src, "s3://lf-no-such-bucket/f.txt")
    with pytest.raises(RepositoryError, match="^no such bucket: lf-no-such-bucket"):
        repo.copy("s3://lf-no-such-bucket/f.txt", f"s3://{bucket}/g.txt")
    with pytest.raises(RepositoryError, match=f"could not upload {tmp_path / 'gone'} to s3://{bucket}/g: "
                                              "no such local file"):
        repo.upload(tmp_path / "gone", f"s3://{bucket}/g")
    assert s3_direct.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


# --- uploads and copies ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "parts"), [(5 * MiB - 1, None), (5 * MiB, 1), (6 * MiB, 2)])
def test_files_from_the_threshold_on_go_in_parts(make_repo, bucket, s3_direct, tmp_path: Path,
                                                 size: int, parts: int | None) -> None:
    repo = make_repo(multipart_threshold_mb=5, multipart_chunksize_mb=5)
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(size))
    told: list[tuple[int, int]] = []
    repo.upload(src, f"s3://{bucket}/f.bin", tags={"k": "v"}, progress=lambda d, t: told.append((d, t)))
    head = s3_direct.head_object(Bucket=bucket, Key="f.bin")
    assert head["ContentLength"] == size and head["ServerSideEncryption"] == "AES256"
    assert head["ETag"].strip('"').partition("-")[2] == ("" if parts is None else str(parts))
    assert repo.get_tags(f"s3://{bucket}/f.bin") == {"k": "v"}
    assert told[-1] == (size, size) and (parts is not None or told == [(0, size), (size, size)])
    assert s3_direct.get_object(Bucket=bucket, Key="f.bin")["Body"].read() == src.read_bytes()


@pytest.mark.parametrize("size", [10, MiB, MiB + 1])
def test_small_uploads_arrive_whole(repo, bucket, s3_direct, tmp_path: Path, size: int) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(size))
    repo.upload(src, f"s3://{bucket}/f.bin")  # no progress asked for: none told
    assert s3_direct.get_object(Bucket=bucket, Key="f.bin")["Body"].read() == src.read_bytes()


def test_copy_between_s3_uris_replaces_tags_and_metadata(repo, bucket, s3_direct, tmp_path: Path) -> None:
    src, body = f"s3://{bucket}/a.txt", os.urandom(MiB + 4096)
    repo.write_bytes(src, body, tags={"t": "1"}, metadata={"m": "1"})
    repo.copy(src, f"s3://{bucket}/b/c.txt")
    head = s3_direct.head_object(Bucket=bucket, Key="b/c.txt")
    assert s3_direct.get_object(Bucket=bucket, Key="b/c.txt")["Body"].read() == body
    assert head["ServerSideEncryption"] == "AES256" and head["Metadata"] == {}
    assert repo.get_tags(f"s3://{bucket}/b/c.txt") == {}
    # below the multipart threshold a copy is one CopyObject: the copy keeps the plain MD5 ETag
    # (the engine's reference-cache key), where a multipart copy would get a new "<md5>-1"
    assert repo.etag(f"s3://{bucket}/b/c.txt") == repo.etag(src) == hashlib.md5(body).hexdigest()


def test_copy_between_s3_and_a_local_file(repo, bucket, s3_direct, tmp_path: Path) -> None:
    local = tmp_path / "l.txt"
    local.write_text("here")
    repo.copy(str(local), f"s3://{bucket}/l.txt")
    repo.copy(f"s3://{bucket}/l.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "here"


# --- downloads ---------------------------------------------------------------------------------------------

def test_a_download_lands_whole_with_progress(repo, bucket, s3_direct, tmp_path: Path) -> None:
    body = os.urandom(70_000)
    uri = _put(s3_direct, bucket, "in/d.bin", body)
    told: list[tuple[int, int]] = []
    dest = tmp_path / "deep" / "er" / "d.bin"  # folders made as needed, more than one level
    repo.download(uri, dest, progress=lambda done, total: told.append((done, total)))
    assert dest.read_bytes() == body and os.listdir(dest.parent) == ["d.bin"]
    assert told[-1] == (len(body), len(body))


def _gets(proxy) -> list[str | None]:
    """The Range header of each GET that reached the proxy, in order."""
    return [headers.get("range") for method, _, headers in proxy.requests if method == "GET"]


def test_a_download_below_the_threshold_is_one_get(make_repo, fault_proxy, bucket, s3_direct, tmp_path: Path) -> None:
    body = os.urandom(2 * MiB)
    uri = _put(s3_direct, bucket, "in/mid.bin", body)
    make_repo(endpoint=fault_proxy.url, multipart_threshold_mb=5, multipart_chunksize_mb=5).download(
        uri, tmp_path / "mid.bin")
    assert (tmp_path / "mid.bin").read_bytes() == body
    assert _gets(fault_proxy) == [f"bytes=0-{5 * MiB - 1}"] and len(fault_proxy.requests) == 1


def test_a_large_download_goes_in_parallel_parts(make_repo, fault_proxy, bucket, s3_direct, tmp_path: Path) -> None:
    body = os.urandom(6 * MiB)
    uri = _put(s3_direct, bucket, "in/big.bin", body)
    dest = tmp_path / "big.bin"
    fault_proxy.hold = 1.0  # each request waits a second: parts sent in parallel overlap at the proxy
    make_repo(endpoint=fault_proxy.url, multipart_threshold_mb=5, multipart_chunksize_mb=5).download(uri, dest)
    assert dest.read_bytes() == body and os.listdir(tmp_path) == ["big.bin"]
    # the first GET finds the object larger than the threshold; then one GET per 5 MiB part, at once
    assert sorted(_gets(fault_proxy)) == sorted([f"bytes=0-{5 * MiB - 1}", f"bytes=0-{5 * MiB - 1}",
                                                 f"bytes={5 * MiB}-"])
    assert len(fault_proxy.requests) == 3 and fault_proxy.most_in_flight == 2


@pytest.mark.parametrize("before", [None, b"the previous version\n"], ids=["absent", "present"])
def test_a_download_failing_part_way_leaves_the_destination_as_it_was(make_repo, fault_proxy, bucket, s3_direct,
                                                                     tmp_path: Path, before: bytes | None) -> None:
    uri = _put(s3_direct, bucket, "in/d.bin", os.urandom(100_000))
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=2, retry_backoff_seconds=0)
    dest = tmp_path / "d.bin"
    if before is not None:
        dest.write_bytes(before)
    fault_proxy.faults, fault_proxy.share = ("truncate",), 1.0
    with pytest.raises(RepositoryError, match=f"^could not download {uri} after 2 attempts: "):
        repo.download(uri, dest)
    assert os.listdir(tmp_path) == ([] if before is None else ["d.bin"])
    if before is not None:
        assert dest.read_bytes() == before


def test_a_download_retried_after_a_break_is_whole(make_repo, fault_proxy, bucket, s3_direct, tmp_path: Path) -> None:
    body = os.urandom(100_000)
    uri = _put(s3_direct, bucket, "in/d.bin", body)
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=3, retry_backoff_seconds=0)
    fault_proxy.faults, fault_proxy.share = ("truncate",), 1.0
    calls = []

    def heal(done: int, total: int) -> None:
        calls.append(done)
        fault_proxy.share = 0.0  # the first attempt breaks off, the next one gets through

    repo.download(uri, tmp_path / "d.bin", progress=heal)
    assert (tmp_path / "d.bin").read_bytes() == body and os.listdir(tmp_path) == ["d.bin"]
    assert fault_proxy.counts["truncate"] >= 1


# --- retries: labflows' own, on top of botocore's ----------------------------------------------------------

@pytest.mark.parametrize(("answer", "reason"), [
    ((503, "SlowDown", "Please reduce your request rate."), "SlowDown (HTTP 503)"),
    ((500, "InternalError", "We encountered an internal error."), "InternalError (HTTP 500)"),
])
def test_transient_errors_are_retried_by_labflows(make_repo, fault_proxy, bucket, tmp_path: Path, caplog,
                                                  answer, reason) -> None:
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=3, retry_backoff_seconds=0)
    fault_proxy.answer_all = answer
    uri = f"s3://{bucket}/in/x.txt"
    with caplog.at_level(logging.WARNING), pytest.raises(RepositoryError) as failed:
        repo.read_bytes(uri)
    assert str(failed.value) == f"could not read {uri} after 3 attempts: {reason}"
    assert fault_proxy.counts["answer"] == 3
    assert f"retrying: could not read {uri} (attempt 1 of 3)" in caplog.text


def test_botocore_makes_max_attempts_per_request(make_repo, fault_proxy, bucket) -> None:
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=2, transfer_attempts=1, retry_backoff_seconds=0)
    fault_proxy.answer_all = (503, "SlowDown", "Please reduce your request rate.")
    with pytest.raises(RepositoryError, match="SlowDown"):
        repo.read_bytes(f"s3://{bucket}/x")
    assert fault_proxy.counts["answer"] == 2


def test_access_denied_is_not_retried_and_the_secret_never_shows(make_repo, fault_proxy, bucket, secret,
                                                                 tmp_path: Path, caplog) -> None:
    repo = make_repo(endpoint=fault_proxy.url, max_attempts=1, transfer_attempts=2, retry_backoff_seconds=0)
    uri = f"s3://{bucket}/{secret}/x"  # a key that holds the secret: messages and warnings must not
    fault_proxy.answer_all = (403, "AccessDenied", "Access Denied")
    with pytest.raises(RepositoryError) as denied:
        repo.download(uri, tmp_path / "x")
    assert fault_proxy.counts["answer"] == 1
    fault_proxy.answer_all = (503, "SlowDown", "Please reduce your request rate.")
    with caplog.at_level(logging.WARNING), pytest.raises(RepositoryError) as failed:
        repo.download(uri, tmp_path / "x")
    assert fault_proxy.counts["answer"] == 3
    assert str(denied.value).startswith(f"access denied: could not download s3://{bucket}/")
    assert str(failed.value).startswith(f"could not download s3://{bucket}/")
    assert "retrying: could not download" in caplog.text
    assert all(secret not in text for text in (str(denied.value), str(failed.value), caplog.text))


def test_a_failed_multipart_upload_is_aborted(make_repo, fault_proxy, bucket, s3_direct, tmp_path: Path) -> None:
    repo = make_repo(endpoint=fault_proxy.url, multipart_threshold_mb=5, multipart_chunksize_mb=5,
                     max_attempts=1, transfer_attempts=2, retry_backoff_seconds=0)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * MiB))
    fault_proxy.only = lambda method, path: method == "PUT" and "partNumber=" in path
    fault_proxy.faults, fault_proxy.share = ("503",), 1.0
    with pytest.raises(RepositoryError, match=f"^could not upload s3://{bucket}/big.bin from {big} after 2 attempts"):
        repo.upload(big, f"s3://{bucket}/big.bin")
    assert s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3_direct.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
