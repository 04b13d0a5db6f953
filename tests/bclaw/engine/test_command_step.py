"""A command step run as bclaw_runner runs it (reference section 8: 9-15), on a local repository."""

import json
import os

import pytest

from tasks.bclaw.command_step import CommandFailed, run_command_step, should_skip
from tasks.bclaw.qc import QCFailure
from tasks.bclaw.staging import MissingInputError

REPO = "s3://bucket/repo"  # the repository of the ctx fixture


def one_step(write_workflow, body: str, options: str = ""):
    wf = write_workflow(f"Repository: {REPO}\n{options}Steps:\n  - step1:\n" +
                        "\n".join("      " + line for line in body.strip("\n").splitlines()) + "\n")
    return wf.steps[0], wf.options


def seed(repo, *names, content="x"):
    for n in names:
        repo.write_text(f"{REPO}/{n}", f"{content} {n}\n")


def test_success_writes_outputs_marker_and_resolves_parent_and_scatter(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
commands:
  - echo ${parent.value} > outfile1
  - echo ${scatter.value} > outfile2
  - echo ${job.sample} > outfile3
outputs:
  o1: outfile1
  o2: outfile2
  o3: outfile3
""")
    result = run_command_step(step, ctx)
    assert repo.read_text(f"{REPO}/outfile1") == "from-parent\n"
    assert repo.read_text(f"{REPO}/outfile2") == "from-scatter\n"
    assert repo.read_text(f"{REPO}/outfile3") == "S1\n"
    assert repo.exists(f"{REPO}/_control_/step1.complete")
    assert repo.get_tags(f"{REPO}/_control_/step1.complete") == {"bclaw.system": "true"}
    assert repo.get_metadata(f"{REPO}/outfile1") == {"execution_id": "exec-1"}
    assert result.record.status == "done" and len(result.record.outputs) == 3
    assert result.prev_outputs == {"o1": "outfile1", "o2": "outfile2", "o3": "outfile3"}


def test_input_globs_full_uris_and_optional_inputs(write_workflow, ctx, repo):
    seed(repo, "file1", "file2", "file3", "other_file")
    repo.write_text("s3://elsewhere/path/different_file", "diff\n")
    step, _ = one_step(write_workflow, """
inputs:
  files: file*
  other_file: other_file
  different_file: s3://elsewhere/path/different_file
  missing_file?: missing_file
commands:
  - ls ${files} > listing
  - cat ${other_file} ${different_file} >> listing
  - test ! -e ${missing_file}
outputs:
  listing: listing
""")
    run_command_step(step, ctx)
    assert repo.read_text(f"{REPO}/listing") == "file1\nfile2\nfile3\nx other_file\ndiff\n"


def test_missing_required_input_fails_before_commands_and_uploads_nothing(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
inputs:
  needed: not_there.txt
commands:
  - echo ran > out.txt
outputs:
  out: out.txt
""")
    with pytest.raises(MissingInputError, match="not_there.txt"):
        run_command_step(step, ctx)
    assert not repo.exists(f"{REPO}/out.txt")
    assert not repo.exists(f"{REPO}/_control_/step1.complete")


def test_failed_command_still_uploads_outputs_and_writes_no_marker(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
commands:
  - echo partial > out.txt
  - "false"
  - echo never > never.txt
outputs:
  out: out.txt
  never: never.txt
""")
    with pytest.raises(CommandFailed, match="exited with code 1"):
        run_command_step(step, ctx)
    assert repo.read_text(f"{REPO}/out.txt") == "partial\n"
    assert not repo.exists(f"{REPO}/never.txt")
    assert not repo.exists(f"{REPO}/_control_/step1.complete")


def test_output_globs_recursive_and_dest(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
commands:
  - for i in 1 2 3; do echo $i > output$i; done
  - mkdir -p dir1/dir2/dir3 dir4/dir5 && echo a > dir1/dir2/dir3/file1.txt && echo b > dir4/dir5/file2.txt
outputs:
  outs: output*
  missing: non_thing*
  deep: dir*/**/file*.txt
  moved: output1 -> s3://bucket/alternate/path/
""")
    result = run_command_step(step, ctx)
    for name in ("output1", "output2", "output3", "file1.txt", "file2.txt"):
        assert repo.exists(f"{REPO}/{name}"), name
    assert repo.read_text("s3://bucket/alternate/path/output1") == "1\n"
    assert result.prev_outputs["moved"] == "s3://bucket/alternate/path/output1"


