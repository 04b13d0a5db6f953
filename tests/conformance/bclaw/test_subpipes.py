"""Conformance with BayerCLAW's ``lambda/tests/subpipes/test_subpipes.py`` (subpipe steps: the
sub-repository, its job data, ``submit`` and ``retrieve`` copies).

Upstream has 5 tests; all 5 are ported (0 AWS plumbing skipped), as two real runs (a parent
workflow with a subpipe step) on the session's Prefect server.
"""

import json

import pytest

from specs.workflow.step_parts import Retrieve
from tests.bclaw.scatter.conftest import run_flow, storage, write_file  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.usefixtures("prefect_harness")

CHILD = """
Repository: s3://elsewhere/${job.key9}
Steps:
  - child:
      inputs: {a: fileA.txt, b: file2.txt, c: value2.txt, d: value3.txt}
      commands:
        - cat ${a} ${b} ${c} ${d} > eh.txt
        - echo bee > bee.txt
      outputs: {eh: eh.txt, bee: bee.txt}
"""

PARENT = """
Repository: s3://bkt/repo
Steps:
  - prep:
      commands: |
        printf 'file one' > file1.txt
        printf 'file two' > file2.txt
        printf 'value one' > value1.txt
        printf 'value three' > value3.txt
        echo '{"key9": "value9", "key8": "value8", "key7": "value7"}' > alt.json
      outputs: {f1: file1.txt, f2: file2.txt, v1: value1.txt, v3: value3.txt, alt: alt.json}
  - subpipe:
      subpipe: child.yaml
      job_data: JOB_DATA_FIELD
      submit:
        - file1.txt -> fileA.txt
        - file2.txt
        - ${job.key1}.txt -> ${job.key2}.txt
        - ${job.key3}.txt
      retrieve:
        - eh.txt -> file_eh.txt
        - bee.txt
"""

JOB = {"key1": "value1", "key2": "value2", "key3": "value3", "key9": "from-job"}


@pytest.mark.parametrize("src, dst, spec", [
    ("file1.txt", "file_one.txt", "file1.txt -> file_one.txt"),
    ("file2.txt", "file2.txt", "file2.txt"),
    ("a", "b", "a->b"),  # upstream splits on \\s*->\\s*
])
def test_copy_file_impl(src, dst, spec):
    """upstream: lambda/tests/subpipes/test_subpipes.py::test_copy_file_impl"""
    assert Retrieve.model_validate(Retrieve.coerce(spec)).model_dump() == {"src": src, "dst": dst}


@pytest.mark.parametrize("job_data_field, child_job", [
    (None, JOB),
    ("alt.json", {"key9": "value9", "key8": "value8", "key7": "value7"}),
])
def test_lambda_handler_submit_and_retrieve(run_flow, storage, write_file, job_data_field, child_job):  # noqa: F811
    """upstream: lambda/tests/subpipes/test_subpipes.py::test_lambda_handler_submit (submit copies
    into <repo>/<step>, job data from the file or the parent's job) and ::test_lambda_handler_retrieve."""
    write_file("child.yaml", CHILD)
    parent = PARENT.replace("JOB_DATA_FIELD", job_data_field) if job_data_field else \
        PARENT.replace("      job_data: JOB_DATA_FIELD\n", "")
    state = run_flow(parent, JOB, name=f"parent-{job_data_field or 'job'}")
    assert state.is_completed(), state.message
    sub = storage / "bkt/repo/subpipe"
    assert (sub / "fileA.txt").read_text() == "file one"
    assert (sub / "file2.txt").read_text() == "file two"
    assert (sub / "value2.txt").read_text() == "value one"
    assert (sub / "value3.txt").read_text() == "value three"
    assert json.loads((sub / "_JOB_DATA_").read_text()) == {"job": child_job, "parent": {}, "scatter": {}}
    assert (storage / "bkt/repo/file_eh.txt").read_text() == "file onefile twovalue onevalue three"
    assert (storage / "bkt/repo/bee.txt").read_text() == "bee\n"


def test_lambda_handler_submit_and_retrieve_no_files(run_flow, storage, write_file):  # noqa: F811
    """upstream: lambda/tests/subpipes/test_subpipes.py::test_lambda_handler_submit_no_files and
    ::test_lambda_handler_retrieve_no_files (nothing to copy: only the sub-repository's job data)."""
    write_file("child.yaml", "Repository: s3://x/y\nSteps:\n  - c:\n      commands: ['true']\n")
    state = run_flow("Repository: s3://bkt/none\nSteps:\n  - subpipe:\n      subpipe: child.yaml\n", JOB, name="none")
    assert state.is_completed(), state.message
    sub = storage / "bkt/none/subpipe"
    assert json.loads((sub / "_JOB_DATA_").read_text())["job"] == JOB
    assert sorted(p.name for p in (storage / "bkt/none").iterdir() if p.is_file()) == ["_JOB_DATA_", "none-job.json"]


def test_a_missing_submit_file_fails_the_step_naming_it(run_flow, write_file):  # noqa: F811
    write_file("child.yaml", CHILD)
    parent = PARENT.replace("      job_data: JOB_DATA_FIELD\n", "")
    parent = parent.replace("        - file2.txt\n", "        - nope.txt\n")
    state = run_flow(parent, JOB, name="missing")
    assert state.is_failed()
    assert "step subpipe: submit: the parent workflow wrote no s3://bkt/repo/nope.txt" in \
        str(state.result(raise_on_failure=False))


def test_validate_gives_a_deprecation_notice_for_submit(tmp_path):
    """upstream: submit is deprecated (doc/subpipes.md); labflows still performs it and says so."""
    from specs.workflow.model import load_workflow
    from specs.workflow.notices import workflow_notices

    wf = tmp_path / "wf.yaml"
    wf.write_text("Repository: s3://b/r\nSteps:\n  - sub:\n      subpipe: c.yaml\n      submit: [a.txt -> b.txt]\n")
    assert workflow_notices(load_workflow(wf)) == [
        "notice: step sub: submit is deprecated in BayerCLAW; its files are still copied into the subpipe's repository"]
