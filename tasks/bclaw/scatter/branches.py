"""Scatter branches: each one a repository of its own, run in batches by one Prefect task.

A branch ``i`` of step ``S`` lives in ``<repo>/S/<i:05d>/``: its ``_JOB_DATA_`` is the step's template
with ``scatter`` filled in, and its ``steps`` run there with the plain step functions
(:func:`tasks.bclaw.step_kinds.branch_handlers`) through :func:`tasks.bclaw.walk.walk_steps`. Command steps keep their own
completion markers in the branch repository, so ``skip_on_rerun`` skips finished branches on a re-run.

:func:`scatter_batch` is the Prefect task that the scatter step maps over: it runs a batch of
branches (one branch when unbatched) in a small thread pool and reports every branch's result;
when any failed it raises :class:`BatchFailed`, which carries all of them, so the task run shows
as failed while the step still knows which branches succeeded.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.repository import join_uri
from tasks.bclaw.artifacts import step_reports_off
from tasks.bclaw.command_step import retry_written, run_command_step, worth_retrying
from tasks.bclaw.context import JOB_REF, RunContext
from tasks.bclaw.walk import Handlers, StepOutcome, walk_steps
from tasks.runtime.failures import ExpectedFailure
from tasks.runtime.logs import apply_log_settings, run_logger
from tasks.runtime.progress import ProgressEvent, report
from tasks.runtime.task_runners import Limiter, hold, map_in_threads
from tasks.runtime.worker_processes import ForkedWorkers

UNBATCHED_UP_TO = 32  # default: up to this many branches, one task run per branch
_UNREAD = object()  # ScatterPlan: the job is not known yet


@dataclass
class BranchResult:
    """How one branch ended."""

    index: int
    status: str  # done | skipped | failed
    duration_s: float = 0.0
    message: str = ""


class BatchFailed(ExpectedFailure, RuntimeError):
    """Some branches of a batch failed; ``results`` holds every branch of the batch."""

    def __init__(self, label: str, results: list[BranchResult]):
        self.label, self.results = label, results
        failed = [r for r in results if r.status == "failed"]
        super().__init__(f"{label}: {len(failed)} of {len(results)} branches failed: "
                         + "; ".join(f"{r.index:05d}: {r.message}" for r in failed[:5]))

    def __reduce__(self):
        return BatchFailed, (self.label, self.results)


# ---- labels and batches --------------------------------------------------------------------------
def branch_label(step_name: str, first: int, last: int | None = None) -> str:
    """``align[00042]`` for one branch, ``align[00000-00099]`` for a batch."""
    return f"{step_name}[{first:05d}]" if last is None or last == first else f"{step_name}[{first:05d}-{last:05d}]"


def batch_size(total: int, step_size: int | None, option_size: int | None) -> int:
    """Branches per task run: the step's ``batch_size``, else ``Options.scatter_batch_size``, else
    the default: one branch per task run up to :data:`UNBATCHED_UP_TO` branches, then about √N
    branches in each of about √N task runs (1,000 branches: 32 task runs; 10,000: 100).

    Every task run costs Prefect bookkeeping on the server (~10-100 ms here), a branch a few ms
    of its own, so large scatters are batched while small ones keep a task run per branch.
    """
    if step_size or option_size:
        return step_size or option_size
    return 1 if total <= UNBATCHED_UP_TO else math.ceil(math.sqrt(total))


def plan_batches(total: int, size: int) -> list[range]:
    """Consecutive index ranges of at most ``size`` branches."""
    return [range(start, min(start + size, total)) for start in range(0, total, max(1, size))]


def branch_uri(repo_uri: str, step_name: str, index: int) -> str:
    """``<repo>/<Step>/<index:05d>``."""
    return join_uri(repo_uri, step_name, f"{index:05d}")


# ---- plain handlers (no Prefect task per step) ---------------------------------------------------
def retry_delays(step) -> list[float]:
    """Seconds to wait before each retry of a command step (``retry`` settings)."""
    return [step.retry.interval * step.retry.backoff_rate ** i for i in range(step.retry.attempts)]


def run_command_with_retries(step, ctx: RunContext, prev: dict) -> StepOutcome:
    """A command step run directly, retried as its ``retry`` says when the failure is worth it
    (:func:`~tasks.bclaw.command_step.worth_retrying`: QC failures, a missing input, … never)."""
    written = retry_written(step)
    for attempt, delay in enumerate(retry_delays(step), start=1):
        try:
            result = run_command_step(step, ctx, prev)
            return StepOutcome([result.record], result.prev_outputs)
        except Exception as exc:
            if not worth_retrying(exc, written):
                raise
            run_logger().warning("%s: attempt %d failed (%s); retrying in %.1f s", step.name, attempt, exc, delay)
            time.sleep(delay)
    result = run_command_step(step, ctx, prev)  # the last attempt: its failure is the step's
    return StepOutcome([result.record], result.prev_outputs)


# ---- one branch, one batch -----------------------------------------------------------------------
class ScatterPlan:
    """What every branch of one scatter step shares (sent once to each batch task).

    A plain class on purpose: Prefect walks dataclasses, models and containers in task parameters
    (looking for futures), and Dask rebuilds tuples; this object passes through both untouched.
    """

    def __init__(self, step: Any, ctx: RunContext, template: dict, handlers: Handlers,
                 limiter: Limiter | None = None, threads: int = 2, job: Any = _UNREAD,
                 workers: ForkedWorkers | None = None):
        self.step = step  # specs.workflow.model.ScatterStep
        self.ctx = ctx
        self.template = template  # {job_ref, parent, scatter: {}}
        self.handlers = handlers
        self.limiter = limiter
        self.threads = threads
        self._job = job  # the run's job (what the _JOB_DATA_ named by template[job_ref] holds)
        self.workers = workers  # batches run in these forked processes (large scatters), else here

    def __getstate__(self) -> dict:
        return {**self.__dict__, "workers": None}  # a worker process runs its rows itself

    def job(self) -> Any:
        """The run's job: as given, else read from ``template[job_ref]`` once for this plan (one
        batch), not once per branch step. Two threads may both read it first: the same data."""
        if self._job is _UNREAD:
            self._job = json.loads(self.ctx.repo.read_text(self.template[JOB_REF])).get("job")
        return self._job

    def branch_job_data(self, row: dict[str, str]) -> dict:
        """A branch's job data, as :meth:`RunContext.read_job_data` would read it from its ``_JOB_DATA_``."""
        return {"parent": self.template["parent"], "scatter": row, "job": self.job()}


