"""A parent that waits for its child flow runs without holding a worker slot: it suspends.

A flow run of a deployment (not itself a subflow) that waits for children it started
(:mod:`tasks.runtime.child_runs`) may, once every child has been started by a worker, leave the
Prefect state ``Suspended`` and end its process (Prefect's ``Pause`` signal: the worker's slot is
free). When a child ends, its flow's state hook (:func:`resume_parent`) resumes the parent if it is
suspended and every child it started is final; Prefect then schedules the parent again and it runs
from the start: children are started with idempotency keys (:func:`child_key`), so the resumed
parent finds the same runs, and what ran before is replayed by the caller (the workflow's journal,
``tasks/bclaw/resume_journal.py``).

The race "the last child ended before the parent was Suspended" (its hook saw a running parent and
did nothing) is closed by the parent: after its ``Suspended`` state is accepted it reads its
children again and, if all are final, resumes itself before it exits.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator
from uuid import UUID, uuid4

PARENT_WAITS = ("suspend", "poll")

# set while a flow run may suspend (see parent_waiting); the counter numbers the children started
# under one key, so a step that runs twice in one flow run (a chooser's loop) gets two children
_SUSPENDABLE: ContextVar[Counter | None] = ContextVar("labflows_suspendable", default=None)


def suspendable_here() -> bool:
    """True when this flow run is a deployment's run that is no subflow (Prefect suspends only
    those), its flow asked for it, and this is the flow's own thread (not a task or a branch)."""
    from prefect.context import FlowRunContext, TaskRunContext

    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    return bool(run is not None and run.deployment_id is not None and run.parent_task_run_id is None
                and TaskRunContext.get() is None and threading.current_thread() is threading.main_thread())


@contextmanager
def parent_waiting(mode: str) -> Iterator[bool]:
    """Inside, waits for children suspend this flow run when ``mode`` is ``suspend`` and it can
    (:func:`suspendable_here`); yields whether it can."""
    if mode != "suspend" or not suspendable_here():
        yield False
        return
    token = _SUSPENDABLE.set(Counter())
    try:
        yield True
    finally:
        _SUSPENDABLE.reset(token)


def may_suspend() -> bool:
    """True inside :func:`parent_waiting` that allowed it, on the flow's own thread."""
    return _SUSPENDABLE.get() is not None and threading.current_thread() is threading.main_thread()


def child_key(name: str) -> str | None:
    """An idempotency key for the child called ``name`` (a step, a batch), the same again when the
    parent runs again after a resume: ``<parent run id>:<name>:<n>``. None when the parent does not
    suspend (every start is a new run, as before)."""
    from tasks.runtime.child_runs import current_flow_run_id

    counter = _SUSPENDABLE.get()
    if counter is None:
        return None
    counter[name] += 1
    return f"{current_flow_run_id()}:{name}:{counter[name]}"


def suspend_while_running(runs: list[Any], read: Callable[[list[UUID]], dict[UUID, Any]]) -> None:
    """Suspend the current flow run until its children ``runs`` end (raises Prefect's ``Pause``;
    the process ends). Returns when the server refuses (the caller then polls).

    ``read(ids)`` re-reads the runs: when all became final before the suspension was accepted,
    the parent resumes itself, so it is scheduled again at once instead of waiting for a hook
    that already ran.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import Pause
    from prefect.states import Suspended
    from prefect.utilities.engine import propose_state_sync

    from tasks.runtime.child_runs import current_flow_run_id
    from tasks.runtime.logs import run_logger

    parent = current_flow_run_id()
    with get_client(sync_client=True) as client:
        try:
            state = propose_state_sync(client, Suspended(pause_key=str(uuid4())), flow_run_id=parent)
        except Exception as exc:  # noqa: BLE001 - Abort ("cannot suspend subflows", …): poll instead
            run_logger().info("waiting in this process: the flow run cannot be suspended (%s)", exc)
            return
    if not state.is_paused():
        return
    run_logger().info("suspended while %d child flow run(s) run; a child resumes it when they have ended",
                      len(runs))
    if all(r.state is not None and r.state.is_final() for r in read([r.id for r in runs]).values()):
        resume_paused(parent)  # they ended meanwhile: run again now
    raise Pause(state=state)


def resume_parent(flow: Any, flow_run: Any, state: Any) -> None:
    """A child's state hook (completed, failed, crashed, cancelled): resume the parent (from the
    child's ``labflows.parent:<id>`` tag) if it is suspended and every child it started is final."""
    from tasks.runtime.child_runs import PARENT_TAG_PREFIX

    parents = [t[len(PARENT_TAG_PREFIX):] for t in (flow_run.tags or []) if t.startswith(PARENT_TAG_PREFIX)]
    for parent in parents:
        try:
            _resume_if_all_final(UUID(parent), flow_run.id)
        except Exception as exc:  # noqa: BLE001 - a hook must not change the child's own outcome
            from tasks.runtime.logs import run_logger

            run_logger().warning("could not resume parent flow run %s: %s", parent, exc)


