"""Choosers: a simple chooser picks the next step, a parallel chooser runs every branch whose condition holds.

Conditions are evaluated by :mod:`specs.workflow.expressions` (never ``eval``) with these names:
``job`` (the job data), one name per input (the parsed JSON file), and, when there is a single
input holding a JSON object, that object's keys bare; plus ``math`` and ``re``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from blocks.repository import ObjectNotFound
from specs.workflow.expressions import ExpressionError, compile_expression
from tasks.bclaw.context import RunContext, StepRecord
from tasks.bclaw.scatter.expand import qualify
from tasks.bclaw.substitution import job_data_resolver, substitute_all
from tasks.bclaw.walk import StepOutcome, walk_steps
from tasks.runtime.logs import run_logger
from tasks.runtime.task_runners import batch_threads, map_in_threads


class ConditionFailed(RuntimeError):
    """A condition could not be evaluated (unknown name, bad type, …); the message names the step."""


class BranchesFailed(RuntimeError):
    """Branches of a parallel chooser failed; the message names them."""


def condition_names(inputs: dict[str, str], ctx: RunContext) -> dict[str, Any]:
    """The names conditions see: ``job``, each input's JSON, a single object input's keys bare."""
    job_data = ctx.read_job_data()
    names: dict[str, Any] = {"job": job_data.get("job")}
    files = substitute_all(dict(inputs), job_data_resolver(job_data))
    loaded: dict[str, Any] = {}
    for sym, value in files.items():
        uri = qualify(value, ctx.repo_uri)
        try:
            loaded[sym.rstrip("?")] = json.loads(ctx.repo.read_text(uri))
        except ObjectNotFound:
            if not sym.endswith("?"):
                raise
            run_logger().warning("optional file not found: %s; skipping", value)
        except ValueError as exc:
            raise ConditionFailed(f"input {sym}: {uri} is not JSON: {exc}") from None
    if len(files) == 1 and len(loaded) == 1:
        (sym, value), = loaded.items()
        if isinstance(value, dict):
            names.update({k: v for k, v in value.items() if k != sym})
    names.update(loaded)
    return names


def holds(step_name: str, condition: str, names: dict[str, Any]) -> bool:
    """Whether ``condition`` is true; evaluation errors become :class:`ConditionFailed`."""
    try:
        result = compile_expression(condition).evaluate(names, with_math_re=True)
    except ExpressionError as exc:
        raise ConditionFailed(f"step {step_name}: condition {condition!r}: {exc}") from None
    run_logger().info("%s: %r is %s", step_name, condition, bool(result))
    return bool(result)


def first_true(step_name: str, conditions: list[str], names: dict[str, Any]) -> str | None:
    """The first condition that holds, else None."""
    return next((c for c in conditions if holds(step_name, c, names)), None)


def run_chooser_step(step, ctx: RunContext, prev: dict) -> StepOutcome:
    """A simple chooser: go to the ``next`` of the first true choice, else on in order."""
    started = time.monotonic()
    names = condition_names(step.inputs, ctx)
    chosen = first_true(step.name, [c.condition for c in step.choices], names)
    goto = next((c.next for c in step.choices if c.condition == chosen), None) if chosen else None
    message = f"if {chosen} -> {goto}" if goto else "no condition held"
    record = StepRecord(step.name, "done", time.monotonic() - started, [], message)
    return StepOutcome([record], dict(prev), goto=goto)


def run_parallel_step(step, ctx: RunContext, prev: dict, *, handlers: dict[str, Callable]) -> StepOutcome:
    """A parallel chooser: every branch whose ``if`` holds (or that has none) runs, at the same time.

    Branches share the repository and start from the same auto-inputs; the step fails after all
    branches finished when any failed. The auto-inputs are handed on unchanged.
    """
    started = time.monotonic()
    names = condition_names(step.inputs, ctx) if any(b.condition for b in step.branches) else {}
    chosen = [i for i, b in enumerate(step.branches) if b.condition is None or holds(step.name, b.condition, names)]

    def run(index: int) -> tuple[list[StepRecord], str | None]:
        records: list[StepRecord] = []
        try:
            walk_steps(step.branches[index].steps, ctx, handlers, records, dict(prev))
        except Exception as exc:
            return records, f"branch {index}: {exc}"
        return records, None

    outcomes = map_in_threads(run, chosen, max_workers=max(len(chosen), batch_threads()))
    records = [r for branch_records, _ in outcomes for r in branch_records]
    errors = [err for _, err in outcomes if err]
    elapsed = time.monotonic() - started
    if errors:
        raise BranchesFailed(f"step {step.name}: " + "; ".join(errors))
    summary = StepRecord(step.name, "done", elapsed, [], f"branches run: {', '.join(map(str, chosen)) or 'none'}")
    return StepOutcome([summary, *records], dict(prev))