class BranchRows:
    """The ``(index, scatter row)`` pairs of one batch, as one opaque task parameter.

    A plain class for the same reason as :class:`ScatterPlan`: Prefect walks lists, tuples and
    dicts in task parameters (looking for futures) several times per task run, which for a
    100,000-branch scatter meant seconds of CPU rebuilding rows nobody changes.
    """

    def __init__(self, rows: list[tuple[int, dict[str, str]]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)


def run_branch(plan: ScatterPlan, index: int, row: dict[str, str]) -> BranchResult:
    """Write the branch's job data and run its steps in ``<repo>/<Step>/<index>``; never raises."""
    return _announced(plan, _run_branch_quietly(plan, index, row))


def _run_branch_quietly(plan: ScatterPlan, index: int, row: dict[str, str]) -> BranchResult:
    """:func:`run_branch` without logging or reporting how it ended."""
    started = time.monotonic()
    bctx = plan.ctx.derive(repo_uri=branch_uri(plan.ctx.repo_uri, plan.step.name, index), branch_idx=str(index))
    records: list = []
    with hold(plan.limiter):
        try:
            bctx.write_job_data(None, plan.template["parent"], row, job_ref=plan.template[JOB_REF])
            bctx = bctx.derive(known_job_data=(plan.branch_job_data(row), plan.template[JOB_REF]))
            walk_steps(plan.step.steps, bctx, plan.handlers, records, {})
        except Exception as exc:
            return BranchResult(index, "failed", time.monotonic() - started, str(exc))
    skipped = bool(records) and all(r.status == "skipped" for r in records)
    return BranchResult(index, "skipped" if skipped else "done", time.monotonic() - started)


def _announced(plan: ScatterPlan, result: BranchResult) -> BranchResult:
    """:func:`_logged`, and tell this process's progress listeners (the command line) that a branch ended."""
    report(ProgressEvent("branch", plan.step.name, state=result.status, index=result.index))
    return _logged(plan, result)


def _logged(plan: ScatterPlan, result: BranchResult) -> BranchResult:
    """Log the failure of a failed branch."""
    if result.status == "failed":
        run_logger().warning("%s failed: %s", branch_label(plan.step.name, result.index), result.message)
    return result


def run_rows_here(plan: ScatterPlan, rows: list[tuple[int, dict[str, str]]]) -> list[BranchResult]:
    """Run ``(index, row)`` branches in ``plan.threads`` threads of this process, quietly (in a
    worker process of :class:`~tasks.runtime.worker_processes.ForkedWorkers`: the batch's task
    logs and reports their ends in the flow's process)."""
    with step_reports_off():
        return map_in_threads(lambda b: _run_branch_quietly(plan, *b), rows, plan.threads)


@task(cache_policy=NO_CACHE, task_run_name="{label}")
def scatter_batch(label: str, branches: BranchRows, plan: ScatterPlan) -> list[BranchResult]:
    """Run a batch of branches (``(index, scatter row)`` pairs), a few at a time; raises
    :class:`BatchFailed` (with every result) when any branch failed.

    Branches publish no per-step report artifacts: the gather's branch table covers them (status,
    scatter values, outputs, error), and a scatter of thousands of branches makes no thousands of
    artifacts (each an API call: a 500-branch scatter took about 5x longer with them).
    """
    apply_log_settings()  # in a Dask worker process: the command line's verbosity, quiet failures
    if plan.workers is not None:
        # no event per branch: they would all arrive at once, with the batch's count (the step
        # reports it), and the command line's view sums its settled branches per event
        results = [_logged(plan, r) for r in plan.workers.call(run_rows_here, plan, branches.rows)]
    else:
        with step_reports_off():
            results = map_in_threads(lambda b: run_branch(plan, *b), branches.rows, plan.threads)
    if any(r.status == "failed" for r in results):
        raise BatchFailed(label, results)
    return results
