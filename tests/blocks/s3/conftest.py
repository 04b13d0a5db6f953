"""A real S3 endpoint for the S3 tests: moto's standalone server over HTTP (never ``mock_aws``).

One ``ThreadedMotoServer`` on 127.0.0.1 (free port) serves the whole session; each test gets its
own bucket. ``fault_proxy`` puts a fault-injecting HTTP proxy in front of it.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from prefect_aws import AwsCredentials
from prefect_aws.client_parameters import AwsClientParameters
from pydantic import SecretStr

from blocks.s3 import S3Repository


def _load_sibling(name: str) -> ModuleType:
    """Import a module of this folder by path (tests/ is no package; pytest runs in importlib mode)."""
    full = f"labflows_tests_s3_{name}"
    if full not in sys.modules:
        spec = importlib.util.spec_from_file_location(full, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
    return sys.modules[full]


FaultProxy = _load_sibling("fault_proxy").FaultProxy

SECRET = "labflows-TEST-secret-0f9e8d7c6b5a"  # must never show up in messages, logs or repr


@pytest.fixture(scope="session")
def s3_direct(moto_endpoint: str) -> Any:
    """A plain boto3 client talking to moto directly (no proxy): the ground truth in tests."""
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key=SECRET,
                        config=Config(max_pool_connections=20))


@pytest.fixture
def bucket(s3_direct: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"lf-{uuid.uuid4().hex[:16]}"
    s3_direct.create_bucket(Bucket=name)
    return name


def credentials_for(endpoint: str) -> AwsCredentials:
    """prefect-aws credentials for the test endpoint (secret key :data:`SECRET`)."""
    return AwsCredentials(aws_access_key_id="testing", aws_secret_access_key=SecretStr(SECRET),
                          region_name="us-east-1",
                          aws_client_parameters=AwsClientParameters(endpoint_url=endpoint))


@pytest.fixture
def make_repo(moto_endpoint: str) -> Callable[..., S3Repository]:
    """``make_repo(endpoint=None, **fields)``: an S3Repository on moto (or on ``endpoint``)."""
    def make(endpoint: str | None = None, **fields: Any) -> S3Repository:
        return S3Repository(credentials=credentials_for(endpoint or moto_endpoint), **fields)
    return make


@pytest.fixture
def repo(make_repo: Callable[..., S3Repository]) -> S3Repository:
    """An S3Repository with default settings talking to moto directly."""
    return make_repo()


@pytest.fixture
def secret() -> str:
    """The secret access key of every test repository."""
    return SECRET


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[Any]:
    """A fault-injecting proxy in front of moto (injects nothing until configured)."""
    host, port = moto_endpoint.rsplit("//", 1)[1].split(":")
    proxy = FaultProxy(host, int(port), seed=1234).start()
    yield proxy
    proxy.stop()
