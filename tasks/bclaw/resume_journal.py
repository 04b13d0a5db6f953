"""What a suspended workflow run already did, so that it does not do it again when resumed.

A parent flow run that suspends (:mod:`tasks.runtime.suspension`) runs again from its first step
when a child resumes it. Each top-level step that ends leaves its outcome in
``_control_/<step>.<visit>.resumed-run.json`` with the flow run's id; a later run of the *same*
flow run replays that outcome (records, auto-inputs, a chooser's pick) instead of running the step.
A new flow run (a new id) ignores the files and runs everything, as before.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import Any

from tasks.bclaw.context import CONTROL_DIR, RunContext, StepRecord
from tasks.bclaw.walk import Handler, StepOutcome
from tasks.runtime.logs import run_logger


def journal_uri(ctx: RunContext, step_name: str, visit: int) -> str:
    """Where the outcome of the ``visit``-th run of a top-level step is kept."""
    return ctx.uri(CONTROL_DIR, f"{step_name}.{visit}.resumed-run.json")


def _replayed(ctx: RunContext, uri: str, run_id: str) -> StepOutcome | None:
    if not ctx.repo.exists(uri):
        return None
    kept: dict[str, Any] = json.loads(ctx.repo.read_text(uri))
    if kept.get("flow_run_id") != run_id:
        return None  # an earlier flow run's: this run does the step itself
    return StepOutcome([StepRecord(**r) for r in kept["records"]], kept["prev_outputs"], kept["goto"], kept["stop"])


def journaled(handler: Handler, run_id: str) -> Handler:
    """``handler`` for the top-level steps of flow run ``run_id``: an outcome this run recorded
    before it was suspended is replayed; a new one is recorded."""
    visits: Counter = Counter()

    def run(step: Any, ctx: RunContext, prev: dict) -> StepOutcome:
        visits[step.name] += 1
        uri = journal_uri(ctx, step.name, visits[step.name])
        outcome = _replayed(ctx, uri, run_id)
        if outcome is not None:
            run_logger().info("%s: done before this run was suspended", step.name)
            return outcome
        outcome = handler(step, ctx, prev)
        ctx.repo.write_text(uri, json.dumps({
            "flow_run_id": run_id, "records": [asdict(r) for r in outcome.records],
            "prev_outputs": outcome.prev_outputs, "goto": outcome.goto, "stop": outcome.stop}))
        return outcome

    return run
