"""QC checks on their own (tasks/bclaw/qc.py): which conditions hold, and the messages of a QC stop."""

import json

import pytest

from specs.workflow.step_parts import QCCheck
from tasks.bclaw.qc import QCFailure, failed_conditions, run_qc_checks


def check(file: str, *conditions: str) -> QCCheck:
    return QCCheck(qc_result_file=file, stop_early_if=list(conditions))


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps({"reads": 5, "rate": 0.5, "ok": True}))
    (tmp_path / "more.json").write_text(json.dumps({"n": 100}))
    return tmp_path


def test_every_holding_condition_is_listed_in_order(workspace):
    checks = [check("stats.json", "reads < 10", "rate >= 0.9", "reads == 5"), check("more.json", "n > 99")]
    assert failed_conditions(checks, workspace) == ["stats.json: reads < 10 (reads = 5)",
                                                    "stats.json: reads == 5 (reads = 5)", "more.json: n > 99 (n = 100)"]
    with pytest.raises(QCFailure) as err:
        run_qc_checks(checks, workspace)
    assert str(err.value) == ("failed QC conditions: stats.json: reads < 10 (reads = 5); "
                              "stats.json: reads == 5 (reads = 5); more.json: n > 99 (n = 100)")


def test_a_failure_shows_every_measured_value_the_condition_read_and_cuts_long_ones(tmp_path):
    (tmp_path / "qc.json").write_text(json.dumps({"rate": 0.25, "label": "x" * 200, "min": 0.5, "unused": 1}))
    (failure,) = failed_conditions([check("qc.json", "rate < min and len(label) > 3 and rate < 1")], tmp_path)
    assert failure.startswith('qc.json: rate < min and len(label) > 3 and rate < 1 (rate = 0.25, min = 0.5, '
                              'label = "xxx')
    assert failure.endswith("x…)") and len(failure) < 200 and "unused" not in failure


@pytest.mark.parametrize(("chars", "shown"), [
    (78, '"' + "y" * 78 + '"'),        # 80 characters of JSON: shown whole
    (79, '"' + "y" * 79 + "…"),        # 81: cut after the 80th
])
def test_a_measured_value_is_cut_after_80_characters(tmp_path, chars, shown):
    (tmp_path / "qc.json").write_text(json.dumps({"label": "y" * chars}))
    (failure,) = failed_conditions([check("qc.json", "len(label) > 3")], tmp_path)
    assert failure == f"qc.json: len(label) > 3 (label = {shown})"


def test_nothing_holds_nothing_raised(workspace):
    checks = [check("stats.json", "reads > 10", "rate < 0.5"), check("more.json", "n != 100")]
    assert failed_conditions(checks, workspace) == []
    assert run_qc_checks(checks, workspace) is None
    assert run_qc_checks([], workspace) is None


@pytest.mark.parametrize("content,message", [
    (None, "QC result file not found: qc.json"),
    ("{not json", "QC result file qc.json is not JSON: Expecting property name"),
    ("[1, 2]", "QC result file qc.json must hold a JSON object"),
])
def test_an_unusable_result_file_stops_the_workflow(workspace, content, message):
    if content is not None:
        (workspace / "qc.json").write_text(content)
    with pytest.raises(QCFailure) as err:
        failed_conditions([check("stats.json", "reads > 10"), check("qc.json", "x > 1")], workspace)
    assert str(err.value).startswith(message)
    assert err.value.__cause__ is None
    # no "During handling of the above exception" noise under the message
    assert err.value.__context__ is None or err.value.__suppress_context__
