"""``run_step`` (``run-step``): one command step, or one batch of scatter branches, of a workflow run,
on whatever work pool the flow run was sent to (see :mod:`tasks.bclaw.step_runner`)."""

from __future__ import annotations

from typing import Any

from prefect import flow, tags
from prefect.runtime import flow_run

from blocks.resolve import load_repository
from flows.subpipes import run_child
from specs.workflow.model import load_workflow, workflow_name
from tasks.bclaw.context import RunContext
from tasks.bclaw.images import with_registry
from tasks.bclaw.labels import step_run_name, workflow_tag
from tasks.bclaw.step_kinds import branch_handlers
from tasks.bclaw.step_runner import run_batch_here, run_step_here
from tasks.runtime.child_runs import show_state_on_link
from tasks.runtime.executors import ExecutorName
from tasks.runtime.suspension import cancelled_with_parent, resume_parent


class UnknownStep(ValueError):
    """The workflow has no top-level step of that name, or not of the kind asked for."""


def find_step(steps: list[Any], name: str) -> Any | None:
    """The step called ``name`` at any depth (top level, parallel branches, scatter steps); step
    names are unique in a workflow."""
    for candidate in steps:
        if candidate.name == name:
            return candidate
        inner = [s for b in getattr(candidate, "branches", []) for s in b.steps] + list(getattr(candidate, "steps", []))
        found = find_step(inner, name) if inner else None
        if found is not None:
            return found
    return None


def _run_name() -> str:
    """``<workflow>:<step>``, for a batch ``<workflow>:<step>[<first>-<last>]``."""
    params = flow_run.parameters
    branches = params.get("branches")
    batch = (int(branches[0][0]), int(branches[-1][0])) if branches else (None, None)
    return step_run_name(workflow_name(params.get("workflow", "workflow")), params.get("step", "?"), *batch)


# the run's state shows on its link in the parent; when it ends, it resumes its parent if that
# suspended while waiting (tasks.runtime.suspension)
_ENDED = [show_state_on_link, resume_parent]


@flow(name="run-step", flow_run_name=_run_name, log_prints=True, on_running=[show_state_on_link],
      on_completion=_ENDED, on_failure=_ENDED, on_crashed=_ENDED, on_cancellation=_ENDED)
def run_step(
    workflow: str,
    step: str,
    repository_uri: str,
    params: dict[str, str] | None = None,
    repository_block: str | None = None,
    storage: str | None = None,
    executor: ExecutorName | None = None,
    execution_id: str = "",
    prev_outputs: dict[str, str] | None = None,
    branches: list[list[Any]] | None = None,
    image_registry: str | None = None,
) -> Any:
    """Run one step of a workflow run that a parent flow sent to this work pool.

    Args:
        workflow: path of the parent's workflow file (the same path on every worker).
        step: name of a command step (at any depth outside scatters), or of a scatter step with ``branches``.
        repository_uri: the parent run's repository (its ``_JOB_DATA_`` is read there).
        params: the workflow's ``Parameters`` values, as the parent used them.
        repository_block: a saved repository block, as the parent's.
        storage: a local storage folder, as the parent's (when no block is given).
        executor: where commands run, as in the parent.
        execution_id: the parent's execution id (``BC_EXECUTION_ID``).
        prev_outputs: the auto-inputs the previous step left (a command step).
        branches: ``[index, scatter values]`` of the branches to run (a scatter batch).
        image_registry: the registry bare image names go to, as the parent's (``--image-registry``).

    Returns:
        A command step's record and auto-inputs, or a batch's branch results (also written to
        the repository for the parent).
    """
    wf = with_registry(load_workflow(workflow, params), image_registry)
    spec = find_step(wf.steps, step)
    kind = "scatter" if branches is not None else "command"
    if spec is None or spec.kind != kind:
        raise UnknownStep(f"{workflow}: no {kind} step named {step!r}")
    ctx = RunContext(repo=load_repository(repository_block, storage), repo_uri=repository_uri.rstrip("/"),
                     workflow_name=wf.name, options=wf.options,
                     executor=executor or wf.options.executor or "local", execution_id=execution_id,
                     workflow_dir=wf.source.parent)
    with tags(workflow_tag(wf.name)), cancelled_with_parent():
        if branches is not None:
            return run_batch_here(spec, ctx, branches, branch_handlers(run_child))
        return run_step_here(spec, ctx, dict(prev_outputs or {}))
