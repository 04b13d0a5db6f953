"""Running a subpipe's child workflow: a ``run-workflow`` subflow, or a deployment started and awaited."""

from __future__ import annotations

from typing import Any

from tasks.bclaw.subpipe import ChildRun

DEPLOYMENT_POLL_S = 1.0

# Deployment defaults a subpipe child must not inherit: its job data, name and repository come from
# the parent (a deployment's default job_file would otherwise be copied into the child's folder).
# "" is run_workflow's "not given" (a null would fail the deployment's parameter schema).
CHILD_OVERRIDES = {"job_file": "", "repository_block": "", "storage": ""}


class ChildFailed(RuntimeError):
    """The child flow run did not complete, or could not be started."""


def child_run_name(run: ChildRun) -> str:
    """The child's flow run name, ``<parent run name>/<Step>`` (``qc:job/sub``; nested subpipes
    add a level each); the step name alone outside a flow run."""
    from prefect.runtime import flow_run

    parent = flow_run.get_name()
    return f"{parent}/{run.step_name}" if parent else run.step_name


def child_parameters(run: ChildRun, name: str = "") -> dict[str, Any]:
    """The parameters a child run gets: its own job data, repository and ``run_name`` (``name``, so
    the name given at creation is the one the child's flow keeps), none of the deployment's."""
    return {**CHILD_OVERRIDES, "run_name": name, "job": run.job, "repository_uri": run.repository_uri,
            **run.repository_params}


def check_deployment_target(name: str, parameters: dict[str, Any]) -> Any:
    """The deployment ``name``; raises :class:`ChildFailed` (one line) when there is none or it lacks
    a required parameter.

    The server would answer a missing parameter with a raw ``409 Conflict``; this names the
    deployment, the parameter and the fix instead.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            raise ChildFailed(f"deployment {name} does not exist on the Prefect server "
                              "(subpipe: deployment:FLOW/DEPLOYMENT names a deployed run-workflow)") from None
    given = {k for k, v in {**(deployment.parameters or {}), **parameters}.items() if v is not None}
    required = (deployment.parameter_openapi_schema or {}).get("required", [])
    missing = [p for p in required if p not in given]
    if missing:
        raise ChildFailed(f"deployment {name} has no value for the required parameter(s) "
                          f"{', '.join(repr(p) for p in missing)}: a subpipe passes only job data and the "
                          "repository, so give the deployment a default (parameters: in prefect.yaml)")
    return deployment


def run_child(run: ChildRun, *, deployment: bool) -> None:
    """Run ``run`` to the end (see :func:`tasks.bclaw.subpipe.run_subpipe_step`); raises when it fails.

    A workflow file runs as a subflow of the current flow. ``FLOW/DEPLOYMENT`` starts that
    deployment of ``run-workflow`` with the child's job data, repository and ``repository_uri``
    (its ``workflow`` is the deployment's own; its default job file, run name and repository are
    not used) and waits for it (see :func:`_run_deployment_child`).
    """
    if deployment:
        _run_deployment_child(run)
        return
    from flows.workflow import run_workflow

    params = {"job": run.job, "repository_uri": run.repository_uri, "run_name": child_run_name(run),
              **run.repository_params}
    state = run_workflow(workflow=run.workflow, executor=run.executor, image_registry=run.image_registry,
                         return_state=True, **params)
    if not state.is_completed():
        raise ChildFailed(str(state.result(raise_on_failure=False)))


def _run_deployment_child(run: ChildRun) -> None:
    """Start the deployment's flow run and wait for it, not forever.

    A parent that polls keeps its worker slot while it waits, and a parent suspends only once its
    child has started, so a child must not need that slot: children go to their own work pool (the
    child deployment's), with their own workers and limits (docs/scale.md). When no worker starts
    the child within ``run.start_timeout`` seconds (no worker, or every slot held by waiting
    parents) the child is cancelled and the step fails with one line; cancelling the parent cancels
    the child (:mod:`tasks.runtime.child_runs`).
    """
    from tasks.runtime.child_runs import ChildNotStarted, ChildSpec, start_child, wait_for_children

    name = child_run_name(run)  # given at creation: the UI and the parent's log show it from the start
    parameters = child_parameters(run, name)
    target = check_deployment_target(run.workflow, parameters)
    child = start_child(ChildSpec(run.workflow, parameters, flow_run_name=name, tags=(f"subpipe:{run.step_name}",),
                                  key=f"subpipe:{run.step_name}"))
    try:
        final = wait_for_children([child], start_timeout=run.start_timeout, poll_s=DEPLOYMENT_POLL_S)[child.id]
    except ChildNotStarted as exc:
        raise ChildFailed(f"deployment {run.workflow}: no worker of work pool {target.work_pool_name!r} started "
                          f"flow run {child.name} within {exc.waited_s:.0f} s (a parent waiting for a child "
                          "must not hold the slot the child needs: give child deployments their own work "
                          "pool, see docs/scale.md)") from None
    state = final.state
    if state is None or not state.is_completed():
        raise ChildFailed(f"deployment {run.workflow}: flow run {final.name} ended "
                          f"{state.name if state else 'without a state'}: {state.message if state else ''}")