def test_tag_precedence_options_step_file(write_workflow, ctx, repo):
    step, options = one_step(write_workflow, """
commands:
  - echo x > out.txt
s3_tags:
  tag2: valueY
outputs:
  out:
    name: out.txt
    s3_tags: {tag1: value1, tag3: value3}
""", options="Options:\n  s3_tags: {tag1: valueX, tag2: valueZ, tag4: '${job.sample}'}\n")
    run_command_step(step, ctx.derive(options=options))
    assert repo.get_tags(f"{REPO}/out.txt") == {"tag1": "value1", "tag2": "valueY", "tag3": "value3", "tag4": "S1"}


def test_skip_on_rerun_with_marker_runs_nothing(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, "skip_on_rerun: true\ncommands:\n  - 'false'\n")
    repo.write_bytes(f"{REPO}/_control_/step1.complete", b"")
    assert run_command_step(step, ctx).record.status == "skipped"


def test_no_skip_mode_reruns_even_with_marker(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, "commands:\n  - 'false'\n")
    repo.write_bytes(f"{REPO}/_control_/step1.complete", b"")
    with pytest.raises(CommandFailed):
        run_command_step(step, ctx)
    assert not repo.exists(f"{REPO}/_control_/step1.complete")  # the marker is removed first


@pytest.mark.parametrize("names,present,skip", [
    (["file1", "file2", "subdir/file3"], ["file1", "file2", "file3"], True),
    (["file1", "file99"], ["file1"], False),
    (["file*"], ["file1"], False),
    ([], [], True),
])
def test_skip_if_output_exists(write_workflow, ctx, repo, names, present, skip):
    outputs = "".join(f"  o{i}: {n}\n" for i, n in enumerate(names)) or "  {}\n"
    step, _ = one_step(write_workflow, "skip_if_output_exists: true\ncommands: ['false']\noutputs:\n" + outputs)
    seed(repo, *present)
    assert should_skip(step, ctx) is skip


def test_sh_stops_at_false_and_unset_variables_fail(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, "commands:\n  - echo $UNDEFINED_VAR > out.txt\noutputs:\n  out: out.txt\n")
    with pytest.raises(CommandFailed):
        run_command_step(step, ctx)


def test_variables_persist_across_lines_and_bash_pipefail(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
compute:
  shell: bash
commands:
  - X=persisted
  - echo $X > out.txt
  - "false | true"
outputs:
  out: out.txt
""")
    with pytest.raises(CommandFailed):  # pipefail: the pipeline fails because false does
        run_command_step(step, ctx)
    assert repo.read_text(f"{REPO}/out.txt") == "persisted\n"


def test_environment_and_job_data_file(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
commands:
  - echo "$BC_STEP_NAME $BC_WORKFLOW_NAME $BC_BRANCH_IDX" > env.txt
  - test "$BC_WORKSPACE" = "$(pwd)"
  - cp "$BC_JOB_DATA_FILE" jobdata.json
outputs:
  env: env.txt
  jd: jobdata.json
""")
    run_command_step(step, ctx)
    assert repo.read_text(f"{REPO}/env.txt") == "step1 wf main\n"
    log = (ctx.scratch / "logs" / "exec-1" / "step1.log").read_text()  # kept after the workspace is gone
    assert "cp \"$BC_JOB_DATA_FILE\" jobdata.json" in log
    assert json.loads(repo.read_text(f"{REPO}/jobdata.json"))["job"]["sample"] == "S1"


def test_hostile_job_data_does_not_execute(write_workflow, ctx, repo, tmp_path):
    step, _ = one_step(write_workflow, """
commands:
  - echo ${job.evil} > out.txt
  - echo '${job.evil}' >> out.txt
outputs:
  out: out.txt
""")
    run_command_step(step, ctx)
    evil = ctx.read_job_data()["job"]["evil"]
    assert repo.read_text(f"{REPO}/out.txt") == f"{evil}\n{evil}\n"
    assert not list(tmp_path.rglob("PWNED*"))


def test_references_are_cached_once_and_hard_linked(write_workflow, ctx, repo):
    repo.write_text("s3://refs/genome.fa", ">chr1\nACGT\n")
    step, _ = one_step(write_workflow, """
references:
  genome: s3://refs/genome.fa
commands:
  - grep -c chr ${genome} > n.txt
  - test "$(stat -c %h ${genome})" -ge 2
outputs:
  n: n.txt
""")
    run_command_step(step, ctx)
    cached = list((ctx.scratch / "references").rglob("genome.fa"))
    assert len(cached) == 1
    first_mtime = cached[0].stat().st_mtime_ns
    run_command_step(step, ctx)  # second run: served from the cache
    assert cached[0].stat().st_mtime_ns == first_mtime
    assert repo.read_text(f"{REPO}/n.txt") == "1\n"


