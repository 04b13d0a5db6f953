"""Prefect tasks of a B-Fabric app run: workunit definition, status, dispatch, and the steps of a chunk.

Task runs are named after what they work on (``chunk:sample_3``, ``process:sample_3``,
``status:available``). :func:`chunk_task` runs the steps of one chunk one after the other, each
as a task of its own, and is what the flow maps over the chunks. Nothing here is cached: every
run does its work again (inputs that are already present with the right checksum are kept).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from specs.bfabric.workunit import WorkunitDefinition
from tasks.bfabric.app.connection import BfabricConnection
from tasks.bfabric.app.phases import CHUNK_STEPS
from tasks.bfabric.app.run import AppRun, ChunkStepError
from tasks.bfabric.app.steps import (
    collect_chunk,
    dispatch_workunit,
    prepare_chunk_inputs,
    process_chunk,
    register_chunk_outputs,
    write_status,
)
from tasks.bfabric.app.workunit import obtain_workunit_definition
from tasks.runtime.progress import ProgressEvent, report

__all__ = [
    "CHUNK_STEPS",
    "chunk_task",
    "collect_task",
    "dispatch_task",
    "inputs_task",
    "process_task",
    "register_task",
    "status_task",
    "workunit_definition_task",
]

@task(name="workunit-definition", task_run_name="workunit-definition", cache_policy=NO_CACHE)
def workunit_definition_task(workunit_ref: int | str | Path, work_dir: Path,
                             connection: BfabricConnection) -> WorkunitDefinition:
    """The workunit definition (from the YAML reference or B-Fabric), cached in the work dir."""
    return obtain_workunit_definition(workunit_ref, work_dir, connection.client)


@task(name="workunit-status", task_run_name="status:{status}", cache_policy=NO_CACHE)
def status_task(connection: BfabricConnection, workunit_id: int | None, status: str) -> bool:
    """Set the workunit's status in B-Fabric."""
    return write_status(connection, workunit_id, status)


@task(name="dispatch", task_run_name="dispatch", cache_policy=NO_CACHE)
def dispatch_task(run: AppRun) -> list[Path]:
    """Run the app's dispatch command; returns the chunk directories."""
    return dispatch_workunit(run)


@task(name="inputs", task_run_name="inputs:{chunk_dir.name}", cache_policy=NO_CACHE)
def inputs_task(run: AppRun, chunk_dir: Path, filter: str | None = None) -> list[Path]:
    """Resolve and prepare the inputs of one chunk."""
    return prepare_chunk_inputs(run, chunk_dir, filter=filter)


@task(name="process", task_run_name="process:{chunk_dir.name}", cache_policy=NO_CACHE)
def process_task(run: AppRun, chunk_dir: Path) -> None:
    """Run the app's process command on one chunk."""
    process_chunk(run, chunk_dir)


@task(name="collect", task_run_name="collect:{chunk_dir.name}", cache_policy=NO_CACHE)
def collect_task(run: AppRun, chunk_dir: Path) -> None:
    """Run the app's collect command on one chunk."""
    collect_chunk(run, chunk_dir)


@task(name="register", task_run_name="register:{chunk_dir.name}", cache_policy=NO_CACHE)
def register_task(run: AppRun, chunk_dir: Path) -> list[dict[str, Any]]:
    """Register the outputs of one chunk in B-Fabric (a warning only, when read-only)."""
    return register_chunk_outputs(run, chunk_dir)


def _run_step(run: AppRun, chunk_dir: Path, step: str, filter: str | None) -> list[dict[str, Any]]:
    if step == "inputs":
        inputs_task(run, chunk_dir, filter)
    elif step == "process":
        process_task(run, chunk_dir)
    elif step == "collect":
        if run.version.commands.collect is not None:
            collect_task(run, chunk_dir)
    elif step == "register":
        return register_task(run, chunk_dir)
    else:
        raise ValueError(f"unknown chunk step {step!r} (expected one of {', '.join(CHUNK_STEPS)})")
    return []


@task(name="chunk", task_run_name="chunk:{chunk_dir.name}", cache_policy=NO_CACHE)
def chunk_task(run: AppRun, chunk_dir: Path, steps: Sequence[str] = CHUNK_STEPS,
               filter: str | None = None) -> dict[str, Any]:
    """Run ``steps`` of one chunk in order; returns ``{chunk, steps, registered, duration_s}``.

    A failing step stops the chunk with a :class:`ChunkStepError` naming the chunk and the step.
    """
    started = time.monotonic()
    registered: list[dict[str, Any]] = []
    name = Path(chunk_dir).name
    for step in steps:
        try:
            registered += _run_step(run, Path(chunk_dir), step, filter)
        except Exception as exc:
            report(ProgressEvent("branch", step, state="failed", detail=name))
            for later in steps[steps.index(step) + 1:]:  # so that every phase's count still ends
                report(ProgressEvent("branch", later, state="not run", detail=name))
            raise ChunkStepError(name, step, exc) from exc
        report(ProgressEvent("branch", step, state="done", detail=name))
    return {"chunk": name, "steps": list(steps), "registered": registered,
            "duration_s": round(time.monotonic() - started, 3)}
