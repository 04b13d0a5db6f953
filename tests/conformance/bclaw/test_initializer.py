"""Conformance with BayerCLAW's ``lambda/tests/initializer/test_initializer.py`` (the repository
template, ``_JOB_DATA_``, the job file copied into the repository).

Upstream has 8 tests: 6 ported (test_check_recursive_launch through the launcher's check_job,
where labflows keeps that rule); 2 skipped as AWS plumbing (test_read_s3_object reads an S3 object
version through boto3; test_lambda_handler_subpipe_execution passes a Step Functions input object
through).
"""

import json

import pytest

from tasks.bclaw.initialize import JobDataError, initialize_repository, render_repository

SPEC = {"one": "wun", "two": 2, "three": "", "four": False}


@pytest.mark.parametrize("name, expect", [("one", "wun"), ("two", "2"), ("three", ""), ("four", "False")])
def test_lookup(name, expect):
    """upstream: lambda/tests/initializer/test_initializer.py::test_lookup"""
    assert render_repository("s3://b/x${job." + name + "}", SPEC) == f"s3://b/x{expect}"


def test_lookup_fail():
    """upstream: lambda/tests/initializer/test_initializer.py::test_lookup_fail"""
    with pytest.raises(JobDataError, match="'unfield'"):
        render_repository("s3://b/${job.unfield}", {"nothing": "here"})


def test_substitute_job_data():
    """upstream: lambda/tests/initializer/test_initializer.py::test_substitute_job_data (JMESPath,
    ``${!job.x}``, falsy values)."""
    target = "s3://${job.bucket}/${!job.path1}/${job.path2.path3}/${job.path4[0]}/${job.path5}"
    job = {"bucket": "bucket-name", "path1": "path-one",
           "path2": {"path3": "path-two-three", "pathx": "don't go there"},
           "path4": ["path-four", "don't go here either"], "path5": False}
    assert render_repository(target, job) == "s3://bucket-name/path-one/path-two-three/path-four/False"
    with pytest.raises(JobDataError, match="'path99'"):
        render_repository("s3://${job.bucket}/${job.path99}/", job)


def test_jmespath_beyond_upstreams_examples():
    """README: ``${job.x}`` is JMESPath everywhere, Repository included."""
    job = {"runs": [{"id": "r1"}, {"id": "r2"}], "meta": {"tags": ["a", "b"]}}
    assert render_repository("s3://b/${job.runs[-1].id}/${job.meta.tags[1]}", job) == "s3://b/r2/b"
    assert render_repository("s3://b/${job.length(runs)}", job) == "s3://b/2"


def test_a_rendered_repository_stays_in_its_bucket():
    """labflows: a job value cannot move the repository out of its bucket (upstream has no check)."""
    with pytest.raises(JobDataError):
        render_repository("s3://b/${job.x}", {"x": "../../elsewhere"})


def test_write_extended_job_data_object(repo):
    """upstream: lambda/tests/initializer/test_initializer.py::test_write_extended_job_data_object"""
    initialize_repository(repo, "s3://test-bucket/path/to/test/repo", {"elvis": "lives"}, None)
    data = json.loads(repo.read_text("s3://test-bucket/path/to/test/repo/_JOB_DATA_"))
    assert data == {"job": {"elvis": "lives"}, "scatter": {}, "parent": {}}


def test_lambda_handler(repo, tmp_path):
    """upstream: lambda/tests/initializer/test_initializer.py::test_lambda_handler (repository from
    the template, _JOB_DATA_ written, the job file copied in)."""
    job = {"name": "testJob", "other_stuff": ["yada", "yada"]}
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    uri = render_repository("s3://repo-bucket/path/to/repo/${job.name}", job)
    assert uri == "s3://repo-bucket/path/to/repo/testJob"
    initialize_repository(repo, uri, job, str(job_file))
    assert json.loads(repo.read_text(f"{uri}/_JOB_DATA_")) == {"job": job, "scatter": {}, "parent": {}}
    assert json.loads(repo.read_text(f"{uri}/job.json")) == job


@pytest.mark.parametrize("repo_bucket, repo_path, expect_fail", [
    ("repo-bucket", "any/path", False),
    ("launcher-bucket", "different/path", False),
    ("launcher-bucket", "launcher_like/path", False),
    ("launcher-bucket", "laun/cher_like/path", False),
    ("launcher-bucket", "launcher", True),
    ("launcher-bucket", "launcher/path", True),
    ("launcher-bucket", "launcher/different/sub/path", True),
])
def test_check_recursive_launch(tmp_path, repo, repo_bucket, repo_path, expect_fail):
    """upstream: lambda/tests/initializer/test_initializer.py::test_check_recursive_launch (a job
    file in the launcher folder ``launcher/`` may not run in a repository inside that folder)."""
    from tasks.launcher.names import parse_job_key
    from tasks.launcher.router import JobFile, JobRejected, LauncherSetup, check_job
    from tasks.runtime.repo_ops import FileVersion

    workflow = tmp_path / "wf.yaml"
    workflow.write_text(f"Repository: s3://{repo_bucket}/{repo_path}\nSteps:\n  - a:\n      commands: ['true']\n")
    setup = LauncherSetup(launcher_repo=repo, prefix="s3://launcher-bucket/launcher/", run_repo=repo,
                          workflows={"wf": str(workflow)})
    key = parse_job_key("wf/path/job.json")
    job = JobFile("s3://launcher-bucket/launcher/wf/path/job.json", "wf/path/job.json", key, FileVersion("1", "1"))
    if expect_fail:
        with pytest.raises(JobRejected, match="inside the launcher folder"):
            check_job(setup, job, b"{}")
    else:
        assert check_job(setup, job, b"{}")[2] == f"s3://{repo_bucket}/{repo_path}"
