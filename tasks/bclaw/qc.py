"""QC checks: stop the workflow when a result file meets a ``stop_early_if`` condition."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from specs.workflow.expressions import Expression, compile_expression
from tasks.runtime.failures import ExpectedFailure


class QCFailure(ExpectedFailure):
    """A QC condition was met; the workflow stops (BayerCLAW aborts the execution)."""


MAX_VALUE_CHARS = 80  # a measured value in a failure message (a long list or text is cut)


def measured_values(expr: Expression, names: dict[str, Any]) -> str:
    """``reads = 512, rate = 0.3``: the values a condition read from the result file."""
    shown = []
    for name in expr.variables():
        if name in names:
            value = json.dumps(names[name])
            shown.append(f"{name} = {value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + '…'}")
    return ", ".join(shown)


def failed_conditions(checks: Sequence, workspace: Path) -> list[str]:
    """``["file: expr (name = value)", …]`` for every condition that holds: the file by its basename
    (as BayerCLAW names it), names from the file's JSON, the measured values next to the condition."""
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
        for text in check.stop_early_if:
            expr = compile_expression(text)
            if expr.evaluate(names):
                measured = measured_values(expr, names)
                name = PurePosixPath(check.qc_result_file).name  # upstream names the file by its basename
                failures.append(f"{name}: {text}" + (f" ({measured})" if measured else ""))
    return failures


def run_qc_checks(checks: Sequence, workspace: Path) -> None:
    """Raise :class:`QCFailure` (``failed QC conditions: …``) when any condition holds."""
    failures = failed_conditions(checks, workspace)
    if failures:
        raise QCFailure("failed QC conditions: " + "; ".join(failures))
