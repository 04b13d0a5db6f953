"""Running a subpipe's child workflow: a ``run-workflow`` subflow, or a deployment started and awaited."""

from __future__ import annotations

from typing import Any

from tasks.bclaw.subpipe import ChildRun

DEPLOYMENT_POLL_S = 2.0

# Deployment defaults a subpipe child must not inherit: its job data, name and repository come from
# the parent (a deployment's default job_file would otherwise be copied into the child's folder).
CHILD_OVERRIDES = {"job_file": None, "run_name": None, "repository_block": None, "storage": None}


class ChildFailed(RuntimeError):
    """The child flow run did not complete, or could not be started."""


def child_parameters(run: ChildRun) -> dict[str, Any]:
    """The parameters a child run gets: its own job data and repository, none of the deployment's."""
    return {**CHILD_OVERRIDES, "job": run.job, "repository_uri": run.repository_uri, **run.repository_params}


def check_deployment_target(name: str, parameters: dict[str, Any]) -> None:
    """Raise :class:`ChildFailed` (one line) when ``name`` is no deployment or lacks a required parameter.

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


def run_child(run: ChildRun, *, deployment: bool) -> None:
    """Run ``run`` to the end (see :func:`tasks.bclaw.subpipe.run_subpipe_step`); raises when it fails.

    A workflow file runs as a subflow of the current flow. ``FLOW/DEPLOYMENT`` starts that
    deployment of ``run-workflow`` with the child's job data, repository and ``repository_uri``
    (its ``workflow`` is the deployment's own; its default job file, run name and repository are
    not used) and waits for it.
    """
    if deployment:
        from prefect.deployments import run_deployment

        params = child_parameters(run)
        check_deployment_target(run.workflow, params)
        flow_run = run_deployment(name=run.workflow, parameters=params, timeout=None,
                                  poll_interval=DEPLOYMENT_POLL_S)
        state = flow_run.state
        if state is None or not state.is_completed():
            raise ChildFailed(f"deployment {run.workflow}: flow run {flow_run.name} ended "
                              f"{state.name if state else 'without a state'}: {state.message if state else ''}")
        return
    from flows.workflow import run_workflow

    params = {"job": run.job, "repository_uri": run.repository_uri, **run.repository_params}
    state = run_workflow(workflow=run.workflow, executor=run.executor, return_state=True, **params)
    if not state.is_completed():
        raise ChildFailed(str(state.result(raise_on_failure=False)))
