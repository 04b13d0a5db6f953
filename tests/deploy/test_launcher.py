"""The launcher against the session's Prefect server: one flow run per job file version, also with
launchers racing or crashing half-way; unusable job files moved aside with a note; S3 claims."""

from __future__ import annotations

import contextvars
import json
import re
import threading
from pathlib import Path

import pytest

from tasks.launcher.router import (
    RECORDS_DIR,
    find_new_job_files,
    launch_job_file,
    record_uri,
    run_launcher,
    start_run,
)
from tasks.runtime.repo_ops import create_exclusive, file_version

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _in_threads(*targets):
    """Run each callable in its own thread with a copy of this context (the harness's settings)."""
    results: list = [None] * len(targets)
    errors: list = []

    def runner(i, fn):
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(runner, i, fn))
               for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    return results


def test_each_job_file_starts_one_named_tagged_run_and_a_second_pass_starts_none(
        make_setup, drop_job, runs_of, workflow_deployment, launch_dir, tmp_path):
    drop_job("echo/batch 1/sample_A.json", '{"id": "A"}')
    drop_job("echo/sample_B.yaml", "id: B\n")
    setup = make_setup()
    job_a = find_job(setup, "sample_A")

    first = run_launcher(setup)
    assert sorted(o.status for o in first) == ["launched", "launched"]
    runs = {r.name: r for r in runs_of(workflow_deployment)}
    assert len(runs) == 2
    run_a = runs[f"batch-1-sample-A_{job_a.version.name_part[:8]}"]
    assert any(name.startswith("sample-B_") for name in runs)
    assert {"launcher", "workflow:echo"} <= set(run_a.tags)
    assert run_a.parameters["job"] == {"id": "A"}
    assert run_a.parameters["workflow"] == str(tmp_path / "workflows" / "echo.yaml")
    assert run_a.parameters["run_name"] == run_a.name
    assert run_a.parameters["storage"] == str(tmp_path / "storage")
    # the job file is copied into the run's repository, as BayerCLAW's initializer does
    assert (tmp_path / "storage/runs/echo/A/sample_A.json").read_text() == '{"id": "A"}'
    record = json.loads(Path(record_uri(setup.prefix, job_a)).read_text())
    assert record["flow_run_id"] == str(run_a.id)

    assert run_launcher(make_setup()) == []
    assert len(runs_of(workflow_deployment)) == 2


def find_job(setup, fragment):
    """The new job file whose URI contains ``fragment``."""
    return next(j for j in find_new_job_files(setup.launcher_repo, setup.prefix) if fragment in j.uri)


def test_two_launchers_racing_on_the_same_files_start_each_run_once(make_setup, drop_job, runs_of,
                                                                     workflow_deployment):
    for i in range(8):
        drop_job(f"echo/job_{i}.json", json.dumps({"id": f"J{i}"}))
    barrier = threading.Barrier(2)

    def racer():
        setup = make_setup()
        jobs = find_new_job_files(setup.launcher_repo, setup.prefix)
        barrier.wait()  # both have listed all eight files before either launches one
        return jobs, [launch_job_file(setup, job) for job in jobs]

    (jobs_1, outcomes_1), (jobs_2, outcomes_2) = _in_threads(racer, racer)
    assert len(jobs_1) == len(jobs_2) == 8
    runs = runs_of(workflow_deployment)
    assert len(runs) == 8
    assert len({r.parameters["job"]["id"] for r in runs}) == 8
    by_file: dict[str, list[str]] = {}
    for outcome in outcomes_1 + outcomes_2:
        by_file.setdefault(outcome.job_file, []).append(outcome.status)
        assert outcome.flow_run_id in {str(r.id) for r in runs}  # both got the same run back
    assert all(sorted(s) == ["launched", "recorded-by-another"] for s in by_file.values()), by_file
    assert run_launcher(make_setup()) == []


def test_a_launcher_that_crashed_after_creating_the_run_is_completed_without_a_second_run(
        make_setup, drop_job, runs_of, workflow_deployment, tmp_path):
    drop_job("echo/crash.json", '{"id": "C"}')
    setup = make_setup()
    job = find_job(setup, "crash")
    created = start_run(setup, job, str(tmp_path / "workflows/echo.yaml"), {"id": "C"})  # then "crash"
    assert not Path(record_uri(setup.prefix, job)).exists()

    outcomes = run_launcher(make_setup())
    assert [(o.status, o.flow_run_id) for o in outcomes] == [("launched", str(created.id))]
    assert [r.id for r in runs_of(workflow_deployment)] == [created.id]
    assert Path(record_uri(setup.prefix, job)).exists()


