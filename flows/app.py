"""B-Fabric apps (bfabric-app-runner's app.yml) as Prefect flows.

* :func:`run_app` runs a whole workunit: status ``processing``; dispatch (when the work dir needs
  it); inputs, process, collect and register for every chunk, chunks in parallel (at most
  ``max_parallel_chunks`` at a time); status ``available``. Any failure sets ``failed``, leaves a
  markdown artifact and fails the flow run.
* :func:`app_action` runs one phase, like ``bfabric-app-runner action``: ``dispatch`` (sets
  ``processing``), ``inputs``, ``process``, ``outputs`` (collect + register, then ``available``)
  or ``run-all`` (dispatch if needed, every step of every chunk, then ``available``). Status
  writes are skipped with ``read_only`` or ``chunk``; an action never sets ``failed``.

Chunks are mapped over a thread pool bounded to ``max_parallel_chunks`` (bfabric-app-runner runs
them one after the other, which is ``max_parallel_chunks=1``).

Both flows are ``async`` (from synchronous code: ``asyncio.run(run_app(...))``); their work runs in
a worker thread with plain synchronous tasks (:mod:`tasks.runtime.flow_thread`: one API client for
all of them). An async flow ends as soon as its work does, where a synchronous one waits up to a
second for its heartbeat thread. The flow run carries the ``workunit:<id>`` tag, its task runs do
not: Prefect checks every tag of every task run for a concurrency limit, one request each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Literal, Sequence

from prefect import flow, unmapped
from prefect.futures import wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic.json_schema import SkipJsonSchema

from flows.run_names import given_name
from specs.bfabric.workunit import WorkunitDefinition
from tasks.bfabric.app.artifacts import (
    publish_app_summary,
    publish_failure,
    publish_registered,
    registered_rows,
)
from tasks.bfabric.app.connection import BfabricConnection
from tasks.bfabric.app.phases import ACTIONS, PHASE_STATUS, PHASE_STEPS
from tasks.bfabric.app.run import (
    EXPECTED_ERRORS,
    AppRun,
    AppRunOptions,
    ChunksFailedError,
    build_app_run,
)
from tasks.bfabric.app.tasks import (
    chunk_task,
    dispatch_task,
    status_task,
    workunit_definition_task,
)
from tasks.bfabric.app.workunit import parse_workunit_ref, workunit_id_of
from tasks.bfabric.chunks import ChunksFile
from tasks.runtime.failures import is_expected
from tasks.runtime.flow_run_tags import WORKUNIT_TAG_PREFIX, add_flow_run_tags, workunit_tag
from tasks.runtime.flow_thread import run_in_flow_thread
from tasks.runtime.logs import run_logger
from tasks.runtime.progress import ProgressEvent, report

__all__ = ["app_action", "run_app", "run_chunks"]

# the deployment form offers exactly the actions of tasks.bfabric.app.phases
Action = Literal[ACTIONS]  # type: ignore[valid-type]


def _ref_label(ref: Any) -> str:
    parsed = parse_workunit_ref(ref) if ref is not None else "app"
    return f"workunit-{parsed}" if isinstance(parsed, int) else Path(str(parsed)).stem


def _run_app_name() -> str:
    return given_name() or _ref_label(flow_run.parameters.get("workunit_ref"))


def _app_action_name() -> str:
    params = flow_run.parameters
    return f"{params.get('action', 'action')}:{_ref_label(params.get('workunit_ref'))}"


def _workunit_tags(workunit_id: int | None) -> list[str]:
    return [workunit_tag(workunit_id)] if workunit_id is not None else []


def _definition(workunit_ref: int | str, work_dir: str, connection: BfabricConnection) -> WorkunitDefinition:
    """The workunit definition."""
    return workunit_definition_task(parse_workunit_ref(workunit_ref), Path(work_dir).absolute(), connection)


def run_chunks(run: AppRun, chunks: Sequence[Path], steps: Sequence[str], max_parallel_chunks: int,
               filter: str | None = None) -> list[dict[str, Any]]:
    """Run ``steps`` for every chunk, at most ``max_parallel_chunks`` chunks at a time.

    Every chunk runs to its end even when another one fails; then :class:`ChunksFailedError`
    lists the failed chunks. Returns the chunk results in chunk order.
    """
    if max_parallel_chunks < 1:
        raise ValueError(f"max_parallel_chunks must be at least 1, not {max_parallel_chunks}")
    for step in steps:  # the command line shows chunks per phase
        report(ProgressEvent("branches", step, total=len(chunks), detail="chunks"))
    with ThreadPoolTaskRunner(max_workers=max_parallel_chunks) as runner:
        futures = runner.map(chunk_task, {"run": unmapped(run), "chunk_dir": list(chunks),
                                          "steps": unmapped(tuple(steps)), "filter": unmapped(filter)})
        wait(futures)
    results: list[dict[str, Any]] = []
    failures: list[tuple[str, str]] = []
    for chunk, future in zip(chunks, futures):
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            failures.append((chunk.name, str(outcome)))
        else:
            results.append(outcome)
    if failures:
        raise ChunksFailedError(failures, len(chunks), results)
    return results


def _chunk_dirs(run: AppRun, chunk: str | None) -> list[Path]:
    """The chunk given with ``--chunk`` (relative to the work dir unless it exists as given), or all."""
    if chunk is None:
        return ChunksFile.read(run.work_dir)
    path = Path(chunk)
    if not path.is_absolute() and not path.is_dir():
        path = run.work_dir / path
    return [path.absolute()]


def _execute(run: AppRun, action: str, chunk: str | None, max_parallel_chunks: int,
             filter: str | None = None) -> dict[str, Any]:
    """Dispatch and/or run the chunk steps of ``action``; the run's summary."""
    chunk_results: list[dict[str, Any]] = []
    if action == "dispatch" or (action == "run-all" and ChunksFile.needs_dispatch(run.work_dir)):
        dispatch_task(run)
    if action != "dispatch":
        try:
            chunk_results = run_chunks(run, _chunk_dirs(run, chunk), PHASE_STEPS[action], max_parallel_chunks,
                                       filter)
        except ChunksFailedError as exc:  # the command line still prints what the other chunks did
            exc.summary = _summary(run, exc.results, [name for name, _ in exc.failures])
            raise
    return _summary(run, chunk_results)


