"""Flow runs of deployments that a parent flow starts and waits for (subpipe deployments, steps on
work pools), without waiting forever and without leaving orphans.

- :func:`start_child` creates the run (linked as a subflow of the current flow, tagged with
  :func:`parent_tag`) and returns at once; :func:`wait_for_children` polls all of a parent's
  children in one API call per poll.
- A child that no worker starts within ``start_timeout`` seconds is cancelled and reported
  (:class:`ChildNotStarted`): a pool without a worker, or a worker whose slots the waiting parents
  hold, fails the step with one line instead of leaving it "Late" forever.
- A parent that may suspend (:mod:`tasks.runtime.suspension`) starts each child with an
  idempotency key (``ChildSpec.key``) and, once every child it waits for has been started by a
  worker, suspends instead of polling: its worker slot is free until a child resumes it.
- Cancelling the parent cancels its children: the wait loop watches the parent's own state (a
  parent running in the CLI is not killed by anyone), and when the parent's process is stopped
  (a worker's SIGTERM, Ctrl-C) the loop's ``except`` cancels every child it still waits for;
  :func:`cancel_children` (by tag) serves ``on_cancellation`` hooks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from uuid import UUID

PARENT_TAG_PREFIX = "labflows.parent:"
POLL_S = 1.0
_STARTED = {"PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"}


class ChildNotStarted(RuntimeError):
    """No worker started a child run within the start timeout (the run was cancelled)."""

    def __init__(self, run: Any, waited_s: float):
        self.run, self.waited_s = run, waited_s
        super().__init__(f"flow run {run.name} was not started by any worker within {waited_s:.0f} s")


class ParentCancelled(RuntimeError):
    """The parent flow run was cancelled while it waited; its children were cancelled too."""


@dataclass(frozen=True)
class ChildSpec:
    """One child run to start: a deployment (``FLOW/NAME``) and what the run gets."""

    deployment: str
    parameters: dict[str, Any]
    flow_run_name: str | None = None
    job_variables: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()
    key: str | None = None  # names the child within its parent (a step, a batch): its idempotency key


def parent_tag(parent_id: UUID | str) -> str:
    """The tag every child of flow run ``parent_id`` carries (``labflows.parent:<id>``)."""
    return f"{PARENT_TAG_PREFIX}{parent_id}"


def current_flow_run_id() -> UUID | None:
    """The id of the flow run this code runs in (None outside a flow)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx.flow_run.id if ctx and ctx.flow_run else None


def start_child(spec: ChildSpec) -> Any:
    """Create the child's flow run (a subflow of the current flow, tagged with its parent); returns it.

    In a parent that may suspend, the same ``spec.key`` in a resumed run returns the run started
    before (:func:`tasks.runtime.suspension.child_key`) instead of a new one.
    """
    from uuid import uuid4

    from prefect.deployments import run_deployment

    from tasks.runtime.suspension import child_key

    parent = current_flow_run_id()
    tags = [*spec.tags, *([parent_tag(parent)] if parent else [])]
    key = child_key(spec.key) if spec.key and parent else None
    if key is not None:
        return _start_keyed(spec, parent, key, tags)
    # a fresh key per start still makes the request idempotent: when the client retries a create
    # that the server did commit (a 503 "database is locked" under load), it gets that run back
    # instead of a second child nobody waits for or cancels
    return run_deployment(name=spec.deployment, parameters=spec.parameters, timeout=0, tags=tags,
                          flow_run_name=spec.flow_run_name, job_variables=spec.job_variables or None,
                          idempotency_key=f"labflows-child:{uuid4()}")


def _start_keyed(spec: ChildSpec, parent: UUID, key: str, tags: list[str]) -> Any:
    """``run_deployment``'s subflow link with ``key`` as the idempotency key of the run *and* the
    dynamic key of its link task run: a resumed parent, which replays the steps before without
    starting their children, gets each child's own link back (``run_deployment`` numbers links in
    call order, which a replay shifts)."""
    from prefect import Task
    from prefect.states import Pending, Scheduled

    from tasks.runtime.api_retries import quick_retry_client

    link = Task(name=spec.deployment, fn=lambda: None)
    link.task_key = f"labflows.child_runs.{spec.deployment}"
    with quick_retry_client() as client:  # a create refused with 503 (SQLite busy) is tried again at once
        deployment = client.read_deployment_by_name(spec.deployment)
        link_run = client.create_task_run(task=link, flow_run_id=parent, dynamic_key=key, state=Pending())
        return client.create_flow_run_from_deployment(
            deployment.id, parameters=spec.parameters, state=Scheduled(), name=spec.flow_run_name, tags=tags,
            idempotency_key=key, parent_task_run_id=link_run.id, job_variables=spec.job_variables or None)