def test_a_new_version_of_a_job_file_starts_a_new_run(make_setup, drop_job, runs_of, workflow_deployment):
    path = drop_job("echo/again.json", '{"id": "V1"}')
    assert [o.status for o in run_launcher(make_setup())] == ["launched"]
    path.unlink()
    drop_job("echo/again.json", '{"id": "V2"}')  # copied in again: a new version
    assert [o.status for o in run_launcher(make_setup())] == ["launched"]
    runs = runs_of(workflow_deployment)
    assert sorted(r.parameters["job"]["id"] for r in runs) == ["V1", "V2"]
    assert len({r.name for r in runs}) == 2 and all(r.name.startswith("again_") for r in runs)


@pytest.mark.parametrize("rel, text, reason", [
    ("echo/broken.json", '{"id": "X",', "JSON syntax error"),
    ("echo/list.json", "[1, 2]", "job data must be a mapping"),
    ("echo/no-id.json", '{"other": 1}', "job data has no key 'id'"),
    ("nosuch/job.json", '{"id": "N"}', "no workflow named 'nosuch'"),
])
def test_unusable_job_files_are_moved_aside_with_a_note_and_not_retried(
        make_setup, drop_job, runs_of, workflow_deployment, launch_dir, rel, text, reason):
    original = drop_job(rel, text)
    outcomes = run_launcher(make_setup())
    assert [o.status for o in outcomes] == ["rejected"]
    assert reason in outcomes[0].message
    assert not original.exists()
    moved = launch_dir / RECORDS_DIR / "rejected" / rel
    assert moved.read_text() == text
    note = Path(f"{moved}.error.txt").read_text()
    assert str(original) in note and reason in note
    assert run_launcher(make_setup()) == []
    assert runs_of(workflow_deployment) == []


def test_a_broken_workflow_file_leaves_the_job_for_a_later_run_and_fails_the_launcher_flow(
        make_setup, drop_job, runs_of, workflow_deployment, launch_dir, tmp_path):
    from flows.launcher import launcher

    (tmp_path / "workflows" / "broken.yaml").write_text("Steps: [\n")
    job = drop_job("broken/job.json", '{"id": "B"}')
    state = launcher(prefix=str(launch_dir), workflows_dir=str(tmp_path / "workflows"),
                     deployment=workflow_deployment, storage=str(tmp_path / "storage"), return_state=True)
    assert state.is_failed()
    assert "could not be launched" in str(state.result(raise_on_failure=False))
    assert job.exists() and runs_of(workflow_deployment) == []

    (tmp_path / "workflows" / "broken.yaml").write_text("Repository: s3://runs/b/${job.id}\n"
                                                        "Steps:\n  - s:\n      commands: ['true']\n")
    summary = launcher(prefix=str(launch_dir), workflows_dir=str(tmp_path / "workflows"),
                       deployment=workflow_deployment, storage=str(tmp_path / "storage"))
    assert summary["launched"] == 1 and len(runs_of(workflow_deployment)) == 1


def test_workflow_mapping_and_qualifiers(make_setup, drop_job, runs_of, workflow_deployment, tmp_path):
    (tmp_path / "workflows" / "echo").mkdir()
    (tmp_path / "workflows" / "echo" / "v2.yaml").write_text(
        (tmp_path / "workflows" / "echo.yaml").read_text().replace("echo/", "echo-v2/"))
    drop_job("echo:v2/q.json", '{"id": "Q"}')
    drop_job("mapped/m.json", '{"id": "M"}')
    drop_job("echo:current/c.json", '{"id": "C"}')
    outcomes = run_launcher(make_setup(workflows={"mapped": str(tmp_path / "workflows" / "echo.yaml")}))
    assert sorted(o.status for o in outcomes) == ["launched"] * 3
    workflows = {r.parameters["job"]["id"]: r.parameters["workflow"] for r in runs_of(workflow_deployment)}
    assert workflows == {"Q": str(tmp_path / "workflows/echo/v2.yaml"),
                         "M": str(tmp_path / "workflows/echo.yaml"),
                         "C": str(tmp_path / "workflows/echo.yaml")}


# ---- S3 ----------------------------------------------------------------------------------------------
def test_s3_claims_are_conditional_creates(s3_repo, versioned_bucket):
    uri = f"s3://{versioned_bucket}/_launcher_/launched/x.json"
    assert create_exclusive(s3_repo, uri, b"first") is True
    assert create_exclusive(s3_repo, uri, b"second") is False
    assert s3_repo.read_bytes(uri) == b"first"


