"""Fixtures for scatter, chooser, subpipe and native-step tests: workflow files, storage, flow runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from blocks.local import LocalRepository


@pytest.fixture
def storage(tmp_path) -> Path:
    """The local folder standing in for S3."""
    return tmp_path / "storage"


@pytest.fixture
def repo(storage) -> LocalRepository:
    """A repository on :func:`storage`."""
    return LocalRepository(root=str(storage))


@pytest.fixture
def write_file(tmp_path):
    """Write dedented text to ``tmp_path/name``; returns the path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def run_flow(tmp_path, storage, write_file):
    """Run a workflow (YAML text) with job data through ``run_workflow``; returns the final state."""
    from flows.workflow import run_workflow

    def run(workflow_text: str, job: dict[str, Any], name: str = "wf", **options):
        wf = write_file(f"{name}.yaml", workflow_text)
        job_file = tmp_path / f"{name}-job.json"
        job_file.write_text(json.dumps(job))
        flow = run_workflow.with_options(**options) if options else run_workflow
        return flow(workflow=str(wf), job_file=str(job_file), storage=str(storage), return_state=True)

    return run



@pytest.fixture
def intervals():
    """``(start, end)`` from each branch's ``times.txt`` under a scatter step's folder."""

    def read(folder: Path) -> list[tuple[float, float]]:
        out = []
        for path in sorted(folder.glob("*/times.txt")):
            start, end = path.read_text().split()
            out.append((float(start), float(end)))
        return out

    return read


@pytest.fixture
def max_overlap():
    """The largest number of ``(start, end)`` intervals open at one instant."""

    def peak(spans: list[tuple[float, float]]) -> int:
        events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
                        key=lambda e: (e[0], e[1]))
        open_now = most = 0
        for _, delta in events:
            open_now += delta
            most = max(most, open_now)
        return most

    return peak