def test_qc_failure_names_file_and_expression(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
commands: |
  echo '{"a": 1, "b": 2.0}' > fake1
  echo '{"x": 99, "y": 98}' > fake2
qc_check:
  - qc_result_file: fake1
    stop_early_if: ["a>1", "b==2"]
  - qc_result_file: fake2
    stop_early_if: "y<98"
""")
    with pytest.raises(QCFailure) as err:
        run_command_step(step, ctx)
    assert str(err.value) == "failed QC conditions: fake1: b==2 (b = 2.0)"
    assert not repo.exists(f"{REPO}/_control_/step1.complete")


def test_docker_executor_argv(write_workflow, ctx, repo, recording_docker):
    step, _ = one_step(write_workflow, """
image: docker.io/library/ubuntu:${job.sample}
compute: {cpus: 2, memory: 2 Gb}
commands:
  - echo in-container > out.txt
  - echo ${job.evil} >> out.txt
outputs:
  out: out.txt
""")
    run_command_step(step, ctx.derive(executor="docker"))
    argv = recording_docker.read_text().splitlines()
    ws = argv[argv.index("--workdir") + 1]
    env_names = [argv[i + 1] for i, a in enumerate(argv) if a == "--env"]
    assert env_names == sorted(env_names) and env_names
    name = argv[argv.index("--name") + 1]  # fresh per run, so a timed-out container can be removed
    assert name.startswith("labflows-")
    assert argv == ["run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm", "--name", name, "--init",
                    "--mount", f"type=bind,source={ws},target={ws}", "--workdir", ws, "--entrypoint", "",
                    "--cpus", "2", "--memory", "2048m", *[x for n in env_names for x in ("--env", n)],
                    "docker.io/library/ubuntu:S1", "sh", "-veu", f"{ws}/_commands.sh"]
    assert "BC_VALUE_1" in argv and not any("PWNED" in a for a in argv)  # values travel in the env
    assert repo.read_text(f"{REPO}/out.txt").startswith("in-container\n")


def _kept_workspaces(ctx) -> list:
    return [p for p in ctx.scratch.iterdir() if p.name.startswith("step1-")]


def test_outputs_a_qc_check_reads_are_copied_so_it_reads_them_and_a_failure_keeps_them(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, """
commands: |
  echo '{"a": 5}' > qc.json
outputs:
  qc: qc.json
qc_check:
  - qc_result_file: qc.json
    stop_early_if: "a>1"
""")
    with pytest.raises(QCFailure, match="a>1"):  # the QC check found its file after the upload
        run_command_step(step, ctx)
    assert repo.read_text(f"{REPO}/qc.json") == '{"a": 5}\n'
    (kept,) = _kept_workspaces(ctx)
    assert (kept / "qc.json").read_text() == '{"a": 5}\n'


def test_a_failed_commands_outputs_stay_in_its_kept_workspace(write_workflow, ctx, repo):
    step, _ = one_step(write_workflow, "commands:\n  - echo partial > out.txt\n  - 'false'\noutputs:\n  out: out.txt\n")
    with pytest.raises(CommandFailed):
        run_command_step(step, ctx)
    (kept,) = _kept_workspaces(ctx)
    assert (kept / "out.txt").read_text() == "partial\n" and repo.read_text(f"{REPO}/out.txt") == "partial\n"


def test_a_succeeded_steps_outputs_are_moved_and_a_rerun_skips(write_workflow, ctx, repo, monkeypatch):
    import blocks.local

    moved = []
    real_replace = blocks.local.os.replace
    monkeypatch.setattr(blocks.local.os, "replace", lambda a, b: moved.append(os.path.basename(a)) or real_replace(a, b))
    step, _ = one_step(write_workflow, "skip_on_rerun: true\ncommands:\n  - echo done > out.txt\n"
                                       "outputs:\n  out: out.txt\n")
    run_command_step(step, ctx)
    assert "out.txt" in moved  # renamed from the workspace, not a temporary copy
    assert repo.read_text(f"{REPO}/out.txt") == "done\n" and _kept_workspaces(ctx) == []
    assert repo.get_metadata(f"{REPO}/out.txt") == {"execution_id": "exec-1"}
    assert run_command_step(step, ctx).record.status == "skipped"