def _summary(run: AppRun, chunk_results: list[dict[str, Any]], failed: Sequence[str] = ()) -> dict[str, Any]:
    """What the run did: workunit, version, work dir, chunks done (and failed), registered entities."""
    return {
        "chunk_results": chunk_results,  # for the summary artifact; not part of the returned summary
        "workunit_id": run.workunit_id,
        "app_version": run.version.version,
        "work_dir": str(run.work_dir),
        "chunks": [r["chunk"] for r in chunk_results],
        "failed_chunks": list(failed),
        "registered": registered_rows(chunk_results),
    }


def _options(ssh_user: str | None, force_storage: str | None, force_app_version: str | None,
             read_only: bool, max_parallel_chunks: int) -> AppRunOptions:
    """The run's options; a bad ``max_parallel_chunks`` fails the run before anything is written."""
    if max_parallel_chunks < 1:
        raise ValueError(f"max_parallel_chunks must be at least 1, not {max_parallel_chunks}")
    return AppRunOptions(ssh_user=ssh_user, force_storage=str(force_storage) if force_storage else None,
                         force_app_version=force_app_version, read_only=read_only)


def _mark_failed(connection: BfabricConnection, workunit_id: int | None, error: BaseException,
                 read_only: bool) -> None:
    """Set ``failed`` (best effort: a second error is only logged) and publish the failure report."""
    logger = run_logger()
    # an expected failure is the command line's one ERROR line (and Prefect's failed state): INFO here
    expected = isinstance(error, EXPECTED_ERRORS) or is_expected(error)
    logger.log(logging.INFO if expected else logging.ERROR, "app run failed: %s", error)
    if not read_only:
        try:
            status_task(connection, workunit_id, "failed")
        except Exception as exc:  # the original error is what matters
            logger.error("could not set workunit %s to failed: %s", workunit_id, exc)
        else:
            if isinstance(getattr(error, "summary", None), dict):
                error.summary["status"] = "failed"
    publish_failure(workunit_id, error)


def _run_whole_app(app_yml: str, work_dir: str, workunit_ref: int | str, connection: BfabricConnection,
                   max_parallel_chunks: int, options: AppRunOptions) -> dict[str, Any]:
    """run_app's work: processing, everything, available; failed (and a report) on any failure."""
    read_only = options.read_only
    ref = parse_workunit_ref(workunit_ref)
    workunit_id = ref if isinstance(ref, int) else None
    started = time.monotonic()
    try:
        definition = _definition(ref, work_dir, connection)
        workunit_id = workunit_id_of(definition)
        add_flow_run_tags(flow_run.id, *_workunit_tags(workunit_id))  # unless it was created with it
        if not read_only:
            status_task(connection, workunit_id, "processing")
        run = build_app_run(app_yml, work_dir, definition, options, connection)
        summary = _execute(run, "run-all", None, max_parallel_chunks)
        if not read_only:
            status_task(connection, workunit_id, "available")
    except Exception as exc:
        _mark_failed(connection, workunit_id, exc, read_only)
        publish_app_summary(workunit_id, "Failed", time.monotonic() - started, error=exc)
        raise
    publish_registered(workunit_id, summary["registered"])
    publish_app_summary(workunit_id, "Completed", time.monotonic() - started, summary.pop("chunk_results"))
    summary["status"] = None if read_only else "available"
    return summary


