"""Conformance with BayerCLAW's ``bclaw_runner/tests/test_runner_main.py`` (one command step from
start to end: substitution, references, inputs, commands, outputs with tags, marker, failures, skips).

Upstream has 6 tests: 5 ported; 1 skipped as AWS plumbing (test_cli parses the Batch job's
command line and mocks EC2 instance metadata). Also ports
``bclaw_runner/tests/test_workspace.py::test_write_job_data_file``.
"""

import json
import textwrap

import pytest

from blocks.local import LocalRepository
from specs.source import load_yaml_text
from specs.workflow.model import workflow_from_doc
from tasks.bclaw.command_step import CommandFailed, run_command_step
from tasks.bclaw.staging import MissingInputError

from .conftest import REPO

JOB = {"key1": 1, "key2": 2, "img_tag": "test"}


@pytest.fixture
def ctx(make_ctx, put):
    for i in (1, 2, 3):
        put(f"file{i}", f"file {i}")
    put("_control_/step0.complete", "")
    put("s3://repo-bucket/references/reference_file", "reference")
    return make_ctx(JOB, parent={"value": "parent_value"}, scatter={"value": "scatter_value"})


def step(spec: str, options: str = ""):
    body = textwrap.indent(textwrap.dedent(spec), " " * 6)
    wf = workflow_from_doc(load_yaml_text(f"Repository: {REPO}\n{options}Steps:\n  - step1:\n{body}\n", "wf.yaml"))
    return wf.steps[0], wf.options


def objects(repo: LocalRepository) -> set[str]:
    return set(repo.list_uris(REPO + "/"))


MAIN = """
image: fake_image:${job.img_tag}
references: {ref1: s3://repo-bucket/references/reference_file}
inputs: {input1: "file${job.key1}", input2: "file${job.key2}", input3?: file3, input4?: file99}
outputs:
  output1: {name: "outfile${job.key1}", s3_tags: {tag1: "${job.key1}", tag2: "${job.key2}"}}
  output2: {name: "outfile${job.key2}", s3_tags: {tag1: value99}}
  output3: {name: outfile3}
s3_tags: {tag3: "${job.img_tag}"}
commands:
  - ls -1 > ${output1}
  - env | grep '^BC_' | sort > ${output2}
  - echo ${job.key1} > ${output3}
  - echo ${job.key2} >> ${output3}
  - echo ${parent.value} >> ${output3}
  - echo ${scatter.value} >> ${output3}
  - echo '3' >> ${output3}
  - echo ${input4} >> ${output3}
  - cp "$BC_JOB_DATA_FILE" job_data_copy.json
"""


def test_main(ctx, repo):
    """upstream: bclaw_runner/tests/test_runner_main.py::test_main"""
    before = objects(repo)
    the_step, options = step(MAIN, "Options:\n  s3_tags: {tag1: valueA, tag2: valueB}\n")
    ctx.options = options
    result = run_command_step(the_step, ctx)
    assert result.record.status == "done"
    assert objects(repo) - before == {f"{REPO}/outfile1", f"{REPO}/outfile2", f"{REPO}/outfile3",
                                      f"{REPO}/_control_/step1.complete"}
    listing = repo.read_text(f"{REPO}/outfile1").split()
    assert [n for n in listing if not n.startswith("job_data_")] == [
        "_commands.sh", "file1", "file2", "file3", "outfile1", "reference_file"]
    assert any(n.startswith("job_data_") and n.endswith(".json") for n in listing)
    assert "BC_STEP_NAME=step1" in repo.read_text(f"{REPO}/outfile2").splitlines()
    assert repo.read_text(f"{REPO}/outfile3").split() == ["1", "2", "parent_value", "scatter_value", "3", "file99"]
    assert repo.get_tags(f"{REPO}/outfile1") == {"tag1": "1", "tag2": "2", "tag3": "test"}
    assert repo.get_tags(f"{REPO}/outfile2") == {"tag1": "value99", "tag2": "valueB", "tag3": "test"}
    assert repo.get_tags(f"{REPO}/outfile3") == {"tag1": "valueA", "tag2": "valueB", "tag3": "test"}
    cached = list((ctx.scratch / "references").glob("*/reference_file"))
    assert [p.read_text() for p in cached] == ["reference"]


def test_write_job_data_file(ctx, repo):
    """upstream: bclaw_runner/tests/test_workspace.py::test_write_job_data_file (the extended job
    data in a job_data_*.json file in the workspace, named by $BC_JOB_DATA_FILE)."""
    the_step, _ = step('commands: [cp "$BC_JOB_DATA_FILE" jd.json]\noutputs: {jd: jd.json}')
    run_command_step(the_step, ctx)
    assert json.loads(repo.read_text(f"{REPO}/jd.json")) == {
        "job": JOB, "parent": {"value": "parent_value"}, "scatter": {"value": "scatter_value"}}


def test_main_fail_before_commands(ctx, repo):
    """upstream: bclaw_runner/tests/test_runner_main.py::test_main_fail_before_commands (a missing
    input: the commands never run, nothing is written)."""
    before = objects(repo)
    the_step, _ = step('inputs: {input1: "file${job.key1}", input3: this_file_does_not_exist}\n'
                       "commands: ['echo wut > ${output4}']\noutputs: {output4: outfile4}")
    with pytest.raises(MissingInputError):
        run_command_step(the_step, ctx)
    assert objects(repo) == before


def test_main_fail_in_commands(ctx, repo):
    """upstream: bclaw_runner/tests/test_runner_main.py::test_main_fail_in_commands (outputs are
    still uploaded; no completion marker)."""
    before = objects(repo)
    the_step, _ = step("commands: ['echo wut > ${output5}', 'false']\noutputs: {output5: outfile5}")
    with pytest.raises(CommandFailed):
        run_command_step(the_step, ctx)
    new = objects(repo) - before
    assert f"{REPO}/outfile5" in new and f"{REPO}/_control_/step1.complete" not in new


def test_main_fail_after_commands(ctx, repo, monkeypatch):
    """upstream: bclaw_runner/tests/test_runner_main.py::test_main_fail_after_commands (an upload
    failure fails the step; no completion marker)."""
    def failing_upload(self, *args, **kwargs):
        raise RuntimeError("miscellaneous error")

    monkeypatch.setattr(LocalRepository, "upload", failing_upload)
    monkeypatch.setattr(LocalRepository, "move_in", failing_upload)  # an output moved, not copied, in
    the_step, _ = step("commands: ['echo wut > ${output6}']\noutputs: {output6: outfile6}")
    with pytest.raises(RuntimeError, match="miscellaneous error"):
        run_command_step(the_step, ctx)
    assert not repo.exists(f"{REPO}/_control_/step1.complete")


@pytest.mark.parametrize("skip, expect_skipped", [
    ("skip_on_rerun: true", True), ("skip_if_output_exists: true", True), ("", False)])
def test_main_skip(ctx, skip, expect_skipped):
    """upstream: bclaw_runner/tests/test_runner_main.py::test_main_skip (``false`` never runs when
    the step is skipped; upstream's 'output' case has no outputs)."""
    body = f"commands: ['false']\n{skip}\n"
    the_step, _ = step(body)
    the_step.name = "step0"  # step0.complete exists
    if expect_skipped:
        assert run_command_step(the_step, ctx).record.status == "skipped"
    else:
        with pytest.raises(CommandFailed):
            run_command_step(the_step, ctx)
