"""Path traversal corpus: no path field, as written or as rendered with job data, leaves its root.

* static: every path-bearing field of a workflow with ``..``, an absolute path or ``s3://b/../..``
  is refused by ``validate`` (a subprocess, as users run it): exit 2, one located line each;
* job data: the same fields filled from a hostile job file are refused by ``labflows workflow``
  before anything is written: exit 2, one line naming the field and the value;
* values only known while running (scatter values, subpipe entries) are refused by the step.

Every case snapshots the folder around the storage folder before and after: nothing may appear
outside storage, and nothing in storage for a refused run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows.cli.main import main
from specs.workflow.model import OutputSpec, load_workflow
from tasks.bclaw.command_step import run_command_step
from tasks.bclaw.containment import PathRefused
from tasks.bclaw.scatter.expand import ScatterError, expand_value
from tasks.bclaw.subpipe import SubpipeFailed, retrieve

ROOT = Path(__file__).resolve().parents[3]


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def _command(step: str = "") -> str:
    return "  - s:\n      commands: ['echo hi > o.txt']\n" + textwrap.indent(textwrap.dedent(step), "      ")


# ---- static: validate refuses the text as written ------------------------------------------------
STATIC = {
    "repository_dotdot": ("Repository: s3://inj/repo/../../x\nSteps:\n" + _command(),
                          "1:13: Repository: '..' would leave its folder: 's3://inj/repo/../../x'"),
    "repository_local": ("Repository: /tmp/repo\nSteps:\n" + _command(),
                         "1:13: Repository: must be an s3://bucket/folder/ URI"),
    "repository_no_bucket": ("Repository: s3:///tmp/repo\nSteps:\n" + _command(),
                             "1:13: Repository: needs a bucket name after s3://"),
    "step_name": ("Repository: s3://b/r\nSteps:\n  - ../../x:\n      commands: ['true']\n",
                  "3:5: Steps[0].../../x: becomes a folder name: must not contain '/'"),
    "step_name_dotdot": ("Repository: s3://b/r\nSteps:\n  - '..':\n      commands: ['true']\n",
                         "3:5: Steps[0]...: '..' cannot be a folder name"),
    "scatter_name": ("Repository: s3://b/r\nSteps:\n  - ../up:\n      scatter: {x: [1]}\n"
                     "      steps:\n        - a: {commands: ['true']}\n",
                     "3:5: Steps[0].../up: becomes a folder name"),
    "subpipe_name": ("Repository: s3://b/r\nSteps:\n  - /abs:\n      subpipe: child.yaml\n",
                     "3:5: Steps[0]./abs: becomes a folder name"),
    "dest_absolute": ("Repository: s3://b/r\nSteps:\n" + _command("outputs: {o: o.txt -> /tmp/x/}\n"),
                      "5:20: Steps[0].s.outputs.o.dest: must be an s3://bucket/folder/ URI (local and absolute "
                      "paths are refused): '/tmp/x/'"),
    "dest_dotdot": ("Repository: s3://b/r\nSteps:\n" + _command("outputs: {o: o.txt -> s3://b/../../}\n"),
                    "5:20: Steps[0].s.outputs.o.dest: '..' would leave its folder: 's3://b/../../'"),
    "dest_relative": ("Repository: s3://b/r\nSteps:\n" + _command("outputs: {o: {name: o.txt, dest: up/}}\n"),
                      "5:40: Steps[0].s.outputs.o.dest: must be an s3://bucket/folder/ URI"),
    "dest_job_then_dotdot": ("Repository: s3://b/r\nSteps:\n" + _command("outputs: {o: 'o.txt -> ${job.d}/../'}\n"),
                             "5:20: Steps[0].s.outputs.o.dest: '..' would leave its folder: '${job.d}/../'"),
    "output_name_absolute": ("Repository: s3://b/r\nSteps:\n" + _command("outputs: {o: /etc/passwd}\n"),
                             "5:20: Steps[0].s.outputs.o.name: must be a relative path inside its folder"),
    "output_name_dotdot": ("Repository: s3://b/r\nSteps:\n" + _command("outputs: {o: ../../o.txt}\n"),
                           "5:20: Steps[0].s.outputs.o.name: '..' would leave its folder: '../../o.txt'"),
    "input_dotdot": ("Repository: s3://b/r\nSteps:\n" + _command("inputs: {i: s3://b/../../etc/passwd}\n"),
                     "5:19: Steps[0].s.inputs.i: '..' would leave its folder"),
    "reference_dotdot": ("Repository: s3://b/r\nSteps:\n" + _command("references: {r: /data/../etc/shadow}\n"),
                         "5:23: Steps[0].s.references.r: '..' would leave its folder"),
    "qc_file": ("Repository: s3://b/r\nSteps:\n"
                + _command("qc_check: {qc_result_file: ../../qc.json, stop_early_if: 'a > 1'}\n"),
                "5:34: Steps[0].s.qc_check.qc_result_file: '..' would leave its folder"),
    "scatter_file": ("Repository: s3://b/r\nSteps:\n  - sc:\n      scatter: {x: '@../../items.json:$..id'}\n"
                     "      steps:\n        - a: {commands: ['true']}\n",
                     "4:20: Steps[0].sc.scatter.x: '..' would leave its folder: '../../items.json'"),
    "scatter_uri": ("Repository: s3://b/r\nSteps:\n  - sc:\n      scatter: {x: 's3://b/../other/*'}\n"
                    "      steps:\n        - a: {commands: ['true']}\n",
                    "4:20: Steps[0].sc.scatter.x: '..' would leave its folder"),
    "retrieve_dst_absolute": ("Repository: s3://b/r\nSteps:\n  - sub:\n      subpipe: child.yaml\n"
                              "      retrieve: ['a.txt -> /tmp/a.txt']\n",
                              "5:18: Steps[0].sub.retrieve[0].dst: must be a relative path inside its folder"),
    "retrieve_src_dotdot": ("Repository: s3://b/r\nSteps:\n  - sub:\n      subpipe: child.yaml\n"
                            "      retrieve: ['../../a.txt -> a.txt']\n",
                            "5:18: Steps[0].sub.retrieve[0].src: '..' would leave its folder"),
    "retrieve_dst_s3_dotdot": ("Repository: s3://b/r\nSteps:\n  - sub:\n      subpipe: child.yaml\n"
                               "      retrieve: ['a.txt -> s3://b/../../a.txt']\n",
                               "5:18: Steps[0].sub.retrieve[0].dst: '..' would leave its folder"),
    "subpipe_job_data": ("Repository: s3://b/r\nSteps:\n  - sub:\n      subpipe: child.yaml\n"
                         "      job_data: ../../job.json\n",
                         "5:17: Steps[0].sub.job_data: '..' would leave its folder"),
}


def test_validate_refuses_every_static_traversal_with_one_located_line(tmp_path):
    files = []
    for name, (text, _) in STATIC.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        files.append(path)
    before = _tree(tmp_path)
    result = _cli("validate", *map(str, files))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for path, (name, (_, expected)) in zip(files, STATIC.items()):
        mine = [line for line in lines if line.startswith(f"{path}:")]
        assert len(mine) == 1, (name, mine)
        assert mine[0].startswith(f"{path}:{expected}"), (name, mine[0])
    assert not [line for line in lines if not any(line.startswith(f"{f}:") for f in files)], lines
    assert _tree(tmp_path) == before


def test_plain_paths_still_validate(tmp_path):
    wf = tmp_path / "ok.yaml"
    wf.write_text("Repository: s3://b/r/${job.id}\nSteps:\n"
                  + _command("inputs: {i: 'in/*.txt', j: s3://other/x..y/z, k: '${job.in}'}\n"
                             "references: {r: s3://refs/genome.fa}\n"
                             "outputs: {o: 'dir/**/o.txt -> s3://other-bucket/out/${job.id}/', p: ./p.txt}\n")
                  + "  - sc:\n      scatter: {x: '@items.json:$..id'}\n      steps:\n        - a: {commands: ['true']}\n")
    wf_model = load_workflow(wf)
    assert [s.name for s in wf_model.steps] == ["s", "sc"]


# ---- job data: the CLI refuses before anything is written ----------------------------------------
def _wf(repository: str, steps: str) -> str:
    return f"Repository: {repository}\nSteps:\n{steps}"


def _job_cases(out: Path) -> dict[str, tuple[str, dict, str]]:
    """name -> (workflow text, job data, expected message part naming the field and the value)."""
    up = "../../../../../../../../../../.."
    absolute = str(out / "x")
    return {
        "repository_trav": (_wf("s3://inj/repo/${job.trav}", _command()), {"trav": f"{up}{absolute}"},
                            f"Repository: '..' would leave its folder: 's3://inj/repo/{up}{absolute}'"),
        "repository_absolute": (_wf("${job.repo}", _command()), {"repo": absolute},
                                f"Repository: must be an s3://bucket/folder/ URI (local and absolute paths are "
                                f"refused): '{absolute}'"),
        "repository_bucket": (_wf("s3://${job.b}/r", _command()), {"b": ".."},
                              "Repository: needs a bucket name after s3:// (not '..')"),
        "dest_absolute": (_wf("s3://b/r", _command("outputs: {o: 'o.txt -> ${job.d}/'}\n")), {"d": absolute},
                          f"step s: outputs.o.dest: must be an s3://bucket/folder/ URI (local and absolute paths "
                          f"are refused): '{absolute}/'"),
        "dest_s3_dotdot": (_wf("s3://b/r", _command("outputs: {o: 'o.txt -> s3://b/${job.d}/'}\n")),
                           {"d": "../../.."}, "step s: outputs.o.dest: '..' would leave its folder: 's3://b/../../../'"),
        "dest_whole_uri": (_wf("s3://b/r", _command("outputs: {o: 'o.txt -> ${job.d}/'}\n")),
                           {"d": "s3://b/../.."}, "step s: outputs.o.dest: '..' would leave its folder: 's3://b/../../'"),
        "output_name": (_wf("s3://b/r", _command("outputs: {o: '${job.n}'}\n")), {"n": "../../etc/passwd"},
                        "step s: outputs.o.name: '..' would leave its folder: '../../etc/passwd'"),
        "output_name_absolute": (_wf("s3://b/r", _command("outputs: {o: '${job.n}'}\n")), {"n": "/etc/passwd"},
                                 "step s: outputs.o.name: must be a relative path inside its folder"),
        "input_local_file": (_wf("s3://b/r", _command("inputs: {i: '${job.i}'}\n")), {"i": "/etc/passwd"},
                             "step s: inputs.i: must be a relative path inside its folder, not an absolute path "
                             "or URI: '/etc/passwd'"),
        "input_dotdot": (_wf("s3://b/r", _command("inputs: {i: 's3://b/${job.i}'}\n")), {"i": "../../x"},
                         "step s: inputs.i: '..' would leave its folder: 's3://b/../../x'"),
        "reference": (_wf("s3://b/r", _command("references: {r: 's3://refs/${job.r}'}\n")), {"r": "a/../../x"},
                      "step s: references.r: '..' would leave its folder: 's3://refs/a/../../x'"),
        "scatter_file": (_wf("s3://b/r", "  - sc:\n      scatter: {x: '@${job.f}'}\n"
                                         "      steps:\n        - a: {commands: ['true']}\n"),
                         {"f": "../../items.txt"}, "step sc: scatter.x: '..' would leave its folder: '../../items.txt'"),
        "scatter_value_in_dest": (_wf("s3://b/r", "  - sc:\n      scatter: {x: '${job.xs}'}\n      steps:\n"
                                                  "        - a:\n            commands: ['echo > o.txt']\n"
                                                  "            outputs: {o: 'o.txt -> s3://b/${scatter.x}/'}\n"),
                                  {"xs": ["fine", "../../.."]},
                                  "scatter sc x='../../..': step a: outputs.o.dest: '..' would leave its folder: "
                                  "'s3://b/../../../'"),
        "scatter_literal_in_name": (_wf("s3://b/r", "  - sc:\n      scatter: {x: [ok, /etc/passwd]}\n      steps:\n"
                                                    "        - a:\n            commands: ['true']\n"
                                                    "            outputs: {o: '${scatter.x}'}\n"),
                                    {}, "scatter sc x='/etc/passwd': step a: outputs.o.name: must be a relative path"),
        "retrieve_dst": (_wf("s3://b/r", "  - sub:\n      subpipe: child.yaml\n      retrieve: ['a.txt -> ${job.t}']\n"),
                         {"t": absolute}, f"step sub: retrieve[0].dst: must be a relative path inside its folder, "
                                          f"not an absolute path or URI: '{absolute}'"),
        "subpipe_job_data": (_wf("s3://b/r", "  - sub:\n      subpipe: child.yaml\n      job_data: '${job.j}'\n"),
                             {"j": "s3://b/../../j.json"}, "step sub: job_data: '..' would leave its folder"),
    }


CASES = list(_job_cases(Path("/placeholder")))


@pytest.mark.parametrize("case", CASES)
def test_cli_refuses_hostile_job_data_before_writing_anything(tmp_path, capsys, case):
    out = tmp_path / "outside"  # where absolute and climbing values point
    text, job, expected = _job_cases(out)[case]
    (tmp_path / "child.yaml").write_text("Repository: s3://c/r\nSteps:\n" + _command())
    wf = tmp_path / "wf.yaml"
    wf.write_text(text)
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    storage = tmp_path / "storage" / "deep" / "deeper"  # '../..' from a bucket lands inside tmp_path
    storage.mkdir(parents=True)
    before = _tree(tmp_path)
    code = main(["workflow", str(wf), "--job", str(job_file), "--storage", str(storage)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {job_file}: ") and expected in err, err
    assert _tree(tmp_path) == before  # nothing outside storage, nothing in it


def test_cli_subprocess_refuses_the_audit_repository(tmp_path):
    """The audit's case, through the real entry point: trav = ../../../../../../tmp/x."""
    wf = tmp_path / "wf.yaml"
    wf.write_text(_wf("s3://inj/repo/${job.trav}", _command("outputs: {o: o.txt}\n")))
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps({"trav": "../../../../../../" + str(tmp_path / "x")}))
    storage = tmp_path / "storage"
    before = _tree(tmp_path)
    result = _cli("workflow", str(wf), "--job", str(job_file), "--storage", str(storage))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "Repository: '..' would leave its folder" in result.stderr and "${job.trav}" in result.stderr
    assert _tree(tmp_path) == before


