"""Fixtures for the BayerCLAW conformance tests: a repository standing in for upstream's moto bucket."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from blocks.local import LocalRepository
from specs.workflow.model import Options
from tasks.bclaw.context import RunContext

REPO = "s3://repo-bucket/repo"


@pytest.fixture
def repo(tmp_path) -> LocalRepository:
    """A local repository (``s3://bucket/key`` → ``<tmp>/storage/bucket/key``)."""
    return LocalRepository(root=str(tmp_path / "storage"))


@pytest.fixture
def put(repo) -> Callable[[str, Any], str]:
    """Write an object (text, or anything else as JSON) under :data:`REPO` or at a full URI; its URI."""

    def write(key: str, body: Any) -> str:
        uri = key if key.startswith("s3://") else f"{REPO}/{key}"
        repo.write_text(uri, body if isinstance(body, str) else json.dumps(body))
        return uri

    return write


@pytest.fixture
def make_ctx(repo, tmp_path) -> Callable[..., RunContext]:
    """A run context on :data:`REPO` whose ``_JOB_DATA_`` holds ``job``, ``parent`` and ``scatter``."""

    def make(job: Any, parent: dict | None = None, scatter: dict | None = None) -> RunContext:
        ctx = RunContext(repo=repo, repo_uri=REPO, workflow_name="wf", options=Options(),
                         scratch=tmp_path / "scratch", execution_id="exec-1")
        ctx.write_job_data(job, parent=parent, scatter=scatter)
        return ctx

    return make
