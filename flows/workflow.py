"""``run_workflow``: a BayerCLAW workflow file run as a Prefect flow, each step a task."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from prefect import flow, tags
from prefect.runtime import flow_run
from pydantic.json_schema import SkipJsonSchema
from prefect.utilities.urls import url_for

from blocks.repository import Repository
from blocks.resolve import load_repository
from flows.run_names import given_name
from flows.subpipes import run_child
from specs.workflow.model import Workflow, load_workflow, workflow_name
from tasks.bclaw.command_step import command_step_task
from tasks.bclaw.containment import check_job_paths
from tasks.bclaw.context import RunContext, StepRecord
from tasks.bclaw.images import with_registry
from tasks.bclaw.initialize import (
    check_job_references,
    initialize_repository,
    load_job_file,
    render_repository,
)
from tasks.bclaw.labels import workflow_tag
from tasks.bclaw.resume_journal import journaled
from tasks.bclaw.run_lock import repository_lock
from tasks.bclaw.run_summary import publish_workflow_summary
from tasks.bclaw.step_kinds import flow_handlers
from tasks.bclaw.step_runner import WorkPoolRunner, run_step_on_pool
from tasks.bclaw.subpipe import repository_params
from tasks.bclaw.walk import Handler, Handlers, StepOutcome, walk_steps
from tasks.bclaw.workspaces import sweep_stale_workspaces
from tasks.runtime.child_runs import cancel_children, show_state_on_link
from tasks.runtime.executors import ExecutorName
from tasks.runtime.flow_run_tags import add_flow_run_tags
from tasks.runtime.logs import apply_log_settings, run_logger
from tasks.runtime.progress import ProgressEvent, report
from tasks.runtime.suspension import cancelled_with_parent, parent_waiting, resume_parent
from tasks.runtime.task_runners import make_task_runner


class WorkflowFailed(RuntimeError):
    """The workflow stopped at a failed step; carries the summary so far."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


def _run_command(step, ctx: RunContext, prev: dict) -> StepOutcome:
    if ctx.step_runner is not None and ctx.step_runner.pools_for(step):
        return run_step_on_pool(step, ctx, prev)  # a run-step flow run on the step's work pool
    result = command_step_task(step)(step, ctx, prev)
    return StepOutcome([result.record], result.prev_outputs)


def handlers() -> Handlers:
    """Step kind -> handler at flow level: command steps become Prefect tasks, subpipes subflows
    or deployments, every other kind as :mod:`tasks.bclaw.step_kinds` says."""
    return flow_handlers(_run_command, run_child)


def _reporting(handler: Handler) -> Handler:
    """``handler``, telling this process's progress listeners when its step starts and how it ends."""
    def run(step, ctx: RunContext, prev: dict) -> StepOutcome:
        started = time.monotonic()
        report(ProgressEvent("step", step.name, state="running"))
        try:
            outcome = handler(step, ctx, prev)
        except Exception:
            report(ProgressEvent("step", step.name, state="failed", duration_s=time.monotonic() - started))
            raise
        state = outcome.records[0].status if outcome.records else "done"
        report(ProgressEvent("step", step.name, state=state, duration_s=time.monotonic() - started))
        return outcome
    return run


def _flow_run_name() -> str:
    """``run_name`` when given (the launcher's BayerCLAW execution name), else the name the run was
    created with (``prefect deployment run --flow-run-name``), else ``<workflow>:<job>``."""
    params = flow_run.parameters
    if params.get("run_name"):
        return params["run_name"]
    given = given_name()
    if given:
        return given
    wf = workflow_name(params.get("workflow", "workflow"))
    job = params.get("job_file")
    return f"{wf}:{Path(job).stem}" if job else wf


def run_loaded_workflow(wf: Workflow, job: Any, *, job_file: str | None, repo: Repository,
                        executor: str | None = None, execution_id: str = "",
                        repository_uri: str | None = None, step_runner: WorkPoolRunner | None = None,
                        resumable: bool = False) -> dict:
    """Run an already validated workflow with the given job data; returns the summary.

    ``repository_uri`` overrides the workflow's ``Repository`` (a subpipe runs in its parent's
    ``<repo>/<Step>``); with ``step_runner``, command steps and scatter batches go to work pools.
    ``resumable``: this flow run may suspend while it waits for children, so the outcome of each
    top-level step is kept and replayed when the run resumes (``execution_id`` is its id).
    """
    repo_uri = repository_uri.rstrip("/") if repository_uri else render_repository(wf.repository, job)
    ctx = RunContext(repo=repo, repo_uri=repo_uri, workflow_name=wf.name, options=wf.options,
                     executor=executor or wf.options.executor or "local",
                     execution_id=execution_id, workflow_dir=wf.source.parent, step_runner=step_runner)
    check_job_references(wf.steps, job)  # before any step runs
    check_job_paths(wf.steps, job)  # before anything is written
    with repository_lock(repo, repo_uri, run_name=flow_run.get_name() or ""):  # before _JOB_DATA_ is written
        initialize_repository(repo, repo_uri, job, job_file)
        stale = sweep_stale_workspaces(ctx.scratch)
        if stale:
            run_logger().info("removed %d workspace(s) of runs that ended without cleaning up", len(stale))
        records: list[StepRecord] = []
        summary = {"workflow": wf.name, "repository": repo_uri, "steps": records}
        try:
            top = handlers()
            if resumable:
                top = {kind: journaled(h, execution_id) for kind, h in top.items()}
            if repository_uri is None:  # a workflow of its own, not a subpipe: show its progress
                top = {kind: _reporting(h) for kind, h in top.items()}
            walk_steps(wf.steps, ctx, top, records)
        except Exception as exc:
            summary["steps"] = _with_steps_not_run(wf, records)
            raise WorkflowFailed(str(exc), summary) from exc
        summary["steps"] = _with_steps_not_run(wf, records)
        return summary


