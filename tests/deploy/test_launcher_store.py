"""The launcher's exactly-once record (tasks/runtime/repo_ops.py) without a Prefect server: job-file
versions and "create unless it exists" on local folders and on S3 (moto over HTTP).

The local tests come first: a mutation run (bench/mutate.py, pytest -x) then often stops before
the S3 server is started."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import uuid
from pathlib import Path

import boto3
import pytest

from blocks.local import LocalRepository
from blocks.repository import ObjectNotFound, Repository, RepositoryError
from tasks.runtime.repo_ops import FileVersion, create_exclusive, file_version


class DictRepository(Repository):
    """A repository of a third kind (neither a local folder nor S3), objects in a dict: the launcher
    falls back to "check, then write" for it."""

    _block_type_name = "Labflows Test Dict Repository"
    objects: dict[str, bytes] = {}

    def exists(self, uri: str) -> bool:
        return uri in self.objects

    def read_bytes(self, uri: str) -> bytes:
        if uri not in self.objects:
            raise ObjectNotFound(uri)
        return self.objects[uri]

    def write_bytes(self, uri: str, data: bytes, *, tags=None, metadata=None) -> None:
        self.objects[uri] = data

    def etag(self, uri: str) -> str:
        return hashlib.md5(self.read_bytes(uri)).hexdigest()

    def list_uris(self, prefix: str) -> list[str]:
        return sorted(u for u in self.objects if u.startswith(prefix))

    def delete(self, uri: str) -> None:
        self.objects.pop(uri, None)

    def download(self, uri: str, dest: Path) -> None:
        raise NotImplementedError

    def upload(self, src: Path, uri: str, *, tags=None, metadata=None) -> None:
        raise NotImplementedError

    def get_tags(self, uri: str) -> dict[str, str]:
        return {}

    def get_metadata(self, uri: str) -> dict[str, str]:
        return {}


@pytest.fixture
def local(tmp_path) -> LocalRepository:
    return LocalRepository(root=str(tmp_path / "storage"))


@pytest.fixture
def plain_bucket(moto_endpoint: str) -> str:
    """A fresh bucket without versioning."""
    name = f"plain-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=name)
    return name


def test_a_local_file_version_is_its_etag_and_a_rewrite_is_a_new_version(local):
    uri = "s3://bkt/jobs/a.json"
    local.write_bytes(uri, b"{}")
    first = file_version(local, uri)
    assert first == FileVersion(local.etag(uri), local.etag(uri)) and first.token
    path = local.path_of(uri)
    copy = path.with_name("copy")
    copy.write_bytes(b"{}")
    os.replace(copy, path)  # the same content copied in again: a new file
    assert file_version(local, uri) != first


def test_local_create_is_exclusive_and_leaves_no_temporary_file(local, tmp_path):
    uri = "s3://bkt/_launcher_/launched/x.json"
    assert create_exclusive(local, uri, b"first") is True
    assert create_exclusive(local, uri, b"second") is False
    assert local.read_bytes(uri) == b"first"
    assert sorted(p.name for p in local.path_of(uri).parent.iterdir()) == ["x.json"]

    plain = tmp_path / "plain" / "y.json"  # a plain path, not in any bucket
    assert create_exclusive(local, str(plain), b"p") is True and plain.read_bytes() == b"p"


def test_a_local_claim_on_a_name_taken_by_anything_is_lost(local):
    uri = "s3://bkt/_launcher_/launched/taken.json"
    local.path_of(uri).mkdir(parents=True)  # a folder holds the name
    assert create_exclusive(local, uri, b"t") is False and local.path_of(uri).is_dir()


def test_other_repositories_check_then_write(tmp_path):
    repo = DictRepository(objects={})
    uri = "s3://bkt/_launcher_/launched/x.json"
    assert create_exclusive(repo, uri, b"first") is True
    assert create_exclusive(repo, uri, b"second") is False
    assert repo.objects == {uri: b"first"}
    assert file_version(repo, uri) == FileVersion(repo.etag(uri), repo.etag(uri))


def test_a_file_version_cannot_change_once_read():
    version = FileVersion("token", "part")
    with pytest.raises(dataclasses.FrozenInstanceError):
        version.token = "other"  # type: ignore[misc]
    assert {version: 1}[FileVersion("token", "part")] == 1


def test_local_claims_race_in_threads_with_one_winner(local):
    uri = "s3://bkt/_launcher_/launched/race.json"
    barrier = threading.Barrier(6)
    results: list[bool] = []

    def claim(i: int) -> None:
        barrier.wait()
        results.append(create_exclusive(local, uri, str(i).encode()))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False] * 5 + [True]
    assert local.read_bytes(uri) in {str(i).encode() for i in range(6)}


def test_s3_versions_are_version_ids_or_etags(s3_repo, versioned_bucket, plain_bucket):
    uri = f"s3://{versioned_bucket}/jobs/a.json"
    s3_repo.write_bytes(uri, b"one")
    first = file_version(s3_repo, uri)
    assert first.token == first.name_part and first.token not in ("", "null")
    s3_repo.write_bytes(uri, b"two")
    assert file_version(s3_repo, uri).token != first.token

    plain = f"s3://{plain_bucket}/jobs/a.json"
    s3_repo.write_bytes(plain, b"one")
    assert file_version(s3_repo, plain) == FileVersion("etag-" + s3_repo.etag(plain), "")


def test_s3_create_is_conditional_and_other_errors_are_raised(s3_repo, plain_bucket, tmp_path):
    uri = f"s3://{plain_bucket}/_launcher_/launched/x.json"
    assert create_exclusive(s3_repo, uri, b"first") is True
    assert create_exclusive(s3_repo, uri, b"second") is False
    assert s3_repo.read_bytes(uri) == b"first"
    with pytest.raises(Exception) as info:  # a missing bucket is no lost race
        create_exclusive(s3_repo, f"s3://no-such-{plain_bucket}/x.json", b"x")
    assert "NoSuchBucket" in str(info.value) and not isinstance(info.value, RepositoryError)

    plain = tmp_path / "local.json"  # an S3 repository given a plain path writes the local file
    assert create_exclusive(s3_repo, str(plain), b"l") is True
    assert create_exclusive(s3_repo, str(plain), b"m") is False and plain.read_bytes() == b"l"
    taken = tmp_path / "taken.json"  # by anything at all (here a folder): the claim is lost, atomically
    taken.mkdir()
    assert create_exclusive(s3_repo, str(taken), b"t") is False and taken.is_dir()


@pytest.mark.parametrize("answer", [
    (409, "ConditionalRequestConflict", "A conflicting conditional operation is in progress."),
    (412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"),
    (412, "SomeNewCode", "a 412 by any code is a lost race"),
])
def test_s3_conflicts_and_failed_preconditions_are_lost_races(moto_endpoint, plain_bucket, answer):
    """As S3 (and compatible servers) may answer a conditional create that another writer won."""
    from prefect_aws import AwsCredentials
    from prefect_aws.client_parameters import AwsClientParameters

    from blocks.s3 import S3Repository
    from tests.blocks.s3.fault_proxy import FaultProxy

    host, port = moto_endpoint.rsplit("//", 1)[1].split(":")
    proxy = FaultProxy(host, int(port), answer_all=answer).start()
    try:
        repo = S3Repository(max_attempts=1, credentials=AwsCredentials(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
            aws_client_parameters=AwsClientParameters(endpoint_url=proxy.url)))
        assert create_exclusive(repo, f"s3://{plain_bucket}/_launcher_/launched/x.json", b"x") is False
        assert proxy.counts["answer"] == 1
    finally:
        proxy.stop()


@pytest.mark.parametrize(("header", "expected_name"), [
    ("null", ""),  # real S3, for an object written while versioning was suspended: no version to name
    ("zz-3HL4kqtJlcpXroDTDmJ", "zz-3HL4kqtJlcpXroDTDmJ"),  # a real version ID (sorts after "null")
])
def test_the_version_id_null_is_no_version(s3_repo, moto_endpoint, versioned_bucket, header, expected_name):
    """moto sends no version ID for such objects, so a proxy adds what S3 would (the run name's
    suffix must not become ``null``; BayerCLAW names those runs with ``NULL``)."""
    from prefect_aws import AwsCredentials
    from prefect_aws.client_parameters import AwsClientParameters

    from blocks.s3 import S3Repository
    from tests.blocks.s3.fault_proxy import FaultProxy

    uri = f"s3://{versioned_bucket}/jobs/suspended.json"
    s3_repo.write_bytes(uri, b"{}")
    host, port = moto_endpoint.rsplit("//", 1)[1].split(":")
    proxy = FaultProxy(host, int(port), response_headers={"x-amz-version-id": header}).start()
    try:
        repo = S3Repository(max_attempts=1, credentials=AwsCredentials(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
            aws_client_parameters=AwsClientParameters(endpoint_url=proxy.url)))
        version = file_version(repo, uri)
    finally:
        proxy.stop()
    assert version.name_part == expected_name
    assert version.token == (header if expected_name else "etag-" + s3_repo.etag(uri))