# ---- values only known while running: the step refuses them -------------------------------------
def test_command_step_refuses_a_scatter_value_that_moves_its_dest(ctx, repo, tmp_path, write_workflow):
    ctx.write_job_data({"id": 1}, scatter={"x": "../../.."})
    step = write_workflow("""\
        Repository: s3://bucket/repo
        Steps:
          - a:
              commands: ['echo hi > o.txt']
              outputs: {o: 'o.txt -> s3://bucket/${scatter.x}/'}
        """).steps[0]
    storage = Path(repo.root)
    before = _tree(storage)
    with pytest.raises(PathRefused, match=r"step a: outputs.o.dest: '\.\.' would leave its folder: "
                                          r"'s3://bucket/\.\./\.\./\.\./'"):
        run_command_step(step, ctx)
    assert _tree(storage) == before
    assert not (ctx.scratch.exists() and any(p.is_dir() and p.name.startswith("a-") for p in ctx.scratch.iterdir()))


def test_command_step_refuses_a_job_value_naming_a_local_file(ctx, repo, write_workflow):
    ctx.write_job_data({"i": "/etc/passwd"})
    step = write_workflow("Repository: s3://bucket/repo\nSteps:\n  - a:\n      inputs: {i: '${job.i}'}\n"
                          "      commands: ['cat ${i}']\n").steps[0]
    with pytest.raises(PathRefused, match=r"step a: inputs.i: must be a relative path .*'/etc/passwd'"):
        run_command_step(step, ctx)


