"""What users see in the Prefect UI: step artifacts, run names and tags (session Prefect server)."""

from __future__ import annotations

import asyncio
import re
import textwrap
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId,
)
from prefect.client.schemas.sorting import ArtifactSort, TaskRunSort

from flows.workflow import run_workflow
from tasks.bclaw.artifacts import StepReport, output_links, publish_step_report, render_markdown


def _read(flow_run_id: UUID) -> tuple[Any, list[Any], list[Any]]:
    """``(flow run, its artifacts, its task runs)`` through the API."""

    async def read():
        async with get_client() as client:
            runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            run = await client.read_flow_run(flow_run_id)
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
                sort=ArtifactSort.CREATED_DESC, limit=50, offset=0)
            task_runs = await client.read_task_runs(flow_run_filter=runs, sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                                                    limit=50, offset=0)
            return run, artifacts, task_runs

    return asyncio.run(read())


@pytest.fixture
def pipeline(tmp_path):
    """``pipeline/workflow.yaml`` (two steps: a glob output, then a step reading it) and a job file."""
    folder = tmp_path / "pipeline"
    folder.mkdir()
    (folder / "workflow.yaml").write_text(textwrap.dedent("""\
        Repository: s3://bucket/art/${job.id}
        Steps:
          - split:
              image: docker.io/library/alpine:3
              commands: ['echo a > part_1.txt', 'echo b > part_2.txt', 'echo "${job.id} | ok" > note.md']
              outputs: {parts: 'part_*.txt', note: note.md}
          - count:
              inputs: {parts: 'part_*.txt'}
              commands: ['cat ${parts} | wc -l > n.txt', 'exit ${job.code}']
              outputs: {n: n.txt}
              retry: {attempts: 0}
        """))
    (tmp_path / "sample-9.json").write_text('{"id": "S9", "code": 0}')
    (tmp_path / "failing.json").write_text('{"id": "F1", "code": 7}')
    return folder / "workflow.yaml"


@pytest.mark.usefixtures("prefect_harness")
def test_each_step_has_a_markdown_artifact_and_runs_are_named_and_tagged(pipeline, tmp_path):
    state = run_workflow(workflow=str(pipeline), job_file=str(tmp_path / "sample-9.json"),
                         storage=str(tmp_path / "s"), return_state=True)
    assert state.is_completed()
    run, artifacts, task_runs = _read(state.state_details.flow_run_id)

    assert run.name == "pipeline:sample-9"
    assert "workflow:pipeline" in run.tags
    assert {t.name: set(t.tags) for t in task_runs} == {
        "split": {"workflow:pipeline", "step:split"}, "count": {"workflow:pipeline", "step:count"}}

    by_key = {a.key: a for a in artifacts}
    # no link artifacts: a local folder has no console
    assert set(by_key) == {"pipeline-split", "pipeline-count", "pipeline-summary"}
    summary = by_key["pipeline-summary"]
    assert summary.task_run_id is None and summary.flow_run_id == run.id  # on the flow run itself
    assert "# Workflow pipeline: Completed" in summary.data
    assert "| repository | s3://bucket/art/S9 |" in summary.data and "| steps | 2 done |" in summary.data
    assert re.search(r"^\| split \| done \| \d+\.\d s \| 3: s3://bucket/art/S9/part_1\.txt, "
                     r"s3://bucket/art/S9/part_2\.txt, s3://bucket/art/S9/note\.md \|  \|$", summary.data, re.M)
    assert re.search(r"^\| count \| done \| \d+\.\d s \| 1: s3://bucket/art/S9/n\.txt \|", summary.data, re.M)
    split = by_key["pipeline-split"]
    assert split.type == "markdown"
    assert split.task_run_id == next(t.id for t in task_runs if t.name == "split")
    text = split.data
    assert "### Step `split`: done" in text
    # the local executor ignores the step's image: the report says where the commands ran
    assert "| image | none: executor local runs the commands in the host shell |" in text
    assert "| exit code | 0 |" in text
    assert 'echo "S9 | ok" > note.md' in text  # the command as run, job data substituted
    assert "| parts | s3://bucket/art/S9/part_1.txt |" in text
    assert "| parts | s3://bucket/art/S9/part_2.txt |" in text
    assert "| note | s3://bucket/art/S9/note.md |" in text
    count = by_key["pipeline-count"].data
    assert "| parts | s3://bucket/art/S9/part_*.txt |" in count  # inputs, as URIs
    assert "| n | s3://bucket/art/S9/n.txt |" in count