def cancel_runs(runs: Iterable[Any]) -> None:
    """Cancel each run not yet final: a run no worker took is Cancelled, a running one Cancelling
    (its worker then stops its process). Errors are ignored: this runs while a parent goes down."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Cancelling

    with get_client(sync_client=True) as client:
        for run in runs:
            try:
                current = client.read_flow_run(run.id)
                if current.state is None or current.state.is_final():
                    continue
                started = current.state.type.value in _STARTED
                state = Cancelling(message="parent flow run cancelled") if started else \
                    Cancelled(message="parent flow run cancelled before a worker started this run")
                client.set_flow_run_state(run.id, state, force=True)
            except Exception:  # noqa: BLE001 - best effort while the parent stops
                continue


def cancel_children(parent_id: UUID | str) -> None:
    """Cancel every unfinished flow run tagged as a child of ``parent_id`` (``on_cancellation`` hooks)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[parent_tag(parent_id)])), limit=200)
    cancel_runs(children)


def _read(client, ids: list[UUID]) -> dict[UUID, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids))
    return {r.id: r for r in runs}


def wait_for_children(runs: list[Any], *, start_timeout: float, on_final: Callable[[Any], None] | None = None,
                      poll_s: float = POLL_S) -> dict[UUID, Any]:
    """Wait until every run in ``runs`` is final; returns them (re-read) by id.

    ``on_final(run)`` is called as each one finishes. Raises :class:`ChildNotStarted` when a run
    has waited for a worker for ``start_timeout`` seconds while none of ``runs`` was running or
    finished (a pool without a worker, or slots held by waiting parents; a busy worker that works
    through the runs one by one is progress, not a failure); the runs still waiting are cancelled.
    Raises :class:`ParentCancelled` when the current flow run is cancelled.
    Any exception here (also a termination signal) cancels the children still running; a parent
    that may suspend does so once every child still running has been started (Prefect's ``Pause``
    ends its process and leaves the children running).
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import Pause

    from tasks.runtime.suspension import may_suspend, suspend_while_running

    parent = current_flow_run_id()
    pending = {r.id: r for r in runs}
    done: dict[UUID, Any] = {}
    progress = time.monotonic()  # the last time one of the runs started, ran or finished
    suspend = may_suspend()
    try:
        with get_client(sync_client=True) as client:
            while pending:
                seen = _read(client, [*pending, *([parent] if parent else [])])
                parent_run = seen.pop(parent, None) if parent else None
                if parent_run is not None and parent_run.state and parent_run.state.type.value in (
                        "CANCELLING", "CANCELLED"):
                    raise ParentCancelled(f"flow run {parent_run.name} was cancelled")
                waiting = []
                for run_id, run in seen.items():
                    state = run.state
                    if state is not None and state.is_final():
                        pending.pop(run_id)
                        done[run_id] = run
                        progress = time.monotonic()
                        _show_on_link(client, run, state)  # also the child's hook, which may come later
                        if on_final is not None:
                            on_final(run)
                    elif state is not None and state.type.value in _STARTED:
                        progress = time.monotonic()
                    else:
                        waiting.append(run)
                if waiting and time.monotonic() - progress > start_timeout:
                    raise ChildNotStarted(waiting[0], start_timeout)
                if pending and suspend and not waiting:  # all started: no slot of ours is needed
                    suspend_while_running(list(pending.values()), lambda ids: _read(client, ids))
                    suspend = False  # the server refused: poll
                if pending:
                    time.sleep(poll_s)
    except Pause:
        raise  # suspended: the children run on and resume this run
    except BaseException:
        cancel_runs(pending.values())
        raise
    return done


def show_state_on_link(flow: Any, flow_run: Any, state: Any) -> None:
    """A child's state hook (running, completed, failed, crashed, cancelled): its link task run in
    the parent (the box the UI shows for the child) takes the same state; Prefect leaves it Pending.

    Only runs of deployments: an in-process subflow's link is the engine's own.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        _show_on_link(client, flow_run, state)


def _show_on_link(client: Any, flow_run: Any, state: Any) -> None:
    """Set the link task run of ``flow_run`` (a deployment's run linked to a parent) to ``state``'s kind."""
    from prefect.states import Cancelled, Completed, Crashed, Failed, Running

    link = getattr(flow_run, "parent_task_run_id", None)
    if link is None or getattr(flow_run, "deployment_id", None) is None or state is None:
        return
    make = {"RUNNING": Running, "COMPLETED": Completed, "FAILED": Failed, "CRASHED": Crashed,
            "CANCELLED": Cancelled, "CANCELLING": Cancelled}.get(state.type.value)
    if make is None:
        return
    try:
        client.set_task_run_state(link, make(message=state.message), force=True)
    except Exception:  # noqa: BLE001 - only the picture in the UI; never changes a run's outcome
        from tasks.runtime.logs import run_logger

        run_logger().warning("could not show flow run %s's state on its parent's task run", flow_run.name)