def test_scatter_expansion_refuses_files_outside_the_repository(repo):
    job_data = {"job": {"f": "../../secret.txt", "g": "/etc/passwd", "ok": "items.txt"}}
    repo.write_text("s3://bucket/repo/items.txt", "a\nb\n")
    assert expand_value("x", "@${job.ok}", repo, "s3://bucket/repo", job_data) == ["a", "b"]
    with pytest.raises(ScatterError, match=r"key='x': '\.\.' would leave its folder: '\.\./\.\./secret.txt'"):
        expand_value("x", "@${job.f}", repo, "s3://bucket/repo", job_data)
    with pytest.raises(ScatterError, match=r"key='y': must be a relative path .*'/etc/passwd'"):
        expand_value("y", "${job.g}", repo, "s3://bucket/repo", job_data)


def test_subpipe_retrieve_refuses_rendered_targets_outside_the_repository(ctx, repo, write_workflow, tmp_path):
    step = write_workflow("Repository: s3://bucket/repo\nSteps:\n  - sub:\n      subpipe: child.yaml\n"
                          "      retrieve: ['a.txt -> ${scatter.t}']\n").steps[0]
    repo.write_text("s3://bucket/repo/sub/a.txt", "child output")
    storage = Path(repo.root)
    for target in (str(tmp_path / "outside.txt"), "../../outside.txt"):
        before = _tree(tmp_path)
        with pytest.raises(SubpipeFailed, match=r"step sub: retrieve\[0\]\.dst: "):
            retrieve(step, ctx, "s3://bucket/repo/sub", {"job": {}, "parent": {}, "scatter": {"t": target}})
        assert _tree(tmp_path) == before
    assert retrieve(step, ctx, "s3://bucket/repo/sub", {"job": {}, "parent": {}, "scatter": {"t": "in/a.txt"}}) \
        == ["s3://bucket/repo/in/a.txt"]
    assert (storage / "bucket/repo/in/a.txt").read_text() == "child output"


