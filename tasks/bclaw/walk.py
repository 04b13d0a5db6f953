"""Walking a list of steps in order (``next``/``end`` respected), one handler per step kind.

The same walker serves the top-level flow (whose handlers run Prefect tasks and subflows) and
scatter branches inside a batch task (whose handlers call the plain step functions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from specs.workflow.model import step_order
from tasks.bclaw.context import RunContext, StepRecord
from tasks.runtime.failures import failure_outputs, failure_outputs_note


class UnsupportedStep(RuntimeError):
    """A step kind this walker has no handler for."""


@dataclass
class StepOutcome:
    """What a handler reports: summary records, auto-inputs for the next step, where to go next."""

    records: list[StepRecord] = field(default_factory=list)
    prev_outputs: dict[str, str] = field(default_factory=dict)
    goto: str | None = None  # a chooser's pick; None follows the normal order
    stop: bool = False  # end the walk here (Succeed)


Handler = Callable[[object, RunContext, dict], StepOutcome]
Handlers = dict[str, Handler]  # step kind -> handler (tasks.bclaw.step_kinds builds them)


def walk_steps(steps: Sequence, ctx: RunContext, handlers: Handlers,
               records: list[StepRecord], prev_outputs: dict | None = None) -> dict:
    """Run ``steps`` from the first; appends to ``records`` (also when a step fails, then re-raises).

    Returns the auto-inputs left by the last step.
    """
    if not steps:
        return dict(prev_outputs or {})
    order = step_order(list(steps))
    by_name = {s.name: s for s in steps}
    prev = dict(prev_outputs or {})
    current: str | None = steps[0].name
    while current is not None:
        step = by_name[current]
        handler = handlers.get(step.kind)
        if handler is None:
            raise UnsupportedStep(f"step {step.name}: {step.kind} steps are not supported here")
        started = time.monotonic()
        try:
            outcome = handler(step, ctx, prev)
        except Exception as exc:
            records.append(StepRecord(step.name, "failed", time.monotonic() - started,
                                      failure_outputs(exc), str(exc), failure_outputs_note(exc)))
            raise
        records.extend(outcome.records)
        prev = outcome.prev_outputs
        if outcome.stop:
            break
        current = outcome.goto if outcome.goto is not None else order[current]
    return prev