@pytest.mark.usefixtures("prefect_harness")
def test_a_failed_step_still_has_its_artifact_with_exit_code_and_error(pipeline, tmp_path):
    state = run_workflow(workflow=str(pipeline), job_file=str(tmp_path / "failing.json"),
                         storage=str(tmp_path / "s"), return_state=True)
    assert state.is_failed()
    _, artifacts, _ = _read(state.state_details.flow_run_id)
    count = next(a for a in artifacts if a.key == "pipeline-count").data
    assert "### Step `count`: failed" in count
    assert "| exit code | 7 |" in count
    assert "command exited with code 7" in count
    assert "| n | s3://bucket/art/F1/n.txt |" in count  # outputs are uploaded after a failure too
    summary = next(a for a in artifacts if a.key == "pipeline-summary").data
    assert "# Workflow pipeline: Failed" in summary and "| steps | 1 done, 1 failed |" in summary
    # the failed step's row shows what it uploaded before failing, and why it failed
    assert re.search(r"^\| count \| failed \| \d+\.\d s \| [^|]*s3://bucket/art/F1/n\.txt[^|]* \| .*command exited with code 7",
                     summary, re.M), summary


def test_s3_outputs_link_to_the_console_one_link_per_output(s3_repo):
    from prefect_aws import AwsCredentials

    from blocks.s3 import S3Repository

    report = StepReport("qc", "count", outputs={
        "stats": ["s3://lab-bucket/runs/S1/stats.json"],
        "counts": ["s3://lab-bucket/runs/S1/counts_00.txt", "s3://lab-bucket/runs/S1/counts_01.txt"],
        "none": []})
    aws = S3Repository(credentials=AwsCredentials(region_name="eu-central-1"))
    assert output_links(report, aws) == [
        ("qc-count-stats",
         "https://s3.console.aws.amazon.com/s3/object/lab-bucket?region=eu-central-1&prefix=runs/S1/stats.json",
         "s3://lab-bucket/runs/S1/stats.json"),
        ("qc-count-counts",
         "https://s3.console.aws.amazon.com/s3/buckets/lab-bucket?region=eu-central-1&prefix=runs/S1/",
         "2 files in s3://lab-bucket/runs/S1/"),
    ]
    endpoint = s3_repo.credentials.aws_client_parameters.endpoint_url
    assert output_links(report, s3_repo)[0][1] == f"{endpoint}/lab-bucket/runs/S1/stats.json"


def test_markdown_escapes_table_cells_and_fences():
    report = StepReport("wf", "s", command="echo '```' | tr a b", inputs={"x|y": "s3://b/k|1"}, exit_code=3)
    text = render_markdown(report)
    assert "| x\\|y | s3://b/k\\|1 |" in text
    assert "````sh\necho '```' | tr a b\n````" in text
    assert "### Step `s`: failed" in text and "| exit code | 3 |" in text


def test_the_image_is_shown_for_container_executors_and_a_stopped_step_is_cancelled_not_failed():
    from prefect.exceptions import TerminationSignal

    from tasks.bclaw.artifacts import is_cancellation

    report = StepReport("wf", "s", image="docker.io/library/alpine:3", executor="docker", error="stopped")
    assert "| image | docker.io/library/alpine:3 |" in render_markdown(report)
    assert "### Step `s`: failed" in render_markdown(report)
    report.cancelled = True
    assert "### Step `s`: cancelled" in render_markdown(report)
    assert is_cancellation(TerminationSignal(15)) and is_cancellation(KeyboardInterrupt())
    assert not is_cancellation(RuntimeError("command exited with code 1"))


def test_outside_a_prefect_run_nothing_is_published():
    assert publish_step_report(StepReport("wf", "s")) is False


@pytest.mark.usefixtures("prefect_harness")
def test_outputs_on_s3_get_link_artifacts_in_the_run(s3_repo, versioned_bucket, tmp_path):
    from prefect import flow

    from flows.workflow import run_loaded_workflow
    from specs.workflow.model import load_workflow

    wf_file = tmp_path / "links.yaml"
    wf_file.write_text(f"Repository: s3://{versioned_bucket}/runs/${{job.id}}\nSteps:\n"
                       "  - make:\n      commands: ['echo 1 > one.txt', 'echo 2 > two_a.txt', 'echo 3 > two_b.txt']\n"
                       "      outputs: {one: one.txt, two: 'two_*.txt'}\n")

    @flow(name="links-on-s3")
    def on_s3():
        return run_loaded_workflow(load_workflow(wf_file), {"id": "L1"}, job_file=None, repo=s3_repo)

    state = on_s3(return_state=True)
    assert state.is_completed()
    _, artifacts, _ = _read(state.state_details.flow_run_id)
    links = {a.key: a.data for a in artifacts if a.key != "links-make"}  # Prefect stores links as markdown
    endpoint = s3_repo.credentials.aws_client_parameters.endpoint_url
    assert links == {
        "links-make-one": f"[s3://{versioned_bucket}/runs/L1/one.txt]({endpoint}/{versioned_bucket}/runs/L1/one.txt)",
        "links-make-two": f"[2 files in s3://{versioned_bucket}/runs/L1/]({endpoint}/{versioned_bucket}/runs/L1/)",
    }
    assert s3_repo.read_text(f"s3://{versioned_bucket}/runs/L1/one.txt") == "1\n"
