"""Conformance with BayerCLAW's ``bclaw_runner/tests/test_repo.py`` (the runner's repository:
globs, inputs, outputs, skip checks, run markers), against S3 (moto's server over HTTP).

Upstream has 33 tests; 31 are ported; 2 skipped as AWS plumbing (test_repository and test_to_uri
check the runner's Repository object's bucket/prefix split; labflows keeps the URI). Where upstream
calls private helpers (_inputerator, _outputerator, _upload_that, _download_this) the same
behaviour is asserted through labflows' public staging functions.
Deliberate (docs/compatibility.md): an output name that matches no file is a warning in both, but
labflows never uploads an absolute path outside the workspace (upstream's _upload_that test does).
"""

from __future__ import annotations

import json
import logging
import uuid
from types import SimpleNamespace

import boto3
import pytest

from blocks.repository import has_glob
from specs.workflow.model import Options
from specs.workflow.step_parts import OutputSpec
from tasks.bclaw.command_step import should_skip
from tasks.bclaw.context import RunContext
from tasks.bclaw.staging import MissingInputError, download_inputs, input_uri, upload_outputs

SUFFIX = uuid.uuid4().hex[:8]
TB, DB = f"test-bucket-{SUFFIX}", f"different-bucket-{SUFFIX}"
REPO = f"s3://{TB}/repo/path"


@pytest.fixture(scope="module")
def s3(moto_endpoint):
    """The two buckets of upstream's ``mock_buckets``, and an S3Repository on the moto server."""
    from prefect_aws import AwsCredentials
    from prefect_aws.client_parameters import AwsClientParameters

    from blocks.s3 import S3Repository

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    for bucket, objects in {
        TB: {"repo/path/_JOB_DATA_": json.dumps({"job": "data"}), "repo/path/file1": "file one",
             "repo/path/file2": "file two", "repo/path/file3": "file three", "repo/path/other_file": "other file",
             "repo/path/_control_/test_step.complete": ""},
        DB: {"different/path/different_file": "different file", "no_folder_file1": "no folder file 1",
             "no_folder_file2": "no folder file 2"},
    }.items():
        client.create_bucket(Bucket=bucket)
        for key, body in objects.items():
            client.put_object(Bucket=bucket, Key=key, Body=body.encode())
    repo = S3Repository(credentials=AwsCredentials(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=moto_endpoint)))
    return SimpleNamespace(repo=repo, client=client)


def ctx_for(s3, repo_uri: str = REPO) -> RunContext:
    return RunContext(repo=s3.repo, repo_uri=repo_uri, workflow_name="wf", options=Options())


@pytest.mark.parametrize("path, expect", [
    ("st*r", True), ("/question/mark?", True), ("/character/[set]", True), ("/not/a/glob", False)])
def test_is_glob(path, expect):
    """upstream: bclaw_runner/tests/test_repo.py::test_is_glob"""
    assert has_glob(path) is expect


@pytest.mark.parametrize("glob, expect", [
    ("file*", ["file1", "file2", "file3"]), ("file?", ["file1", "file2", "file3"]),
    ("file[12]", ["file1", "file2"]), ("*file*", ["file1", "file2", "file3", "other_file"]),
    ("nothing*", []), ("file1", ["file1"]),
])
def test_expand_s3_glob(s3, glob, expect):
    """upstream: bclaw_runner/tests/test_repo.py::test_expand_s3_glob"""
    assert s3.repo.glob(f"{REPO}/{glob}") == [f"{REPO}/{x}" for x in expect]


@pytest.mark.parametrize("glob, expect", [
    ("no_folder_file*", ["no_folder_file1", "no_folder_file2"]), ("no_folder_file1", ["no_folder_file1"]),
    ("*", ["different/path/different_file", "no_folder_file1", "no_folder_file2"]),
    ("[lmnop]*", ["no_folder_file1", "no_folder_file2"]), ("?iffer*", ["different/path/different_file"]),
    ("qwerty*", []),
])
def test_expand_s3_glob_no_folder(s3, glob, expect):
    """upstream: bclaw_runner/tests/test_repo.py::test_expand_s3_glob_no_folder (``*`` crosses ``/``)."""
    assert s3.repo.glob(f"s3://{DB}/{glob}") == [f"s3://{DB}/{x}" for x in expect]