def test_output_spec_model_is_unchanged_for_plain_values():
    # the shorthand parser itself stays as BayerCLAW has it: containment is judged on top of it
    assert OutputSpec.model_validate({"name": "o", "dest": "s3://b/d/"}).dest == "s3://b/d/"


def test_a_run_started_without_the_cli_refuses_before_writing(tmp_path):
    """Deployments and the launcher call the flow directly: the same check runs before initialisation."""
    from blocks.local import LocalRepository
    from flows.workflow import run_loaded_workflow

    wf_file = tmp_path / "wf.yaml"
    wf_file.write_text(_wf("s3://b/r", _command("outputs: {o: 'o.txt -> ${job.d}/'}\n")))
    storage = tmp_path / "storage"
    before = _tree(tmp_path)
    with pytest.raises(PathRefused, match=rf"step s: outputs.o.dest: must be an s3://bucket/folder/ URI .*'{tmp_path}/x/'"):
        run_loaded_workflow(load_workflow(wf_file), {"d": str(tmp_path / "x")}, job_file=None,
                            repo=LocalRepository(root=str(storage)))
    assert _tree(tmp_path) == before


@pytest.mark.usefixtures("prefect_harness")
def test_scatter_values_read_from_a_file_are_refused_in_the_branch(tmp_path, capsys):
    """Values only known while running (lines of a file the run wrote) fail their branch before it uploads."""
    wf = tmp_path / "wf.yaml"
    wf.write_text(_wf("s3://b/r", """\
  - make:
      commands: ["printf 'fine\\\\n../../../..\\\\n' > items.txt"]
      outputs: {items: items.txt}
  - sc:
      scatter: {x: '@items.txt'}
      steps:
        - a:
            commands: ['echo ${scatter.x} > o.txt']
            outputs: {o: 'o.txt -> s3://b/${scatter.x}/'}
            retry: {attempts: 0}
"""))
    job_file = tmp_path / "job.json"
    job_file.write_text("{}")
    storage = tmp_path / "storage" / "deep"
    storage.mkdir(parents=True)
    outside = _tree(tmp_path) - {"storage", "storage/deep"}
    code = main(["workflow", str(wf), "--job", str(job_file), "--storage", str(storage)])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "outputs.o.dest: '..' would leave its folder: 's3://b/../../../../'" in captured.err + captured.out
    assert {p for p in _tree(tmp_path) if not p.startswith("storage/")} - {"storage"} == outside
    assert (storage / "b/fine/o.txt").read_text() == "fine\n"  # the good branch ran
    assert not [p for p in _tree(storage) if p.endswith("/o.txt") and "fine" not in p]
