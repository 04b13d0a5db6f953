"""The worker thread of an async flow (tasks.runtime.flow_thread) and tags on a started flow run,
on a real Prefect server."""

from __future__ import annotations

import asyncio

import pytest
from prefect import flow, tags, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.runtime import flow_run_tags
from tasks.runtime.flow_run_tags import WORKUNIT_TAG_PREFIX, add_flow_run_tags
from tasks.runtime.flow_thread import run_in_flow_thread

pytestmark = pytest.mark.usefixtures("prefect_harness")


@task(task_run_name="client-{n}")
def _client_id(n: int) -> int:
    return id(get_client(sync_client=True))


def _work() -> dict:
    """A task run in the flow's thread, two on a thread pool, and the client this thread gets."""
    direct = _client_id(0)
    with ThreadPoolTaskRunner(max_workers=2) as runner:
        mapped = [f.result() for f in runner.map(_client_id, {"n": [1, 2]})]
    return {"here": id(get_client(sync_client=True)), "tasks": [direct, *mapped], "flow_run_id": flow_run.id}


@flow(name="flow-thread-test")
async def _threaded_flow() -> dict:
    return await asyncio.to_thread(run_in_flow_thread, _work, drop_tag_prefixes=[WORKUNIT_TAG_PREFIX])


def test_task_runs_share_one_client_and_leave_the_workunit_tag_to_the_flow_run():
    with tags("workunit:7", "project:x"):
        result = asyncio.run(_threaded_flow())

    # one API client for the whole thread, also on the pool's threads (not one per task run)
    assert result["tasks"] == [result["here"]] * 3
    with get_client(sync_client=True) as client:
        assert {"workunit:7", "project:x"} <= set(client.read_flow_run(result["flow_run_id"]).tags)
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(
            flow_run_id=TaskRunFilterFlowRunId(any_=[result["flow_run_id"]])))
    assert len(runs) == 3
    # other tags still reach the task runs; the workunit tag does not
    assert all("project:x" in r.tags and "workunit:7" not in r.tags for r in runs)


@flow(name="flow-run-tags-test")
def _tagging_flow(new: str | None = None) -> list[str]:
    return add_flow_run_tags(flow_run.id, "workunit:7", *([new] if new else []))


def test_tags_the_run_was_created_with_are_not_written_again(monkeypatch):
    def no_client(*args, **kwargs):
        raise AssertionError("add_flow_run_tags asked the API")

    with monkeypatch.context() as m:
        m.setattr(flow_run_tags, "get_client", no_client)
        with tags("workunit:7"):
            known = _tagging_flow()
    assert "workunit:7" in known  # asking the API would have failed: add_flow_run_tags returns [] then

    with tags("workunit:7"):
        state = _tagging_flow("step:extra", return_state=True)
    with get_client(sync_client=True) as client:
        assert {"workunit:7", "step:extra"} <= set(client.read_flow_run(state.state_details.flow_run_id).tags)
