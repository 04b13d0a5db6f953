"""Fixtures for engine tests: workflows from YAML text, a local repository, a run context."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from blocks.local import LocalRepository
from specs.workflow.model import load_workflow
from tasks.bclaw.context import RunContext

REPO = "s3://bucket/repo"


@pytest.fixture
def repo(tmp_path) -> LocalRepository:
    """An empty local repository rooted in the test's temp folder."""
    return LocalRepository(root=str(tmp_path / "storage"))


@pytest.fixture
def write_workflow(tmp_path):
    """Write YAML text as a workflow file and load it."""

    def make(text: str, name: str = "wf", params: dict | None = None):
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return load_workflow(path, params)

    return make


@pytest.fixture
def ctx(repo, tmp_path, write_workflow) -> RunContext:
    """A run context on ``s3://bucket/repo`` with job data written."""
    options = write_workflow("Repository: s3://bucket/repo\nSteps:\n  - a:\n      commands: ['true']\n").options
    context = RunContext(repo=repo, repo_uri=REPO, workflow_name="wf", options=options,
                         scratch=tmp_path / "scratch", execution_id="exec-1")
    context.write_job_data({"sample": "S1", "n": 3, "evil": "$(touch PWNED); `touch PWNED2`; 'q\""},
                           parent={"value": "from-parent"}, scatter={"value": "from-scatter"})
    return context


@pytest.fixture
def recording_docker(tmp_path, monkeypatch) -> Path:
    """An executable named ``docker`` first on PATH that records its argv and environment, then
    runs the script it was given on the host (there is no Docker engine here)."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    record = tmp_path / "docker-argv.txt"
    script = bindir / "docker"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        printf '%s\\n' "$@" > {record}
        env > {record}.env
        # last three arguments: shell, flags..., script -> run them on the host
        while [ "$1" != "--workdir" ]; do shift; done
        shift; cd "$1"; shift
        while [ "$1" = "--entrypoint" ] || [ "$1" = "--cpus" ] || [ "$1" = "--memory" ] || [ "$1" = "--gpus" ] \\
              || [ "$1" = "--env" ]; do shift 2; done
        shift  # the image
        exec "$@"
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return record