def test_s3_claims_race_in_threads_with_one_winner(moto_endpoint, versioned_bucket):
    """Four threads claim at once; S3 applies ``If-None-Match: *`` atomically, so one wins. moto
    checks and writes in two steps, so a proxy hands it the racing requests one at a time."""
    from prefect_aws import AwsCredentials
    from prefect_aws.client_parameters import AwsClientParameters

    from blocks.s3 import S3Repository
    from tests.blocks.s3.fault_proxy import FaultProxy

    host, port = moto_endpoint.removeprefix("http://").split(":")
    proxy = FaultProxy(host, int(port), serialize=True).start()
    try:
        repo = S3Repository(credentials=AwsCredentials(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
            aws_client_parameters=AwsClientParameters(endpoint_url=proxy.url)))
        uri = f"s3://{versioned_bucket}/_launcher_/launched/race.json"
        barrier = threading.Barrier(4)

        def claim(i):
            barrier.wait()
            return create_exclusive(repo, uri, str(i).encode())

        results = _in_threads(*[lambda i=i: claim(i) for i in range(4)])
        assert sorted(results) == [False, False, False, True]
        assert proxy.counts["pass"] >= 4  # every claim reached the server
    finally:
        proxy.stop()


def test_s3_launcher_folder_uses_version_ids_for_names_and_records(
        s3_repo, versioned_bucket, make_setup, runs_of, workflow_deployment):
    job_uri = f"s3://{versioned_bucket}/echo/plate 7/well.json"
    s3_repo.write_text(job_uri, '{"id": "S3"}')
    version = file_version(s3_repo, job_uri)
    assert version.token == version.name_part and len(version.token) > 8  # a version ID, not an ETag

    setup = make_setup(launcher_repo=s3_repo, prefix=f"s3://{versioned_bucket}/")
    outcomes = run_launcher(setup)
    assert [(o.status, o.run_name) for o in outcomes] == [("launched", f"plate-7-well_{version.token[:8]}")]
    record_key = f"s3://{versioned_bucket}/{RECORDS_DIR}/launched/echo/plate 7/well.json/{version.token}.json"
    assert json.loads(s3_repo.read_text(record_key))["flow_run_id"] == outcomes[0].flow_run_id
    assert run_launcher(make_setup(launcher_repo=s3_repo, prefix=f"s3://{versioned_bucket}/")) == []

    s3_repo.write_text(job_uri, '{"id": "S3"}')  # re-uploaded: a new version ID, a new run
    assert [o.status for o in run_launcher(setup)] == ["launched"]
    assert len(runs_of(workflow_deployment)) == 2


def test_launch_command_runs_one_pass_and_reports(drop_job, runs_of, workflow_deployment, launch_dir, tmp_path,
                                                   capsys):
    from flows.run import main

    drop_job("echo/cli.json", '{"id": "CLI"}')
    drop_job("echo/bad.json", "{")
    args = ["launch", str(launch_dir), "--workflows-dir", str(tmp_path / "workflows"),
            "--deployment", workflow_deployment, "--storage", str(tmp_path / "storage")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"^launched +cli_[0-9a-f]{8} +\S+/echo/cli\.json$", out, re.M)
    assert re.search(r"^rejected +- +\S+/echo/bad\.json$", out, re.M)
    assert '"launched": 1' in out and '"rejected": 1' in out
    assert [r.parameters["job"] for r in runs_of(workflow_deployment)] == [{"id": "CLI"}]
    assert main(args + ["--workflow", "broken"]) == 2  # NAME=FILE expected


def test_a_rejecting_launcher_run_says_so_and_creates_missing_folders(runs_of, workflow_deployment, launch_dir,
                                                                     tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.launcher import launcher

    # launch_dir (unused) clears the deployment's runs; these folders do not exist yet
    launch, workflows = tmp_path / "fresh" / "launch", tmp_path / "fresh" / "workflows"
    state = launcher(prefix=str(launch), workflows_dir=str(workflows), deployment=workflow_deployment,
                     storage=str(tmp_path / "storage"), return_state=True)
    assert state.is_completed() and not state.message
    assert launch.is_dir() and workflows.is_dir()

    (launch / "nosuch").mkdir()
    (launch / "nosuch" / "j.json").write_text('{"id": "N"}')
    state = launcher(prefix=str(launch), workflows_dir=str(workflows), deployment=workflow_deployment,
                     storage=str(tmp_path / "storage"), return_state=True)
    assert state.is_completed()
    assert state.message.startswith("1 job file(s) rejected and moved to _launcher_/rejected/: ")
    assert "no workflow named 'nosuch'" in state.message and "\n" not in state.message
    assert state.result()["rejected"] == 1
    assert (launch / RECORDS_DIR / "rejected" / "nosuch" / "j.json.error.txt").exists()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["launcher-rejected"])))
    table_row = next(a.data for a in artifacts if a.flow_run_id == state.state_details.flow_run_id)
    assert f"| {launch}/nosuch/j.json | " in table_row and "no workflow named 'nosuch'" in table_row
    assert runs_of(workflow_deployment) == []
