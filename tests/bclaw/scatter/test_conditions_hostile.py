"""Job data and result files in chooser and QC conditions are values, never code: every hostile
value (and Python code meant for eval) compares as text and creates no canary."""

from __future__ import annotations

import json

import pytest

from tasks.bclaw.chooser import condition_names, holds
from tasks.bclaw.context import RunContext
from tasks.bclaw.qc import QCFailure, run_qc_checks
from tests.support.hostile import hostile_values

REPO = "s3://bkt/cond/r"
PYTHON_CODE = ["__import__('os').system('touch {canary}')", "open('{canary}', 'w')",
               "exec(\"open('{canary}','w')\")", "{{'a': [x for x in ().__class__.__base__.__subclasses__()]}}"]


@pytest.fixture
def values(tmp_path):
    found = hostile_values(tmp_path)
    canary = tmp_path / "canaries" / "py"
    found.update({f"py{i}": code.format(canary=canary) for i, code in enumerate(PYTHON_CODE)})
    return found


def _no_canaries(tmp_path):
    return sorted(p.name for p in (tmp_path / "canaries").iterdir())


def test_chooser_conditions_compare_hostile_job_values_as_text(repo, tmp_path, values):
    from specs.workflow.model import load_workflow

    wf = tmp_path / "o.yaml"
    wf.write_text("Repository: s3://x\nSteps:\n  - a: {commands: ['true']}\n")
    ctx = RunContext(repo=repo, repo_uri=REPO, workflow_name="wf", options=load_workflow(wf).options,
                     scratch=tmp_path / "scratch")
    ctx.write_job_data(values)
    repo.write_text(f"{REPO}/result.json", json.dumps(values))
    names = condition_names({"result": "result.json"}, ctx)
    for key, value in values.items():
        assert holds("c", f"job.{key} == {json.dumps(value)}", names)
        assert holds("c", f"result.{key} == job.{key}", names)
        assert not holds("c", f"job.{key} == 'x'", names)
        assert holds("c", f"len(job.{key}) == {len(value)}", names)
    assert _no_canaries(tmp_path) == []


def test_qc_conditions_read_hostile_result_values_as_data(tmp_path, values):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "qc.json").write_text(json.dumps(values))
    checks = [type("QC", (), {"qc_result_file": "qc.json",
                              "stop_early_if": [f"{key} == {json.dumps(value)}"]})() for key, value in values.items()]
    for check in checks:
        with pytest.raises(QCFailure):
            run_qc_checks([check], workspace)
    assert _no_canaries(tmp_path) == []
