"""S3Repository as a Prefect block: standards, save/load round trip, copies, and secrets kept secret."""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
import uuid

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from prefect_aws import AwsCredentials, MinIOCredentials
from prefect_aws.client_parameters import AwsClientParameters
from pydantic import SecretStr

import blocks
from blocks.repository import Repository, RepositoryError
from blocks.s3 import S3Repository


class TestS3RepositoryBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return S3Repository


def test_exported_and_slugged():
    assert blocks.S3Repository is S3Repository
    assert "S3Repository" in blocks.__all__
    assert S3Repository.get_block_type_slug() == "labflows-s3-repository"
    assert issubclass(S3Repository, Repository)


def test_save_load_round_trip_with_aws_credentials(prefect_harness, repo, bucket, secret):
    repo = repo.model_copy(update={"buckets": [bucket], "multipart_threshold_mb": 6, "retry_mode": "adaptive"})
    name = f"s3-{uuid.uuid4().hex[:8]}"
    repo.save(name)
    loaded = S3Repository.load(name)
    assert isinstance(loaded.credentials, AwsCredentials)
    assert loaded.credentials.aws_secret_access_key.get_secret_value() == secret
    assert loaded.credentials.aws_client_parameters.endpoint_url == repo.credentials.aws_client_parameters.endpoint_url
    assert (loaded.buckets, loaded.multipart_threshold_mb, loaded.retry_mode) == ([bucket], 6, "adaptive")
    loaded.write_text(f"s3://{bucket}/saved", "through a loaded block")
    assert repo.read_text(f"s3://{bucket}/saved") == "through a loaded block"
    # the engine may load any repository block by its slug-qualified name
    assert isinstance(Block.load(f"labflows-s3-repository/{name}"), S3Repository)


def test_save_load_round_trip_with_minio_credentials(prefect_harness, moto_endpoint, bucket, secret):
    repo = S3Repository(
        credentials=MinIOCredentials(minio_root_user="testing", minio_root_password=SecretStr(secret),
                                     region_name="us-east-1",
                                     aws_client_parameters=AwsClientParameters(endpoint_url=moto_endpoint)),
        server_side_encryption=None)
    name = f"minio-{uuid.uuid4().hex[:8]}"
    repo.save(name)
    loaded = S3Repository.load(name)
    assert isinstance(loaded.credentials, MinIOCredentials)
    assert loaded.server_side_encryption is None
    loaded.write_text(f"s3://{bucket}/m", "minio-style")
    assert loaded.read_text(f"s3://{bucket}/m") == "minio-style"


def test_copies_and_pickles_after_use(repo, bucket):
    repo.write_text(f"s3://{bucket}/p", "1")  # builds the client and transfer manager
    for other in (copy.deepcopy(repo), copy.copy(repo), pickle.loads(pickle.dumps(repo))):
        assert other.read_text(f"s3://{bucket}/p") == "1"


# ---- secrets ---------------------------------------------------------------------------------

def test_secret_not_in_repr_or_str_or_dump(repo, secret):
    for text in (repr(repo), str(repo), repr(repo.credentials), repo.model_dump_json()):
        assert secret not in text
    assert "**********" in repr(repo)


def test_secret_not_in_errors_or_logs(make_repo, bucket, tmp_path, secret, caplog):
    closed_port_repo = make_repo(endpoint="http://127.0.0.1:9", max_attempts=1, transfer_attempts=2,
                                 retry_backoff_seconds=0.01)
    repo = make_repo()
    src = tmp_path / "f"
    src.write_text("data")
    failures = []
    with caplog.at_level(logging.DEBUG):  # even with every logger at DEBUG
        repo.upload(src, f"s3://{bucket}/f", tags={"t": "v"})
        repo.download(f"s3://{bucket}/f", tmp_path / "g")
        for call in (lambda: repo.read_bytes(f"s3://{bucket}/missing"),
                     lambda: repo.read_bytes("s3://lf-missing-bucket-x/k"),
                     lambda: closed_port_repo.upload(src, f"s3://{bucket}/never"),
                     lambda: closed_port_repo.read_bytes(f"s3://{bucket}/f")):
            with pytest.raises(RepositoryError) as info:
                call()
            failures.append(info.value)
    assert caplog.records, "DEBUG logging captured nothing: the check would be vacuous"
    assert secret not in caplog.text
    for exc in failures:
        text = "".join(traceback.format_exception(exc))
        assert secret not in text
        assert "\n" not in str(exc)
    connection_error = str(failures[2])
    assert f"s3://{bucket}/never" in connection_error and "after 2 attempts" in connection_error
    assert logging.getLogger("botocore").getEffectiveLevel() > logging.DEBUG