@flow(name="run-app", flow_run_name=_run_app_name)
async def run_app(
    app_yml: str,
    work_dir: str,
    workunit_ref: int | str,
    credentials_block: str | SkipJsonSchema[None] = None,
    max_parallel_chunks: int = 2,
    ssh_user: str | SkipJsonSchema[None] = None,
    force_app_version: str | SkipJsonSchema[None] = None,
    force_storage: str | SkipJsonSchema[None] = None,
    read_only: bool = False,
) -> dict[str, Any]:
    """Run a B-Fabric app on one workunit, from dispatch to registered outputs.

    Args:
        app_yml: path of the app's app.yml.
        work_dir: the workunit's work directory (created if missing; reused by later runs).
        workunit_ref: a B-Fabric workunit id, or the path of a workunit definition YAML (then the
            definition is not read from B-Fabric).
        credentials_block: name of a saved B-Fabric credentials block; empty: the usual bfabricpy
            configuration (``~/.bfabricpy.yml``, ``BFABRICPY_CONFIG_ENV``).
        max_parallel_chunks: how many chunks run at the same time (1: one after the other).
        ssh_user: user for ssh/scp/rsync to storage hosts.
        force_app_version: run this app version instead of the workunit's ``application_version``.
        force_storage: YAML file with storage fields to copy outputs to instead of the workunit's storage.
        read_only: read from B-Fabric only: no status changes, outputs not registered.

    Returns:
        workunit id, app version, work dir, chunk names and the registered entities.
    """
    options = _options(ssh_user, force_storage, force_app_version, read_only, max_parallel_chunks)
    return await asyncio.to_thread(run_in_flow_thread, _run_whole_app, app_yml, work_dir, workunit_ref,
                                   BfabricConnection(credentials_block), max_parallel_chunks, options,
                                   drop_tag_prefixes=[WORKUNIT_TAG_PREFIX])


def _run_action(action: str, app_yml: str, work_dir: str, workunit_ref: int | str, chunk: str | None,
                connection: BfabricConnection, max_parallel_chunks: int, options: AppRunOptions,
                filter: str | None) -> dict[str, Any]:
    """app_action's work: one phase, and the status it writes (never ``failed``)."""
    started = time.monotonic()
    definition = _definition(workunit_ref, work_dir, connection)
    workunit_id = workunit_id_of(definition)
    add_flow_run_tags(flow_run.id, *_workunit_tags(workunit_id))
    run = build_app_run(app_yml, work_dir, definition, options, connection)
    status = PHASE_STATUS[action]
    write = status is not None and not options.read_only and chunk is None
    if status is not None and not write:
        reason = "--read-only" if options.read_only else "--chunk"
        run_logger().info("workunit status %r not written (%s)", status, reason)
    if write and action == "dispatch":
        status_task(connection, workunit_id, status)
    try:
        summary = _execute(run, action, chunk, max_parallel_chunks, filter)
    except Exception as exc:
        publish_app_summary(workunit_id, "Failed", time.monotonic() - started, error=exc)
        raise
    if write and action != "dispatch":
        status_task(connection, workunit_id, status)
    publish_registered(workunit_id, summary["registered"])
    publish_app_summary(workunit_id, "Completed", time.monotonic() - started, summary.pop("chunk_results"))
    summary["status"] = status if write else None
    return summary


@flow(name="app-action", flow_run_name=_app_action_name)
async def app_action(
    action: Action,
    app_yml: str,
    work_dir: str,
    workunit_ref: int | str,
    chunk: str | None = None,
    credentials_block: str | None = None,
    max_parallel_chunks: int = 2,
    ssh_user: str | None = None,
    force_app_version: str | None = None,
    force_storage: str | None = None,
    read_only: bool = False,
    filter: str | None = None,
) -> dict[str, Any]:
    """Run one phase of a B-Fabric app on a workunit (bfabric-app-runner's ``action`` commands).

    Args:
        action: ``dispatch``, ``inputs``, ``process``, ``outputs`` or ``run-all``.
        app_yml: path of the app's app.yml.
        work_dir: the workunit's work directory.
        workunit_ref: a B-Fabric workunit id, or the path of a workunit definition YAML.
        chunk: only this chunk directory (no status is written then).
        credentials_block: name of a saved B-Fabric credentials block (empty: the usual configuration).
        max_parallel_chunks: how many chunks run at the same time.
        ssh_user: user for ssh/scp/rsync to storage hosts.
        force_app_version: run this app version instead of the workunit's ``application_version``.
        force_storage: YAML file with storage fields to copy outputs to.
        read_only: no status changes, outputs not registered (a warning only).
        filter: ``inputs``: prepare only the input with exactly this file name.

    Returns:
        workunit id, app version, work dir, chunk names, registered entities and the status written.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (expected one of {', '.join(ACTIONS)})")
    options = _options(ssh_user, force_storage, force_app_version, read_only, max_parallel_chunks)
    return await asyncio.to_thread(run_in_flow_thread, _run_action, action, app_yml, work_dir, workunit_ref, chunk,
                                   BfabricConnection(credentials_block), max_parallel_chunks, options, filter,
                                   drop_tag_prefixes=[WORKUNIT_TAG_PREFIX])
