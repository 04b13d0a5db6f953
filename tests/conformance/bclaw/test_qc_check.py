"""Conformance with BayerCLAW's ``bclaw_runner/tests/test_qc_check.py`` (``qc_check`` conditions).

Upstream has 4 tests: 3 ported; 1 skipped as AWS plumbing (test_abort_execution stops a Step
Functions execution; labflows fails the run instead). Conditions are evaluated by labflows' safe
evaluator, not ``eval`` (docs/compatibility.md).
"""

import json
import re

import pytest

from specs.workflow.step_parts import QCCheck
from tasks.bclaw.qc import QCFailure, failed_conditions, run_qc_checks

QC_DATA_1 = {"a": 1, "b": 2.0}
QC_DATA_2 = {"x": 99, "y": 98}


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "fake1").write_text(json.dumps(QC_DATA_1))  # in a sub-folder: named by basename
    (tmp_path / "fake2").write_text(json.dumps(QC_DATA_2))
    return tmp_path


def upstream_form(message):
    """The message without labflows' measured values (``a==1 (a = 1)`` -> ``a==1``), a deliberate
    addition listed in docs/compatibility.md; everything else must read as upstream's."""
    if isinstance(message, list):
        return [upstream_form(m) for m in message]
    return re.sub(r" \((?:\w+ = [^;]*?)\)(?=; |$)", "", message)


def checks(cond1, cond2):
    return [QCCheck(qc_result_file="out/fake1", stop_early_if=cond1),
            QCCheck(qc_result_file="fake2", stop_early_if=cond2)]


@pytest.mark.parametrize("expression, expect", [("x == 1", True), ("x != 1", False)])
def test_run_one_qc_check(tmp_path, expression, expect):
    """upstream: bclaw_runner/tests/test_qc_check.py::test_run_one_qc_check"""
    (tmp_path / "qc.json").write_text(json.dumps({"x": 1}))
    failed = failed_conditions([QCCheck(qc_result_file="qc.json", stop_early_if=[expression])], tmp_path)
    assert upstream_form(failed) == ([f"qc.json: {expression}"] if expect else [])
    assert failed == ([f"qc.json: {expression} (x = 1)"] if expect else [])  # plus what it measured


CASES = [
    (["a>1"], ["x<99"], []),
    (["a>1", "b==2"], ["y<98"], ["fake1: b==2"]),
    (["b==1"], ["x==99", "y==98"], ["fake2: x==99", "fake2: y==98"]),
    (["a==1", "b==2"], ["x==99", "y==98"], ["fake1: a==1", "fake1: b==2", "fake2: x==99", "fake2: y==98"]),
]


@pytest.mark.parametrize("cond1, cond2, expect", CASES)
def test_run_all_qc_checks(workspace, cond1, cond2, expect):
    """upstream: bclaw_runner/tests/test_qc_check.py::test_run_all_qc_checks (files by basename)."""
    assert upstream_form(failed_conditions(checks(cond1, cond2), workspace)) == expect


@pytest.mark.parametrize("cond1, cond2, expect", [(None, None, []), *CASES])
def test_do_checks(workspace, cond1, cond2, expect):
    """upstream: bclaw_runner/tests/test_qc_check.py::test_do_checks"""
    spec = [] if cond1 is None else checks(cond1, cond2)
    if expect:
        with pytest.raises(QCFailure) as failure:
            run_qc_checks(spec, workspace)
        assert upstream_form(str(failure.value)) == "failed QC conditions: " + "; ".join(expect)
    else:
        run_qc_checks(spec, workspace)
