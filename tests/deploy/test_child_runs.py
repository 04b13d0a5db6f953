"""A parent waiting for a child deployment run: cancelling the parent cancels the child, and a
child no worker starts is cancelled after the start timeout (session server, no worker needed)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Cancelling

from flows.workflow import run_workflow
from tasks.runtime.child_runs import (
    ChildNotStarted,
    ChildSpec,
    ParentCancelled,
    parent_tag,
    start_child,
    wait_for_children,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def idle_deployment(prefect_harness) -> str:
    """A run-workflow deployment on a pool without a worker: its runs stay scheduled."""
    from prefect.client.schemas.actions import WorkPoolCreate

    name = f"idle-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))
    run_workflow.to_deployment(name=name, work_pool_name=name).apply()
    return f"run-workflow/{name}"


def _state(run_id) -> str:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state.name


def test_cancelling_the_waiting_parent_cancels_the_child(idle_deployment):
    from prefect.context import FlowRunContext

    seen: dict = {}

    def cancel(parent_id) -> None:  # as the UI's cancel button does: the parent's state only
        time.sleep(1.5)
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(parent_id, Cancelling(message="user"), force=True)

    @flow
    def parent() -> None:
        seen["parent"] = FlowRunContext.get().flow_run.id
        seen["child"] = start_child(ChildSpec(idle_deployment, {"workflow": "wf.yaml"}))
        threading.Thread(target=cancel, args=(seen["parent"],), daemon=True).start()
        try:
            wait_for_children([seen["child"]], start_timeout=60, poll_s=0.2)
        except ParentCancelled as exc:
            seen["raised"] = exc

    parent(return_state=True)
    assert "raised" in seen
    assert parent_tag(seen["parent"]) in seen["child"].tags
    assert _state(seen["child"].id) == "Cancelled"


def test_a_child_no_worker_starts_is_cancelled_after_the_start_timeout(idle_deployment):
    @flow
    def parent() -> str:
        child = start_child(ChildSpec(idle_deployment, {"workflow": "wf.yaml"}, flow_run_name="lonely-child"))
        try:
            wait_for_children([child], start_timeout=1, poll_s=0.2)
        except ChildNotStarted as exc:
            assert exc.run.id == child.id
            return str(child.id)
        raise AssertionError("the child was waited for beyond its start timeout")

    child_id = parent()
    assert _state(child_id) == "Cancelled"