def test_qualify():
    """upstream: bclaw_runner/tests/test_repo.py::test_qualify (names go to the repository top level)."""
    assert input_uri("file1", REPO) == f"{REPO}/file1"
    assert input_uri("subdir/file3", REPO) == f"{REPO}/file3"
    assert input_uri(f"s3://{DB}/x/y", REPO) == f"s3://{DB}/x/y"


def test_read_job_data(s3):
    """upstream: bclaw_runner/tests/test_repo.py::test_read_job_data"""
    assert ctx_for(s3).read_job_data() == {"job": "data"}


@pytest.mark.parametrize("key, expect", [("repo/path/file1", True), ("repo/path/file99", False)])
def test_s3_file_exists(s3, key, expect):
    """upstream: bclaw_runner/tests/test_repo.py::test_s3_file_exists"""
    assert s3.repo.exists(f"s3://{TB}/{key}") is expect


def outputs(**names: str) -> dict[str, OutputSpec]:
    return {sym: OutputSpec(name=name) for sym, name in names.items()}


@pytest.mark.parametrize("files, expect_skip", [
    (["file1", "file2", "subdir/file3"], True), (["file1", "file99", "subdir/file3"], False),
    (["file1", "file*", "subdir/file3"], False), ([], True),
])
def test_check_files_exist(s3, files, expect_skip):
    """upstream: bclaw_runner/tests/test_repo.py::test_check_files_exist (skip_if_output_exists)."""
    step = SimpleNamespace(name="test_step", skip_on_rerun=False, skip_if_output_exists=True,
                           outputs=outputs(**{f"o{i}": f for i, f in enumerate(files)}))
    assert should_skip(step, ctx_for(s3)) is expect_skip


