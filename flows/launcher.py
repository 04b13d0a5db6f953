"""``launcher``: start one ``run-workflow`` flow run per job file dropped into a launcher folder.

With :func:`watch_launcher` (``labflows launch --watch``) it replaces BayerCLAW's launcher bucket and
job router: a long-running watcher lists the folder every few seconds and runs this flow only when
there are new files. The listing and claiming logic is in :mod:`tasks.launcher.router`, the loop in
:mod:`tasks.launcher.watch`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed
from pydantic.json_schema import SkipJsonSchema

from blocks.resolve import load_repository
from tasks.launcher.rejections import announce_rejections
from tasks.launcher.router import (
    JobFile,
    LauncherSetup,
    LaunchOutcome,
    launch_job_file,
    normalize_prefix,
    find_new_job_files,
    run_launcher,
)
from tasks.launcher.watch import DEFAULT_INTERVAL_S, Watcher
from tasks.runtime.executors import ExecutorName
from tasks.runtime.logs import run_logger

DEFAULT_PREFIX = "./.labflows/launcher"


class LauncherErrors(RuntimeError):
    """Some job files could not be launched this time (they are tried again next run)."""


@task(name="launch", cache_policy=NO_CACHE)
def launch_task(setup: LauncherSetup, job: JobFile) -> LaunchOutcome:
    """One job file version: start its run, or move the file aside (see :func:`launch_job_file`)."""
    return launch_job_file(setup, job)


def _launch_as_task_run(setup: LauncherSetup, job: JobFile) -> LaunchOutcome:
    return launch_task.with_options(task_run_name=f"launch:{job.rel}")(setup, job)


def create_local_folders(prefix: str, workflows_dir: str) -> None:
    """Create a local launcher folder and the workflows folder on first use (a fresh clone has neither)."""
    folders = [Path(workflows_dir)] if prefix.startswith("s3://") else [Path(prefix), Path(workflows_dir)]
    for folder in folders:
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            run_logger().info("created %s", folder.absolute())


def _launcher_repository(launcher_block: str | None, repository_block: str | None, storage: str | None):
    """Where the launcher folder is read: its own block, else the runs' repository."""
    return load_repository(launcher_block or repository_block, storage)


def _run_name() -> str:
    return f"launcher:{flow_run.parameters.get('prefix', DEFAULT_PREFIX)}"[:120]


@flow(name="launcher", flow_run_name=_run_name, log_prints=True)
def launcher(
    prefix: str = DEFAULT_PREFIX,
    workflows_dir: str = "workflows",
    workflows: dict[str, str] | SkipJsonSchema[None] = None,
    deployment: str = "run-workflow/run-workflow",
    launcher_block: str | SkipJsonSchema[None] = None,
    repository_block: str | SkipJsonSchema[None] = None,
    storage: str | SkipJsonSchema[None] = None,
    executor: ExecutorName | SkipJsonSchema[None] = None,
    params: dict[str, str] | SkipJsonSchema[None] = None,
    limit: int = 100,
) -> Any:
    """Start a workflow run for each new job file in a launcher folder (BayerCLAW's job router).

    Job files go to ``<prefix>/<workflow>/<path>.json`` (JSON or YAML); each version of a file
    starts exactly one run, named as BayerCLAW names executions. Unusable files are moved to
    ``<prefix>/_launcher_/rejected/`` with an ``.error.txt`` note.

    Args:
        prefix: the launcher folder: ``s3://bucket/launch`` or a local folder.
        workflows_dir: folder of workflow files: ``<dir>/<name>.yaml`` or ``<dir>/<name>/workflow.yaml``.
        workflows: workflow name to workflow file, checked before ``workflows_dir``.
        deployment: the deployment that runs workflows (``FLOW/DEPLOYMENT``).
        launcher_block: a saved repository block for the launcher folder (default: as for runs).
        repository_block: a saved repository block passed to each run (``S3Repository``).
        storage: a local folder standing in for S3, passed to each run when no block is given.
        executor: a name of :data:`tasks.runtime.executors.EXECUTORS`, passed to each run; default: each
            workflow's ``Options``.
        params: values for the workflows' ``Parameters``, passed to each run.
        limit: at most this many new job files per launcher run (the rest wait for the next one).

    Returns:
        Counts per outcome (launched, rejected, error, ...) and one entry per job file handled.
        With rejected files the run ends ``Completed`` with a message saying so, a
        ``launcher-rejected`` artifact and one ``labflows.job.rejected`` event per file.
    """
    create_local_folders(normalize_prefix(prefix), workflows_dir)
    setup = LauncherSetup(
        launcher_repo=_launcher_repository(launcher_block, repository_block, storage),
        prefix=normalize_prefix(prefix),
        run_repo=load_repository(repository_block, storage),
        deployment=deployment,
        workflows=dict(workflows or {}),
        workflows_dir=workflows_dir,
        params=params,
        run_parameters={"repository_block": repository_block, "storage": storage, "executor": executor},
        limit=limit,
        launcher_run_id=str(flow_run.id or ""),
    )
    outcomes = run_launcher(setup, launch=_launch_as_task_run)
    counts = Counter(o.status for o in outcomes)
    if outcomes:
        create_table_artifact(
            table=[asdict(o) for o in outcomes], key="launcher",
            description=f"job files handled in {setup.prefix}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    summary = {**counts, "outcomes": [asdict(o) for o in outcomes]}
    rejected = announce_rejections(setup.prefix, outcomes)
    if counts.get("error"):
        raise LauncherErrors(f"{counts['error']} job file(s) could not be launched; they are tried again "
                             "next run: " + "; ".join(o.message for o in outcomes if o.status == "error"))
    # a returned state keeps the summary as the result and puts the rejections on the run's face
    return Completed(message=rejected, data=summary) if rejected else summary


def watch_launcher(prefix: str = DEFAULT_PREFIX, *, interval_s: float = DEFAULT_INTERVAL_S,
                   on_pass: Any = None, **launcher_args: Any) -> Watcher:
    """A :class:`~tasks.launcher.watch.Watcher` of ``prefix`` that runs :func:`launcher` for new files.

    Args:
        prefix: the launcher folder, as for :func:`launcher`.
        interval_s: seconds between passes.
        on_pass: called with the new files and the launcher's final state after each launch.
        **launcher_args: the other parameters of :func:`launcher` (``workflows_dir``, ``storage``, ...).

    Returns:
        The watcher; call its ``run(passes)`` to start watching.
    """
    norm = normalize_prefix(prefix)
    create_local_folders(norm, launcher_args.get("workflows_dir", "workflows"))
    repo = _launcher_repository(launcher_args.get("launcher_block"), launcher_args.get("repository_block"),
                                launcher_args.get("storage"))
    limit = launcher_args.get("limit", 100)

    def launch(_new: list[JobFile]) -> Any:
        # the flow lists again and claims each version exactly once (racing watchers agree)
        return launcher(prefix=prefix, **launcher_args, return_state=True)

    return Watcher(lambda: find_new_job_files(repo, norm, limit), launch, interval_s=interval_s, on_pass=on_pass)