_FINAL_TYPES = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")


def _resume_if_all_final(parent_id: UUID, own_id: UUID) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    from tasks.runtime.child_runs import parent_tag

    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(parent_id)
        if parent.state is None or not parent.state.is_paused():
            return
        unfinished = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[parent_tag(parent_id)]), id=FlowRunFilterId(not_any_=[own_id]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(not_any_=[StateType(t) for t in _FINAL_TYPES]))),
            limit=1)
    if not unfinished:
        resume_paused(parent_id)


def resume_paused(run_id: UUID) -> None:
    """Resume the paused flow run ``run_id`` (Prefect's ``resume_flow_run`` without its check that
    it is paused, which the callers made); a resume refused with 503 by a busy server is tried again
    within a second (:mod:`tasks.runtime.api_retries`), so the parent is scheduled again at once.

    Raises:
        RuntimeError: the server refused to resume it (no longer paused, its pause timed out).
    """
    from prefect.client.schemas.responses import SetStateStatus

    from tasks.runtime.api_retries import quick_retry_client

    with quick_retry_client() as client:
        result = client.resume_flow_run(run_id)
    if result.status == SetStateStatus.REJECT:
        raise RuntimeError(f"cannot resume flow run {run_id}: {result.details.reason}")


WATCH_S = 2.0


@contextmanager
def cancelled_with_parent(poll_s: float = WATCH_S) -> Iterator[None]:
    """Inside a child run (tagged ``labflows.parent:<id>``): when the parent is cancelled while it
    is suspended (no process of its own to cancel its children), this run asks to be cancelled
    (its worker then stops it) and the parent, which no process will finish, is marked Cancelled."""
    from prefect.runtime import flow_run

    from tasks.runtime.child_runs import PARENT_TAG_PREFIX

    parents = [UUID(t[len(PARENT_TAG_PREFIX):]) for t in (flow_run.tags or []) if t.startswith(PARENT_TAG_PREFIX)]
    if not parents or not flow_run.id:
        yield
        return
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_parent, args=(parents[0], UUID(str(flow_run.id)), stop, poll_s),
                               name="labflows-parent-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()


def _watch_parent(parent_id: UUID, own_id: UUID, stop: threading.Event, poll_s: float) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Cancelling

    while not stop.wait(poll_s):
        try:
            with get_client(sync_client=True) as client:
                parent = client.read_flow_run(parent_id)
                kind = parent.state.type.value if parent.state else ""
                if kind not in ("CANCELLING", "CANCELLED"):
                    continue
                if kind == "CANCELLING" and _was_suspended(client, parent_id):
                    client.set_flow_run_state(parent_id, Cancelled(message="cancelled while suspended"), force=True)
                client.set_flow_run_state(own_id, Cancelling(message="parent flow run cancelled"), force=True)
            return
        except Exception:  # noqa: BLE001 - the server busy or gone: try again at the next poll
            continue


def _was_suspended(client: Any, run_id: UUID) -> bool:
    """True when the run's state before the current one was Suspended (no process is running it)."""
    history = sorted(client.read_flow_run_states(run_id), key=lambda s: s.timestamp)
    return len(history) >= 2 and history[-2].name == "Suspended"
