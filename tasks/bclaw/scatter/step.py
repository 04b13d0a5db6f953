"""Scatter-gather steps on Prefect ``.map()``.

The step, in order (BayerCLAW's scatter, map and gather states):

1. write ``<repo>/<Step>/_JOB_DATA_`` (the branches' template: ``parent`` = the parent's values,
   the step's inputs as full URIs and its output file names; ``job_ref`` = the ``_JOB_DATA_`` that
   holds the job, which is stored once per run, not copied into every branch) and ``items.csv`` (one row per branch,
   the Cartesian product of the expanded ``scatter`` values, :mod:`tasks.bclaw.scatter.expand`);
2. map :func:`tasks.bclaw.scatter.branches.scatter_batch` over batches of branches (the plan carries the
   run's job, so branches read no job data; one branch per task
   run up to 32 branches, then about √N task runs of about √N branches; ``batch_size`` /
   ``Options.scatter_batch_size`` override), at most ``max_concurrency`` branches at once;
3. wait for every batch, updating a progress artifact as they finish, and count failed branches:
   more than ``error_tolerance`` fails the step, naming the failed branch indexes;
4. gather (:mod:`tasks.bclaw.scatter.gather`): the manifest and a table artifact of the branches.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from typing import Any

from prefect import unmapped
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import as_completed

from blocks.repository import join_uri
from tasks.bclaw.context import JOB_DATA, JOB_REF, RunContext, StepRecord
from tasks.bclaw.labels import artifact_key, step_tag
from tasks.bclaw.scatter.branches import (
    BatchFailed,
    BranchResult,
    BranchRows,
    ScatterPlan,
    batch_size,
    branch_label,
    plan_batches,
    scatter_batch,
)
from tasks.bclaw.scatter.expand import expand_scatter, items_csv, qualify, scatter_items
from tasks.bclaw.scatter.gather import branch_table, gather, write_manifest
from tasks.bclaw.step_runner import run_batches_on_pools
from tasks.bclaw.substitution import job_data_resolver, substitute_all
from tasks.bclaw.walk import Handlers, StepOutcome
from tasks.runtime.failures import ExpectedFailure
from tasks.runtime.logs import run_logger
from tasks.runtime.progress import ProgressEvent, report
from tasks.runtime.task_runners import (
    batch_threads,
    current_task_runner,
    is_dask_runner,
    make_limiter,
    task_resources,
)
from tasks.runtime.worker_processes import ForkedWorkers, scatter_processes

PROGRESS_EVERY_S = 2.0  # the progress artifact is updated at most this often (and at the end)
MAX_NAMED_FAILURES = 50  # failed branch indexes named in the error message


class ScatterFailed(ExpectedFailure, RuntimeError):
    """More branches failed than ``error_tolerance`` allows."""


def branch_template(step, ctx: RunContext, job_data: dict, job_source: str, prev: dict,
                    outputs: dict[str, str]) -> dict:
    """The branches' job data without ``scatter``: ``job_ref`` = ``job_source`` (the ``_JOB_DATA_``
    holding the job), ``parent`` = old parent ∪ inputs (full URIs) ∪ outputs."""
    inputs = substitute_all(dict(prev) if step.inputs is None else dict(step.inputs), job_data_resolver(job_data))
    parent = {**job_data.get("parent", {}),
              **{sym.rstrip("?"): qualify(v, ctx.repo_uri) for sym, v in inputs.items()},
              **outputs}
    return {JOB_REF: job_source, "parent": parent, "scatter": {}}


class Progress:
    """A progress artifact for one scatter step (key ``<workflow>-<step>-progress``): branches finished."""

    def __init__(self, workflow: str, step_name: str, total: int):
        self.total, self.done, self._last = total, 0, 0.0
        self._step = step_name
        self._id = create_progress_artifact(progress=0.0 if total else 100.0,
                                            key=artifact_key(workflow, step_name, "progress"),
                                            description=self._text())

    def _text(self) -> str:
        return f"{self._step}: {self.done}/{self.total} branches finished"

    def advance(self, count: int, *, final: bool = False) -> None:
        """Count ``count`` more finished branches; update the artifact now and then."""
        self.done += count
        now = time.monotonic()
        if final or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            pct = 100.0 * self.done / self.total if self.total else 100.0
            update_progress_artifact(self._id, progress=pct, description=self._text())


def _collect(future, batch: range) -> list[BranchResult]:
    """Every branch result of a finished batch; a crashed batch counts all its branches as failed."""
    outcome = future.result(raise_on_failure=False)
    if isinstance(outcome, BatchFailed):
        return outcome.results
    if isinstance(outcome, BaseException):
        return [BranchResult(i, "failed", 0.0, f"{type(outcome).__name__}: {outcome}") for i in batch]
    return outcome


def run_branches(step, ctx: RunContext, items: list[dict[str, str]], template: dict,
                 handlers: Handlers, job: Any) -> dict[int, BranchResult]:
    """Map the batch task over the branches and wait for all; results by branch index. ``job``
    (the run's job, already read) travels with the plan: branches read no job data. Large
    scatters run their batches' branches in forked worker processes
    (:func:`~tasks.runtime.worker_processes.scatter_processes`): both cores for their Python part;
    not with ``max_concurrency`` (its limit is a lock of this process), Dask or work pools."""
    size = batch_size(len(items), step.batch_size, ctx.options.scatter_batch_size)
    batches = plan_batches(len(items), size)
    on_pools = bool(batches) and ctx.step_runner is not None and ctx.step_runner.pools_for_scatter(step)
    limiter = make_limiter(step.max_concurrency)
    processes = 0 if on_pools or limiter is not None or is_dask_runner(current_task_runner()) \
        else scatter_processes(len(items))
    with ForkedWorkers(processes) if processes else nullcontext() as workers:
        plan = ScatterPlan(step, ctx, template, handlers, limiter, threads=min(size, batch_threads()), job=job,
                           workers=workers)
        return _run_planned(step, ctx, items, plan, batches, on_pools)


def _run_planned(step, ctx: RunContext, items: list[dict[str, str]], plan: ScatterPlan, batches: list[range],
                 on_pools: bool) -> dict[int, BranchResult]:
    """:func:`run_branches` once planned: on work pools, else as batch task runs here."""
    labels = [branch_label(step.name, b[0], b[-1]) for b in batches]
    payloads = [[(i, items[i]) for i in b] for b in batches]  # (run_batches_on_pools sends them as JSON)
    run_logger().info("%s: %d branches in %d task runs", step.name, len(items), len(batches))
    progress = Progress(ctx.workflow_name, step.name, len(items))
    results: dict[int, BranchResult] = {}

    failed = [0]  # failed branches so far (counted as batches finish, not re-counted each time)
    _report_counts(step.name, 0, 0, len(items))

    def finished(batch_results: list[BranchResult]) -> None:
        results.update((r.index, r) for r in batch_results)
        failed[0] += sum(1 for r in batch_results if r.status == "failed")
        progress.advance(len(batch_results))
        _report_counts(step.name, len(results), failed[0], len(items))

    if on_pools:
        run_batches_on_pools(step, ctx, batches, payloads, finished)  # run-step flow runs on work pools
    elif batches:
        with task_resources(f"step {step.name}", branch_resources(step)):  # Dask: only on workers that have them
            futures = scatter_batch.with_options(name=step.name, tags={step_tag(step.name)}).map(
                labels, [BranchRows(p) for p in payloads], unmapped(plan))
        batch_of = {f.task_run_id: b for f, b in zip(futures, batches)}
        for future in as_completed(list(futures)):
            finished(_collect(future, batch_of[future.task_run_id]))
    progress.advance(0, final=True)
    return results


def _report_counts(step_name: str, settled: int, failed: int, total: int) -> None:
    """Branches settled (``failed`` of them failed) so far, for the command line's progress
    (batches finish in any order)."""
    report(ProgressEvent("branches", step_name, done=settled - failed, failed=failed, total=total))


def branch_resources(step) -> dict[str, float]:
    """What one branch needs at most, as Dask resources: ``CPU`` (cpus), ``MEMORY`` (bytes) and
    ``GPU`` of the command steps inside (``gpu: all`` counts as 1)."""
    wanted: dict[str, float] = {}
    for inner in step.steps:
        if inner.kind != "command":
            continue
        c = inner.compute
        need = {"CPU": c.cpus, "MEMORY": c.memory * 2**20, "GPU": 1 if c.gpu == "all" else c.gpu}
        wanted.update({k: max(v, wanted.get(k, 0)) for k, v in need.items()})
    return wanted


def _failure_message(step, failed: list[BranchResult], total: int, tolerated: int) -> str:
    named = ", ".join(f"{r.index:05d}" for r in failed[:MAX_NAMED_FAILURES])
    more = f" and {len(failed) - MAX_NAMED_FAILURES} more" if len(failed) > MAX_NAMED_FAILURES else ""
    return (f"step {step.name}: {len(failed)} of {total} branches failed (error_tolerance allows {tolerated}): "
            f"branches {named}{more}; first error: {failed[0].message}")


def run_scatter_step(step, ctx: RunContext, prev: dict, *, handlers: Handlers) -> StepOutcome:
    """Run a scatter-gather step (see the module docstring); ``handlers`` run the branches' steps."""
    started = time.monotonic()
    job_data, job_source = ctx.read_job_data_and_source()
    scatter_uri = ctx.uri(step.name)
    outputs = substitute_all(dict(step.outputs), job_data_resolver(job_data))
    template = branch_template(step, ctx, job_data, job_source, prev, outputs)
    ctx.repo.write_text(join_uri(scatter_uri, JOB_DATA), json.dumps(template, indent=2))
    expanded = expand_scatter(step.scatter, ctx.repo, ctx.repo_uri, job_data)
    items = scatter_items(expanded)
    ctx.repo.write_text(join_uri(scatter_uri, "items.csv"), items_csv(list(expanded), items))

    results = run_branches(step, ctx, items, template, handlers, job_data.get("job"))
    failed = sorted((r for r in results.values() if r.status == "failed"), key=lambda r: r.index)
    gathered = gather(step.name, outputs, ctx)
    create_table_artifact(branch_table(items, results, gathered),
                          key=artifact_key(ctx.workflow_name, step.name, "branches"),
                          description=f"{step.name}: {len(items)} branches, {len(failed)} failed")
    tolerated = step.tolerated_failures(len(items))
    if len(failed) > tolerated:
        error = ScatterFailed(_failure_message(step, failed, len(items), tolerated))
        if gathered.branch_outputs:  # the summary points at the step's folder, where they are
            error.outputs = [scatter_uri + "/"]
            error.outputs_note = (f"{len(gathered.branch_outputs)} of {len(items)} branches uploaded outputs, "
                                  f"{len(failed)} failed")
        raise error
    if failed:
        run_logger().warning("%s: %d branches failed, tolerated (error_tolerance %s)",
                             step.name, len(failed), step.error_tolerance)
    manifest_uri = write_manifest(gathered, ctx)
    skipped = bool(results) and all(r.status == "skipped" for r in results.values())
    record = StepRecord(step.name, "skipped" if skipped else "done", time.monotonic() - started,
                        [manifest_uri] if manifest_uri else [],
                        f"{len(items)} branches, {len(failed)} failed")
    prev_outputs: dict[str, Any] = {"manifest": gathered.manifest_name} if gathered.manifest_name else {}
    return StepOutcome([record], prev_outputs)
