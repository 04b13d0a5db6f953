"""Native Step Functions steps that map to Prefect: Pass, Wait, Succeed, Fail."""

from __future__ import annotations

import time
from typing import Sequence

from tasks.bclaw.context import RunContext, StepRecord
from tasks.bclaw.walk import StepOutcome

# Raw Step Functions states that have a labflows equivalent; the message says which.
UNSUPPORTED_NATIVE = {
    "Task": "raw Step Functions Task states are not run by labflows; write a command step (commands) instead",
    "Parallel": "raw Step Functions Parallel states are not run by labflows; "
                "use a parallel chooser (branches: [{steps: …}]) instead",
}


class NativeStepFailed(RuntimeError):
    """A Fail step was reached."""


def unsupported_native_steps(steps: Sequence) -> list[str]:
    """One message per native step (at any depth) that labflows cannot run."""
    problems = []
    for step in steps:
        if step.kind == "native" and step.type in UNSUPPORTED_NATIVE:
            problems.append(f"step {step.name}: {UNSUPPORTED_NATIVE[step.type]}")
        for child in getattr(step, "steps", None) or []:
            problems.extend(unsupported_native_steps([child]))
        for branch in getattr(step, "branches", None) or []:
            problems.extend(unsupported_native_steps(branch.steps))
    return problems


def run_native_step(step, ctx: RunContext, prev_outputs: dict) -> StepOutcome:
    """Pass hands inputs on, Wait sleeps ``Seconds``, Succeed ends the walk, Fail raises."""
    started = time.monotonic()
    if step.type == "Wait":
        time.sleep(float(step.spec.get("Seconds", 0)))
    elif step.type == "Fail":
        error = step.spec.get("Error", "Failed")
        cause = step.spec.get("Cause", "")
        raise NativeStepFailed(f"step {step.name} failed: {error}" + (f": {cause}" if cause else ""))
    elif step.type in UNSUPPORTED_NATIVE:
        raise NativeStepFailed(f"step {step.name}: {UNSUPPORTED_NATIVE[step.type]}")
    record = StepRecord(step.name, "done", time.monotonic() - started)
    return StepOutcome([record], dict(prev_outputs), stop=step.type == "Succeed")
