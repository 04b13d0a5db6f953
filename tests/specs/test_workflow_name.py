"""A workflow's name: the file's stem, or its folder's name for a generic file name."""

import pytest

from specs.workflow.model import load_workflow, workflow_name


@pytest.mark.parametrize("path,name", [
    ("examples/qc/workflow.yaml", "qc"), ("rnaseq/pipeline.yml", "rnaseq"), ("a/wf.yaml", "a"),
    ("a/align.yaml", "align"), ("workflow.yaml", "workflow"), ("/abs/x/main.yaml", "x"),
])
def test_workflow_name(path, name):
    assert workflow_name(path) == name


def test_loaded_workflow_is_named_after_its_folder(tmp_path):
    (tmp_path / "hello").mkdir()
    wf = tmp_path / "hello" / "workflow.yaml"
    wf.write_text("Repository: s3://b/r\nSteps:\n  - one:\n      commands: [echo hi]\n")
    assert load_workflow(wf).name == "hello"
