"""The run log helpers: a failure's last output lines, expected failures without a traceback, and
the console's verbosity filter."""

from __future__ import annotations

import logging
import sys

from tasks.runtime.failures import ExpectedFailure, failure_outputs, is_expected
from tasks.runtime.logs import ConsoleFilter, _ExpectedFailureFilter, tail_lines


def test_tail_lines_are_the_last_lines_after_since_bounded(tmp_path):
    log = tmp_path / "step.log"
    log.write_text("first attempt\n" + "x" * 10_000 + "\nsecond\n\n   \nthird " + "y" * 500 + "\nlast\n")
    tail = tail_lines(log, lines=3, width=20)
    assert tail.split(" | ") == ["second", "third " + "y" * 13 + "…", "last"]
    assert len(tail) < 100  # bounded whatever the log holds
    retried = tmp_path / "retried.log"  # a retry appends to the log: its error shows its own lines
    retried.write_text("attempt 1 output\nexit 1\nattempt 2 output\n")
    assert tail_lines(retried, lines=10, since=len("attempt 1 output\nexit 1\n")) == "attempt 2 output"
    assert tail_lines(tmp_path / "missing.log") == ""


def test_expected_failures_are_found_through_their_cause():
    class Boom(ExpectedFailure):
        pass

    try:
        try:
            raise Boom("step a: exited 1")
        except Boom as inner:
            raise RuntimeError("workflow failed") from inner
    except RuntimeError as outer:
        assert is_expected(outer)
    assert not is_expected(ValueError("bug")) and not is_expected(None)
    failed = Boom("x")
    failed.outputs = ["s3://b/k"]
    assert failure_outputs(failed) == ["s3://b/k"] and failure_outputs(ValueError()) == []


def _record(exc: BaseException | None, level=logging.ERROR, pathname="/x/prefect/task_engine.py",
            name="prefect.task_runs") -> logging.LogRecord:
    info = (type(exc), exc, None) if exc else None
    return logging.LogRecord(name, level, pathname, 1, "Task run failed", None, info)


def test_an_expected_failure_loses_its_traceback_an_unexpected_one_keeps_it():
    quiet = _ExpectedFailureFilter()
    expected, unexpected = _record(ExpectedFailure("qc")), _record(KeyError("bug"))
    assert quiet.filter(expected) and quiet.filter(unexpected)
    assert expected.exc_info is None and unexpected.exc_info is not None


def test_console_filter_levels():
    own = sys.modules[ConsoleFilter.__module__].__file__  # a record logged from labflows' code
    info, warning = _record(None, logging.INFO, own, "prefect.task_runs"), _record(None, logging.WARNING, own)
    engine_state = _record(None, logging.INFO)
    engine_traceback = _record(KeyError("bug"))
    library_warning = _record(None, logging.WARNING, "/x/site-packages/boto3/x.py", "boto3")
    seen = {v: [ConsoleFilter(v).filter(r) for r in (info, warning, engine_state, engine_traceback, library_warning)]
            for v in (0, 1, 2)}
    assert seen[0] == [False, True, False, False, True]
    assert seen[1] == [True, True, False, True, True]
    assert seen[2] == [True, True, True, True, True]
