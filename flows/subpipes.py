"""Running a subpipe's child workflow: a ``run-workflow`` subflow, or a deployment started and awaited."""

from __future__ import annotations

from tasks.bclaw.subpipe import ChildRun

DEPLOYMENT_POLL_S = 2.0


class ChildFailed(RuntimeError):
    """The child flow run did not complete."""


def run_child(run: ChildRun, *, deployment: bool) -> None:
    """Run ``run`` to the end (see :func:`tasks.bclaw.subpipe.run_subpipe_step`); raises when it fails.

    A workflow file runs as a subflow of the current flow. ``FLOW/DEPLOYMENT`` starts that
    deployment of ``run-workflow`` with the child's job data, repository and ``repository_uri``
    (its ``workflow`` is the deployment's own) and waits for it.
    """
    params = {"job": run.job, "repository_uri": run.repository_uri, **run.repository_params}
    if deployment:
        from prefect.deployments import run_deployment

        flow_run = run_deployment(name=run.workflow, parameters=params, timeout=None,
                                  poll_interval=DEPLOYMENT_POLL_S)
        state = flow_run.state
        if state is None or not state.is_completed():
            raise ChildFailed(f"deployment {run.workflow}: flow run {flow_run.name} ended "
                              f"{state.name if state else 'without a state'}: {state.message if state else ''}")
        return
    from flows.workflow import run_workflow

    state = run_workflow(workflow=run.workflow, executor=run.executor, return_state=True, **params)
    if not state.is_completed():
        raise ChildFailed(str(state.result(raise_on_failure=False)))
