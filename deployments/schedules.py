"""Schedule examples: deployments of ``run-workflow`` that run on a calendar.

``prefect.yaml`` has the same nightly example as YAML (``qc-nightly``); this is the Python form,
for ``serve`` or for a deploy script::

    from deployments.schedules import nightly_workflow
    nightly_workflow("examples/qc/workflow.yaml", "examples/qc/job.json",
                     storage="examples/qc/storage").apply()   # or serve(...) it
"""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule

from flows.workflow import run_workflow
from specs.workflow.model import workflow_name

NIGHTLY_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Europe/Zurich"
LAUNCHER_SWEEP_S = 3600


def nightly(cron: str = NIGHTLY_CRON, timezone: str = DEFAULT_TIMEZONE, active: bool = True) -> Schedule:
    """A cron schedule, by default every night at 02:00 in ``timezone``."""
    return Cron(cron, timezone=timezone, active=active)


def launcher_sweep(seconds: int = LAUNCHER_SWEEP_S, active: bool = False) -> Schedule:
    """The launcher's fallback schedule: hourly, paused. New files are launched by the watcher
    (``labflows launch --watch``); resume this only where no watcher can run."""
    return Interval(seconds, active=active)


def nightly_workflow(workflow: str, job_file: str, *, name: str | None = None, storage: str | None = None,
                     repository_block: str | None = None, schedule: Schedule | None = None,
                     work_pool_name: str | None = None) -> RunnerDeployment:
    """A ``run-workflow`` deployment that runs ``workflow`` for the fixed ``job_file`` every night.

    Named ``<workflow>-nightly`` (``qc-nightly`` for ``examples/qc/workflow.yaml``) unless ``name``
    is given; ``work_pool_name`` is needed for ``.apply()`` / ``.deploy()`` but not for ``serve``.
    """
    parameters = {"workflow": workflow, "job_file": job_file}
    if storage:
        parameters["storage"] = storage
    if repository_block:
        parameters["repository_block"] = repository_block
    return run_workflow.to_deployment(
        name=name or f"{workflow_name(workflow)}-nightly",
        schedule=schedule or nightly(),
        parameters=parameters,
        tags=["labflows", "nightly"],
        description=f"{workflow} for the job {job_file}, on a schedule.",
        work_pool_name=work_pool_name,
    )
