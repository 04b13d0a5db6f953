"""QC checks: stop the workflow when a result file meets a ``stop_early_if`` condition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from specs.workflow.expressions import compile_expression
from tasks.runtime.failures import ExpectedFailure


class QCFailure(ExpectedFailure):
    """A QC condition was met; the workflow stops (BayerCLAW aborts the execution)."""


def failed_conditions(checks: Sequence, workspace: Path) -> list[str]:
    """``["file: expr", …]`` for every condition that holds; names come from the file's JSON."""
    failures = []
    for check in checks:
        path = workspace / check.qc_result_file
        try:
            names = json.loads(path.read_text())
        except FileNotFoundError:
            raise QCFailure(f"QC result file not found: {check.qc_result_file}") from None
        except json.JSONDecodeError as exc:
            raise QCFailure(f"QC result file {check.qc_result_file} is not JSON: {exc}") from None
        if not isinstance(names, dict):
            raise QCFailure(f"QC result file {check.qc_result_file} must hold a JSON object")
        for expr in check.stop_early_if:
            if compile_expression(expr).evaluate(names):
                failures.append(f"{check.qc_result_file}: {expr}")
    return failures


def run_qc_checks(checks: Sequence, workspace: Path) -> None:
    """Raise :class:`QCFailure` (``failed QC conditions: …``) when any condition holds."""
    failures = failed_conditions(checks, workspace)
    if failures:
        raise QCFailure("failed QC conditions: " + "; ".join(failures))
