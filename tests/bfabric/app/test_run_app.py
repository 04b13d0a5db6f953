"""run_app against the B-Fabric stand-in: real bfabric client, real example app, real Prefect."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId
from prefect.client.schemas.sorting import TaskRunSort
from prefect.settings import PREFECT_API_URL

from blocks.bfabric import BfabricCredentials
from flows.app import run_app
from tests.support.standin import ref_id, row_counts

pytestmark = pytest.mark.usefixtures("prefect_harness")

SAMPLES = ["sample_1", "sample_2", "sample_3", "sample_4"]


def _task_runs(flow_run_id):
    with get_client(sync_client=True) as client:
        return client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=200)


def _artifact(key: str) -> dict | None:
    """The latest artifact called ``key``, as the API returns it."""
    response = httpx.get(f"{PREFECT_API_URL.value()}/artifacts/{key}/latest", timeout=30)
    return response.json() if response.status_code == 200 else None


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_full_run_registers_every_chunk_and_a_second_run_duplicates_nothing(app_env, tmp_path, monkeypatch):
    BfabricCredentials(base_url=app_env.server.base_url, login=app_env.server.login,
                       password=app_env.server.config_override()["auth"]["password"]).save(
        "standin-app-test", overwrite=True)
    # only the block knows the way: the flow's client and the app's dispatch command get it from there
    monkeypatch.delenv("BFABRICPY_CONFIG_OVERRIDE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.bfabricpy.yml either

    state = asyncio.run(run_app(**app_env.run_params(credentials_block="standin-app-test"), return_state=True))

    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["chunks"] == SAMPLES and summary["app_version"] == "1.0.0"
    assert app_env.statuses() == ["processing", "available"]
    # the output storage is read for the definition and once for all 4 chunks' registration (not per chunk)
    assert app_env.reads_of("storage", id=3) == 2
    assert app_env.server.rows("workunit")[0]["status"] == "available"
    # one resource per chunk, on the output storage, with the copied file's checksum
    resources = app_env.rows_of("resource")
    assert sorted(r["name"] for r in resources) == [f"{s}.counts.txt" for s in SAMPLES]
    folder = Path(app_env.work_dir / "workunit_definition.yml").read_text()
    assert "storage_output_folder" in folder
    # every registered chunk keeps its own copy, as bfabric-app-runner's outputs step leaves one
    assert all((app_env.work_dir / s / "workunit_definition.yml").read_text() == folder for s in SAMPLES)
    for resource in resources:
        stored = app_env.storage_dir / resource["relativepath"]
        assert ref_id(resource["storage"]) == 3 and resource["status"] == "available"
        assert resource["filechecksum"] == _md5(stored)
        assert "lines\t4" in stored.read_text()  # version 1.0.0 counts the header too
    # exactly one dataset (the table of outputs) and one link
    datasets = app_env.rows_of("dataset")
    assert [d["name"] for d in datasets] == ["Line counts"]
    assert len(datasets[0]["item"]) == 4
    links = app_env.links_of()
    assert [(link["name"], link["url"]) for link in links] == [
        ("Line count report", "https://labflows.example.org/demo/workunit/1")]
    # Prefect: task runs named after their chunks (untagged: the flow run has the workunit tag; a tag on every
    # task run would cost a concurrency-limit request each); a table of what was registered
    runs = _task_runs(state.state_details.flow_run_id)
    names = {r.name for r in runs}
    assert {f"chunk:{s}" for s in SAMPLES} <= names and {f"process:{s}" for s in SAMPLES} <= names
    assert {"dispatch", "status:processing", "status:available"} <= names
    assert not any("workunit:1" in r.tags for r in runs)
    table = _artifact("workunit-1-registered")
    assert table["flow_run_id"] == str(state.state_details.flow_run_id) and table["type"] == "table"
    assert "sample_4.counts.txt" in table["data"]
    # the flow run itself carries the workunit tag; its summary has one row per chunk
    with get_client(sync_client=True) as client:
        assert "workunit:1" in client.read_flow_run(state.state_details.flow_run_id).tags
    summary = _artifact("workunit-1-summary")
    assert summary["flow_run_id"] == str(state.state_details.flow_run_id) and summary["task_run_id"] is None
    assert "# Workunit 1: Completed" in summary["data"] and "| chunks | 4 (4 done) |" in summary["data"]
    assert re.search(r"^\| sample_1 \| done \| \d+\.\d s \| inputs, process, collect, register \| "
                     r"1 resource(, \d+ \w+)* \|", summary["data"], re.M), summary["data"]

    counts = row_counts(app_env.server, "resource", "dataset", "link")
    ids = sorted(r["id"] for r in resources)
    second = asyncio.run(run_app(**app_env.run_params(credentials_block="standin-app-test"), return_state=True))

    assert second.is_completed(), second.message
    assert row_counts(app_env.server, "resource", "dataset", "link") == counts
    assert sorted(r["id"] for r in app_env.rows_of("resource")) == ids
    assert {r["action"] for r in second.result()["registered"]} <= {"unchanged", "updated"}
    assert app_env.statuses() == ["processing", "available", "processing", "available"]


def test_failing_process_sets_failed_and_fails_the_flow_run(app_env):
    app_env.set_parameters(fail_sample="sample_3")

    state = asyncio.run(run_app(**app_env.run_params(), return_state=True))

    assert state.is_failed()
    assert "sample_3" in state.message and "exit code 2" in state.message
    assert app_env.statuses() == ["processing", "failed"]
    assert app_env.server.rows("workunit")[0]["status"] == "failed"
    # the other chunks ran to their end; the failed one registered nothing
    names = {r["name"] for r in app_env.rows_of("resource")}
    assert names == {"sample_1.counts.txt", "sample_2.counts.txt", "sample_4.counts.txt"}
    report = _artifact("workunit-1-failure")
    assert report["flow_run_id"] == str(state.state_details.flow_run_id) and report["type"] == "markdown"
    assert "sample_3" in report["data"] and "exit code 2" in report["data"]
    summary = _artifact("workunit-1-summary")
    assert summary["flow_run_id"] == str(state.state_details.flow_run_id)
    assert "# Workunit 1: Failed" in summary["data"] and "| chunks | 4 (3 done) |" in summary["data"]
    assert re.search(r"^\| sample_3 \| failed \| - \| - \| - \| .*exit code 2", summary["data"], re.M)
    assert re.search(r"^\| sample_4 \| done \|", summary["data"], re.M)


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))
    running = best = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


def test_max_parallel_chunks_bounds_overlap_read_only_writes_nothing(app_env):
    app_env.set_parameters(sleep_seconds="1")

    summary = asyncio.run(run_app(**app_env.run_params(max_parallel_chunks=2, read_only=True)))

    timings = [json.loads((app_env.work_dir / s / "timing.json").read_text()) for s in SAMPLES]
    overlap = _max_overlap([(t["start"], t["end"]) for t in timings])
    assert overlap == 2, timings
    # read-only: statuses untouched, nothing registered, but the chunks were computed
    assert summary["status"] is None and summary["registered"] == []
    assert app_env.statuses() == [] and app_env.rows_of("resource") == []
    assert (app_env.work_dir / "sample_1" / "outputs.yml").is_file()
    assert not (app_env.work_dir / "sample_1" / "workunit_definition.yml").exists()  # upstream: none read-only


def test_yaml_reference_and_forced_version(app_env, tmp_path):
    from specs.bfabric.workunit import (
        load_workunit_definition,
        save_workunit_definition,
    )

    asyncio.run(run_app(**app_env.run_params(read_only=True, work_dir=str(tmp_path / "first"))))
    definition = load_workunit_definition(tmp_path / "first" / "workunit_definition.yml")
    definition_file = tmp_path / "wu1.yml"
    save_workunit_definition(definition, definition_file)
    app_env.server.seed({"workunit": [{"id": 1, "name": "Demo workunit (resources)", "application": 1,
                                       "container": 1, "status": "pending", "inputresource": [1, 2],
                                       "createdby": "standin"}]})  # B-Fabric changes: the YAML does not

    summary = asyncio.run(run_app(**app_env.run_params(workunit_ref=str(definition_file), force_app_version="1.1.0")))

    assert summary["app_version"] == "1.1.0" and summary["chunks"] == SAMPLES
    counts = (app_env.work_dir / "sample_2" / "sample_2.counts.txt").read_text()
    assert "lines\t3" in counts and "counted\tdata" in counts
    with open(app_env.work_dir / "sample_1" / "outputs_table.csv") as table:
        assert [row["Sample"] for row in csv.DictReader(table)] == SAMPLES
    assert app_env.statuses() == ["processing", "available"]


def test_unknown_version_fails_and_sets_failed(app_env):
    state = asyncio.run(run_app(**app_env.run_params(force_app_version="9.9"), return_state=True))

    assert state.is_failed() and "9.9" in state.message and "1.0.0, 1.1.0" in state.message
    assert app_env.statuses() == ["processing", "failed"]
