"""S3Repository's primitives and helpers against moto's server over HTTP."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from blocks.repository import ObjectNotFound, RepositoryError

MiB = 1024 * 1024


def test_write_read_exists_delete(repo, bucket, s3_direct):
    uri = f"s3://{bucket}/run1/_JOB_DATA_"
    assert not repo.exists(uri)
    repo.write_text(uri, '{"job": {}}')
    assert repo.exists(uri)
    assert repo.read_text(uri) == '{"job": {}}'
    assert s3_direct.get_object(Bucket=bucket, Key="run1/_JOB_DATA_")["Body"].read() == b'{"job": {}}'
    repo.delete(uri)
    assert not repo.exists(uri)
    repo.delete(uri)  # absent: no error


def test_uploads_are_encrypted_like_bayerclaw(repo, bucket, s3_direct, tmp_path):
    src = tmp_path / "out.txt"
    src.write_text("x")
    repo.upload(src, f"s3://{bucket}/out.txt")
    assert s3_direct.head_object(Bucket=bucket, Key="out.txt")["ServerSideEncryption"] == "AES256"


def test_no_encryption_header_when_disabled(make_repo, bucket, s3_direct):
    make_repo(server_side_encryption=None).write_text(f"s3://{bucket}/plain", "x")
    assert "ServerSideEncryption" not in s3_direct.head_object(Bucket=bucket, Key="plain")


def test_tags_and_metadata_round_trip(repo, bucket, s3_direct, tmp_path):
    src = tmp_path / "result.csv"
    src.write_text("a,b\n")
    tags = {"step": "qc", "bclaw.system": "true", "odd key": "a=b/c+d e"}
    repo.upload(src, f"s3://{bucket}/r/result.csv", tags=tags, metadata={"execution_id": "exec-42"})
    assert repo.get_tags(f"s3://{bucket}/r/result.csv") == tags
    assert repo.get_metadata(f"s3://{bucket}/r/result.csv") == {"execution_id": "exec-42"}
    # what S3 itself stored, read without the repository
    stored = s3_direct.get_object_tagging(Bucket=bucket, Key="r/result.csv")["TagSet"]
    assert {t["Key"]: t["Value"] for t in stored} == tags
    repo.write_text(f"s3://{bucket}/r/_control_/qc.complete", "", tags={"bclaw.system": "true"})
    assert repo.get_tags(f"s3://{bucket}/r/_control_/qc.complete") == {"bclaw.system": "true"}
    assert repo.get_metadata(f"s3://{bucket}/r/_control_/qc.complete") == {}


def test_large_multipart_upload_and_download_are_byte_equal(make_repo, bucket, s3_direct, tmp_path):
    repo = make_repo(multipart_threshold_mb=5, multipart_chunksize_mb=5)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(20 * MiB))
    uri = f"s3://{bucket}/big/big.bin"
    repo.upload(src, uri, tags={"kind": "big"}, metadata={"execution_id": "e1"})
    etag = repo.etag(uri)
    assert etag.endswith("-4"), etag  # 4 parts of 5 MiB: a real multipart upload
    assert repo.get_tags(uri) == {"kind": "big"}
    assert repo.get_metadata(uri) == {"execution_id": "e1"}
    body = s3_direct.get_object(Bucket=bucket, Key="big/big.bin")["Body"].read()
    assert body == src.read_bytes()
    dest = tmp_path / "down" / "big.bin"
    repo.download(uri, dest)
    assert dest.read_bytes() == src.read_bytes()
    assert sorted(os.listdir(dest.parent)) == ["big.bin"]  # no .part left
    assert s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_etag_is_the_s3_etag_and_changes_with_content(repo, bucket, s3_direct):
    uri = f"s3://{bucket}/ref/genome.fa"
    repo.write_text(uri, ">chr1\nACGT\n")
    head = s3_direct.head_object(Bucket=bucket, Key="ref/genome.fa")
    assert repo.etag(uri) == head["ETag"].strip('"')
    assert '"' not in repo.etag(uri)
    before = repo.etag(uri)
    repo.write_text(uri, ">chr1\nACGTT\n")
    assert repo.etag(uri) != before


def test_list_uris_prefix_semantics_and_pagination(repo, bucket, s3_direct):
    keys = [f"many/k{i:04d}" for i in range(1005)] + ["many2/x", "other/y"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3_direct.put_object(Bucket=bucket, Key=k, Body=b"."), keys))
    listed = repo.list_uris(f"s3://{bucket}/many")
    assert len(listed) == 1006  # more than one page of 1000
    assert listed == sorted(f"s3://{bucket}/{k}" for k in keys if k.startswith("many"))
    assert len(repo.list_uris(f"s3://{bucket}/many/")) == 1005
    assert repo.list_uris(f"s3://{bucket}/nothing/") == []
    assert len(repo.list_uris(f"s3://{bucket}/")) == 1007


@pytest.fixture
def glob_bucket(repo, bucket, s3_direct):
    """The objects of BayerCLAW's glob tests (reference section 8, behaviour 8)."""
    for key in ["repo/path/file1", "repo/path/file2", "repo/path/file3", "repo/path/other_file",
                "different/path/different_file"]:
        s3_direct.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


@pytest.mark.parametrize("pattern, expected", [
    ("file?", ["file1", "file2", "file3"]),
    ("file[12]", ["file1", "file2"]),
    ("*file*", ["file1", "file2", "file3", "other_file"]),
    ("nothing*", []),
    ("other_file", ["other_file"]),
    ("no_such_file", []),
])
def test_glob_in_a_repository_folder(repo, glob_bucket, pattern, expected):
    base = f"s3://{glob_bucket}/repo/path/"
    assert repo.glob(base + pattern) == [base + name for name in expected]


