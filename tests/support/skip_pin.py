"""Pytest plugin: a skip (or xfail) that is not on :data:`ALLOWED_SKIPS` fails the run.

A skipped test passes silently, so a broken import behind ``importorskip`` or a missing tool
behind ``skipif`` would hide breakage. Every skip a run reports is checked against the list: one
that is not there is named in the summary and the exit status becomes 1 (tests failed). Runs of a
subset are fine: only skips that happened are checked, allowed tests that did not run are not
missed. To allow a new skip, add its node id here with the reason it may skip.

Loaded by ``tests/conftest.py``; ``pytest -p tests.support.skip_pin`` loads it elsewhere.
"""

from __future__ import annotations

import pytest

#: Node ids (relative to the rootdir) that may skip, with the reason.
ALLOWED_SKIPS: dict[str, str] = {
    "tests/blocks/s3/test_s3_block.py::TestS3RepositoryBlockStandards::test_has_a_valid_image":
        "Prefect's block standard suite checks the block logo with Pillow (skipped without it), which is "
        "no dependency of labflows or its tests; the check also downloads the logo, and there is no network",
}

_unexpected: dict[str, str] = {}  # node id -> why it was skipped


def _why(report: pytest.TestReport | pytest.CollectReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}".rstrip(": ")
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (file, line, "Skipped: reason")
        return str(longrepr[2])
    return str(longrepr)


def _note(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and report.nodeid not in ALLOWED_SKIPS:
        _unexpected.setdefault(report.nodeid, _why(report))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start each session with an empty record (pytest may run several in one process)."""
    _unexpected.clear()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note a test skipped in setup or call (``skip``, ``skipif``, ``importorskip``, xfail)."""
    _note(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Note a module or class skipped while it was collected (a module-level ``importorskip``)."""
    _note(report)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Turn an otherwise successful run with an unexpected skip into a failed one."""
    if _unexpected and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Name every unexpected skip and where to allow it."""
    if not _unexpected:
        return
    terminalreporter.section("skips not on the allow-list", sep="=", red=True, bold=True)
    for nodeid, why in sorted(_unexpected.items()):
        terminalreporter.line(f"SKIPPED {nodeid}: {why}", red=True)
    terminalreporter.line(f"{len(_unexpected)} unexpected skip(s) fail the run: fix the cause, or allow the "
                          "test in tests/support/skip_pin.py ALLOWED_SKIPS with a reason")