def _with_steps_not_run(wf: Workflow, records: list[StepRecord]) -> list[dict]:
    """The records as dicts, then a ``not run`` record for every top-level step that has none
    (after a failure, or passed over by a chooser), in the workflow's order."""
    seen = {r.name for r in records}
    rows = [asdict(r) for r in records]
    return rows + [asdict(StepRecord(s.name, "not run")) for s in wf.steps if s.name not in seen]


def _cancel_children(flow, flow_run, state) -> None:
    """``on_cancellation``: the subpipe and step runs this run started are cancelled with it."""
    cancel_children(flow_run.id)


def _step_runner(wf: Workflow, repo: Repository, step_runner: str | None,
                 step_pools: list[str] | None) -> WorkPoolRunner | None:
    """The work-pool step runner when the parameter or ``Options.step_runner`` asks for it."""
    if (step_runner or wf.options.step_runner) != "work-pool":
        return None
    return WorkPoolRunner.from_options(wf.options, workflow_file=str(wf.source), params=wf.parameter_values,
                                       repository_params=repository_params(repo), step_pools=step_pools)


# a subpipe deployment's run shows its state on its link in the parent, and resumes its suspended
# parent when it ends (tasks.runtime.suspension)
_ENDED = [show_state_on_link, resume_parent]


@flow(name="run-workflow", flow_run_name=_flow_run_name, log_prints=True, task_runner=make_task_runner(),
      on_running=[show_state_on_link], on_cancellation=[_cancel_children, *_ENDED], on_completion=_ENDED,
      on_failure=_ENDED, on_crashed=_ENDED)
def run_workflow(
    workflow: str,
    job_file: str | SkipJsonSchema[None] = None,
    job: dict[str, Any] | SkipJsonSchema[None] = None,
    params: dict[str, str] | SkipJsonSchema[None] = None,
    repository_block: str | SkipJsonSchema[None] = None,
    storage: str | SkipJsonSchema[None] = None,
    executor: ExecutorName | SkipJsonSchema[None] = None,
    run_name: str | SkipJsonSchema[None] = None,
    # set by a parent's subpipe step, never by people: kept out of the deployment's run form
    repository_uri: SkipJsonSchema[str | None] = None,
    step_runner: Literal["in-process", "work-pool"] | SkipJsonSchema[None] = None,
    step_pools: list[str] | SkipJsonSchema[None] = None,
    image_registry: str | SkipJsonSchema[None] = None,
) -> dict:
    """Run a BayerCLAW workflow file.

    Args:
        workflow: path of the workflow YAML file.
        job_file: a JSON or YAML job file (copied into the repository).
        job: job data given directly (instead of ``job_file``).
        params: values for the workflow's ``Parameters`` (``${Name}`` at load time).
        repository_block: a saved repository block (``S3Repository``, ``LocalRepository``).
        storage: a local folder standing in for S3 when no block is given.
        executor: where commands run, a name of :data:`tasks.runtime.executors.EXECUTORS`
            (``local``, ``docker``, ``podman``); default: the workflow's ``Options``.
        run_name: the flow run's name; default: the name it was created with, else ``<workflow>:<job file name>``.
        repository_uri: run in this repository instead of the workflow's ``Repository`` (set by a
            subpipe step; not in the run form).
        step_runner: ``work-pool`` runs command steps and scatter batches as ``run-step`` flow runs
            on work pools (default: ``Options.step_runner``, else in this flow's process).
        step_pools: ``QUEUE=POOL[,POOL...]`` (pools of a ``compute.queue_name``) or ``POOL[,POOL...]``
            (pools of steps without one), over ``Options.step_pools`` / ``default_step_pool``.
        image_registry: registry host that bare image names are rewritten to (BayerCLAW's ECR
            rewrite), over ``Options.ecr_registry``.

    Returns:
        The summary: workflow name, repository URI and one record per step.
    """
    apply_log_settings()
    wf = with_registry(load_workflow(workflow, params), image_registry)
    if repository_uri is None:
        ui = url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None  # the engine's "View at"
        report(ProgressEvent("run", flow_run.get_name() or wf.name, total=len(wf.steps), detail=ui or ""))
    if job is None:
        job = load_job_file(job_file) if job_file else {}
    repo = load_repository(repository_block, storage)
    tag = workflow_tag(workflow_name(workflow))
    add_flow_run_tags(flow_run.id, tag)
    started = time.monotonic()
    with tags(tag), cancelled_with_parent(), parent_waiting(wf.options.parent_wait) as resumable:
        try:
            summary = run_loaded_workflow(wf, job, job_file=job_file, repo=repo, executor=executor,
                                          execution_id=str(flow_run.id or ""), repository_uri=repository_uri,
                                          step_runner=_step_runner(wf, repo, step_runner, step_pools),
                                          resumable=resumable)
        except WorkflowFailed as exc:
            publish_workflow_summary(exc.summary, "Failed", time.monotonic() - started)
            raise
        publish_workflow_summary(summary, "Completed", time.monotonic() - started)
        return summary