def test_glob_at_the_bucket_root_crosses_slashes(repo, glob_bucket):
    root = f"s3://{glob_bucket}/"
    assert repo.glob(root + "*") == sorted(root + k for k in [
        "different/path/different_file", "repo/path/file1", "repo/path/file2", "repo/path/file3",
        "repo/path/other_file"])
    assert repo.glob(root + "?iffer*") == [root + "different/path/different_file"]


def test_download_many_and_upload_many(repo, bucket, s3_direct, tmp_path):
    items = []
    for i in range(12):
        src = tmp_path / "up" / f"f{i}.txt"
        src.parent.mkdir(exist_ok=True)
        src.write_bytes(os.urandom(1000 + i))
        items.append((src, f"s3://{bucket}/many/f{i}.txt", {"i": str(i)}, {"execution_id": "x"}))
    repo.upload_many(items)
    repo.download_many([(uri, tmp_path / "down" / Path(uri).name) for _, uri, _, _ in items])
    for src, uri, tags, _ in items:
        assert (tmp_path / "down" / src.name).read_bytes() == src.read_bytes()
        assert repo.get_tags(uri) == tags
    assert repo.transfer_workers() == repo.file_concurrency


def test_copy_between_s3_uris(make_repo, bucket, s3_direct, tmp_path):
    repo = make_repo(multipart_threshold_mb=5, multipart_chunksize_mb=5)
    repo.write_text(f"s3://{bucket}/a/job.yaml", "steps: []\n")
    repo.copy(f"s3://{bucket}/a/job.yaml", f"s3://{bucket}/b/job.yaml")
    assert repo.read_text(f"s3://{bucket}/b/job.yaml") == "steps: []\n"
    big = tmp_path / "big"
    big.write_bytes(os.urandom(11 * MiB))
    repo.upload(big, f"s3://{bucket}/a/big")
    repo.copy(f"s3://{bucket}/a/big", f"s3://{bucket}/b/big")
    assert s3_direct.get_object(Bucket=bucket, Key="b/big")["Body"].read() == big.read_bytes()
    with pytest.raises(ObjectNotFound, match=f"s3://{bucket}/a/missing"):
        repo.copy(f"s3://{bucket}/a/missing", f"s3://{bucket}/b/missing")


def test_local_paths_are_plain_files(repo, bucket, tmp_path):
    local = tmp_path / "job.yaml"
    repo.write_text(str(local), "a: 1\n")
    assert local.read_text() == "a: 1\n"
    assert repo.exists(str(local)) and repo.read_text(str(local)) == "a: 1\n"
    assert repo.glob(str(tmp_path / "*.yaml")) == [local.as_posix()]
    dest = tmp_path / "copy" / "job.yaml"
    repo.download(str(local), dest)
    assert dest.read_text() == "a: 1\n"
    # mixed copy: local file to S3 and back
    repo.copy(str(local), f"s3://{bucket}/job.yaml")
    assert repo.read_text(f"s3://{bucket}/job.yaml") == "a: 1\n"


# ---- permanent errors: one line, naming the URI ------------------------------------------------

def test_missing_object_is_reported_with_its_uri(repo, bucket, tmp_path):
    uri = f"s3://{bucket}/run1/missing_input.fq"
    for call in (lambda: repo.read_bytes(uri), lambda: repo.etag(uri), lambda: repo.get_metadata(uri),
                 lambda: repo.download(uri, tmp_path / "missing_input.fq")):
        with pytest.raises(ObjectNotFound) as info:
            call()
        assert str(info.value) == f"no such object: {uri}"
    assert not (tmp_path / "missing_input.fq").exists()
    assert not (tmp_path / "missing_input.fq.part").exists()


def test_missing_bucket_is_named(repo, tmp_path):
    uri = "s3://lf-no-such-bucket-here/run1/x"
    src = tmp_path / "x"
    src.write_text("x")
    for call in (lambda: repo.read_bytes(uri), lambda: repo.download(uri, tmp_path / "d"),
                 lambda: repo.upload(src, uri), lambda: repo.list_uris(uri), lambda: repo.write_text(uri, "")):
        with pytest.raises(RepositoryError) as info:
            call()
        message = str(info.value)
        assert message == f"no such bucket: lf-no-such-bucket-here (for {uri})", message
    assert repo.exists(uri) is False


def test_bucket_restriction(make_repo, bucket, s3_direct):
    repo = make_repo(buckets=[bucket])
    repo.write_text(f"s3://{bucket}/ok", "fine")
    other = "s3://lf-other-bucket/x"
    with pytest.raises(RepositoryError) as info:
        repo.read_bytes(other)
    assert "'lf-other-bucket'" in str(info.value) and other in str(info.value)
    assert bucket in str(info.value)  # names the buckets it serves
    with pytest.raises(RepositoryError):
        repo.write_text(other, "no")
    with pytest.raises(RepositoryError):
        repo.glob("s3://lf-other-bucket/*")


def test_local_file_missing_for_upload(repo, bucket, tmp_path):
    with pytest.raises(RepositoryError) as info:
        repo.upload(tmp_path / "nope.txt", f"s3://{bucket}/nope.txt")
    assert f"s3://{bucket}/nope.txt" in str(info.value) and "nope.txt" in str(info.value)
    assert "\n" not in str(info.value)