def test_inputerator(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_inputerator (globs and other buckets)."""
    download_inputs(s3.repo, {"files": f"{REPO}/file*", "different_file": f"s3://{DB}/different/path/different_file"},
                    REPO, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["different_file", "file1", "file2", "file3"]


@pytest.mark.parametrize("spec, expected_files", [
    ({"f": "file*"}, ["file1", "file2", "file3"]), ({"f?": "file?"}, ["file1", "file2", "file3"]),
    ({"f": "file[12]"}, ["file1", "file2"]), ({"f?": "*file*"}, ["file1", "file2", "file3", "other_file"]),
    ({"f?": "nothing*"}, []),
])
def test_inputerator_glob_expansion(s3, tmp_path, spec, expected_files):
    """upstream: bclaw_runner/tests/test_repo.py::test_inputerator_glob_expansion"""
    download_inputs(s3.repo, spec, REPO, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == expected_files


@pytest.mark.parametrize("spec", [{"f": "missing"}, {"f": "missing*"}])
def test_inputerator_fail(s3, tmp_path, spec):
    """upstream: bclaw_runner/tests/test_repo.py::test_inputerator_fail"""
    with pytest.raises(FileNotFoundError):
        download_inputs(s3.repo, spec, REPO, tmp_path)


def test_download_this(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_download_this"""
    download_inputs(s3.repo, {"x": f"{REPO}/file1"}, REPO, tmp_path)
    assert (tmp_path / "file1").read_text() == "file one"


def test_download_this_missing_file(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_download_this_missing_file"""
    with pytest.raises(MissingInputError, match=f"{REPO}/file99"):
        download_inputs(s3.repo, {"x": f"{REPO}/file99"}, REPO, tmp_path)


INPUTS = {"files": "file*", "other_file": "other_file", "different_file": f"s3://{DB}/different/path/different_file"}


def test_download_inputs(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_download_inputs"""
    result = download_inputs(s3.repo, INPUTS, REPO, tmp_path)
    assert result == {"files": "file*", "other_file": "other_file", "different_file": "different_file"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["different_file", "file1", "file2", "file3", "other_file"]


def test_download_inputs_missing_required_file(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_download_inputs_missing_required_file"""
    with pytest.raises(FileNotFoundError):
        download_inputs(s3.repo, {**INPUTS, "missing_file": f"s3://{DB}/missing_path/missing_file"}, REPO, tmp_path)


def test_download_inputs_missing_optional_file(s3, tmp_path, caplog):
    """upstream: bclaw_runner/tests/test_repo.py::test_download_inputs_missing_optional_file"""
    missing = f"s3://{DB}/missing_path/missing_file"
    with caplog.at_level(logging.WARNING):
        result = download_inputs(s3.repo, {**INPUTS, "missing_file?": missing}, REPO, tmp_path)
    assert result == {"files": "file*", "other_file": "other_file", "different_file": "different_file",
                      "missing_file": "missing_file"}
    assert f"optional file not found: {missing}; skipping" in caplog.text
    assert not (tmp_path / "missing_file").exists() and (tmp_path / "file3").exists()


def test_download_inputs_empty_inputs(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_download_inputs_empty_inputs"""
    assert download_inputs(s3.repo, {}, REPO, tmp_path) == {}


def keys(s3, bucket: str, prefix: str) -> list[str]:
    listing = s3.client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_outputerator(s3, tmp_path, caplog):
    """upstream: bclaw_runner/tests/test_repo.py::test_outputerator (globs; a pattern matching
    nothing is a warning)."""
    for name in "output1 output2 output3 other_thing ignore_me".split():
        (tmp_path / name).write_text(name)
    spec = {"outputs": OutputSpec(name="output*", s3_tags={"tag1": "value1"}),
            "other_thing!": OutputSpec(name="other_thing", s3_tags={"tag2": "value2"}),
            "non_thing": OutputSpec(name="non_thing*", s3_tags={"tag3": "value3"})}
    repo_uri = f"s3://{TB}/outputerator"
    with caplog.at_level(logging.WARNING):
        uploaded = upload_outputs(s3.repo, spec, repo_uri, tmp_path)
    assert {u.symbol: [x.rsplit("/", 1)[1] for x in u.uris] for u in uploaded} == {
        "outputs": ["output1", "output2", "output3"], "other_thing!": ["other_thing"], "non_thing": []}
    assert "no file matches non_thing*" in caplog.text
    assert s3.repo.get_tags(f"{repo_uri}/output2") == {"tag1": "value1"}
    assert s3.repo.get_tags(f"{repo_uri}/other_thing") == {"tag2": "value2"}


def test_outputerator_recursive_glob(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_outputerator_recursive_glob"""
    for target in (tmp_path / "dir1/dir2/dir3/file1.txt", tmp_path / "dir4/dir5/file2.txt"):
        target.parent.mkdir(parents=True)
        target.write_text("foo")
    repo_uri = f"s3://{TB}/recursive"
    upload_outputs(s3.repo, {"files": OutputSpec(name="dir*/**/file*.txt")}, repo_uri, tmp_path)
    assert keys(s3, TB, "recursive/") == ["recursive/file1.txt", "recursive/file2.txt"]


def test_upload_that(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_that (file tags over global tags;
    execution id as metadata)."""
    (tmp_path / "output1").write_text("target file\n")
    repo_uri = f"s3://{TB}/upload-that"
    upload_outputs(s3.repo, {"sym_name": OutputSpec(name="output1", s3_tags={"tag1": "value1", "tag3": "value3"})},
                   repo_uri, tmp_path, base_tags={"tag1": "valueX", "tag2": "valueY"},
                   metadata={"execution_id": "ELVISLIVES"})
    head = s3.client.get_object(Bucket=TB, Key="upload-that/output1")
    assert head["Body"].read() == b"target file\n"
    assert head["Metadata"] == {"execution_id": "ELVISLIVES"}
    assert s3.repo.get_tags(f"{repo_uri}/output1") == {"tag1": "value1", "tag2": "valueY", "tag3": "value3"}


def test_upload_that_with_destination(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_that_with_destination"""
    (tmp_path / "output1").write_text("target file\n")
    upload_outputs(s3.repo, {"sym_name": OutputSpec(name="output1", dest=f"s3://{DB}/alternate/path/")},
                   REPO, tmp_path)
    assert s3.client.get_object(Bucket=DB, Key="alternate/path/output1")["Body"].read() == b"target file\n"


def test_upload_that_missing_file(s3, tmp_path, caplog):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_that_missing_file (the runner never
    reaches _upload_that for a missing file: the outputerator warns; so does labflows)."""
    with caplog.at_level(logging.WARNING):
        assert upload_outputs(s3.repo, {"sym_name": OutputSpec(name="missing")}, REPO, tmp_path)[0].uris == []
    assert "no file matches missing" in caplog.text


def test_upload_that_fail(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_that_fail (no such bucket)."""
    (tmp_path / "outputx").write_text("target file\n")
    with pytest.raises(Exception, match="(?i)bucket"):
        upload_outputs(s3.repo, {"sym_name": OutputSpec(name="outputx")}, f"s3://unbucket-{SUFFIX}/repo/path", tmp_path)


def test_upload_outputs(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_outputs"""
    for name in "output1 output2 output3 other_output".split():
        (tmp_path / name).write_text(name)
    spec = {"outputs": OutputSpec(name="output*", s3_tags={"tag1": "value1"}),
            "other_thing!": OutputSpec(name="other_output", s3_tags={"tag2": "value2"}),
            "non_thing": OutputSpec(name="missing_file")}
    upload_outputs(s3.repo, spec, f"s3://{TB}/repo_two/path", tmp_path)
    assert keys(s3, TB, "repo_two/path") == sorted(f"repo_two/path/{n}" for n in
                                                   ("output1", "output2", "output3", "other_output"))


def test_upload_outputs_fail(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_outputs_fail"""
    for name in ("output1", "output2"):
        (tmp_path / name).write_text(name)
    with pytest.raises(Exception, match="(?i)bucket"):
        upload_outputs(s3.repo, {"outputs": OutputSpec(name="output*")}, f"s3://unbucket-{SUFFIX}/repo_x/path",
                       tmp_path)


def test_upload_outputs_empty_outputs(s3, tmp_path):
    """upstream: bclaw_runner/tests/test_repo.py::test_upload_outputs_empty_outputs"""
    assert upload_outputs(s3.repo, {}, REPO, tmp_path, base_tags={"tag1": "value1"}) == []


@pytest.mark.parametrize("step_name, expect_skip", [("test_step", True), ("non_step", False)])
def test_check_for_previous_run(s3, step_name, expect_skip):
    """upstream: bclaw_runner/tests/test_repo.py::test_check_for_previous_run (skip_on_rerun marker)."""
    step = SimpleNamespace(name=step_name, skip_on_rerun=True, skip_if_output_exists=False, outputs={})
    assert should_skip(step, ctx_for(s3)) is expect_skip


class FailingRepository:
    def exists(self, uri: str) -> bool:
        raise RuntimeError("failed")


def test_check_for_previous_run_fail(caplog):
    """upstream: bclaw_runner/tests/test_repo.py::test_check_for_previous_run_fail (a failing check
    runs the step, with a warning)."""
    step = SimpleNamespace(name="nothing", skip_on_rerun=True, skip_if_output_exists=False, outputs={})
    ctx = RunContext(repo=FailingRepository(), repo_uri=REPO,  # type: ignore[arg-type]
                     workflow_name="wf", options=Options())
    with caplog.at_level(logging.WARNING):
        assert should_skip(step, ctx) is False
    assert "skip check failed" in caplog.text


def test_run_status_markers(s3):
    """upstream: bclaw_runner/tests/test_repo.py::test_clear_run_status, test_clear_run_status_fail,
    test_put_run_status, test_put_run_status_fail: the marker is ``<repo>/_control_/<step>.complete``."""
    ctx = ctx_for(s3)
    assert ctx.marker_uri("test_step") == f"{REPO}/_control_/test_step.complete"
    s3.repo.write_text(ctx.marker_uri("un_step"), "")
    assert s3.repo.exists(ctx.marker_uri("un_step"))
    s3.repo.delete(ctx.marker_uri("un_step"))
    s3.repo.delete(ctx.marker_uri("never_written"))  # clearing a marker that is not there is fine
    assert not s3.repo.exists(ctx.marker_uri("un_step"))
