"""``validate`` tells the truth: ${…} references, subpipe cycles, one result per line, job files."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specs.source import SpecError
from specs.workflow.model import load_workflow
from specs.workflow.references import text_problems

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
VALID = HERE / "valid" / "hello.yaml"


@pytest.mark.parametrize("text", [
    "echo ${job.a[0]} ${job.b.c} ${job.\"x y\"} ${parent.p} ${scatter.s}",
    "echo ${HOME} ${VAR:-default} ${#arr[@]} ${Name}",  # shell and parameters: not job data
    "s3://b/${job.id}/x",
    "no references at all $HOME {braces}",
    "${job.items[?kind=='a'].name | [0]}",
])
def test_good_references(text):
    assert text_problems(text) == []


@pytest.mark.parametrize("text, message", [
    ("echo ${job.a[}", "invalid JMESPath in ${job.a[}: incomplete expression"),
    ("echo ${job..a}", "invalid JMESPath in ${job..a}: Expecting: "),
    ("echo ${job.a b}", "invalid JMESPath in ${job.a b}: Unexpected token: b (at column 7)"),
    ("echo ${ scatter.x[[}", "invalid JMESPath in ${ scatter.x[[}: Expecting: star, got: lbracket"),
    ("echo ${job.sample", "unterminated '${' (no closing '}') in 'echo ${job.sample'"),
    ("echo ${job.a} and ${HOME", "unterminated '${' (no closing '}') in 'echo ${job.a} and ${HOME'"),
])
def test_bad_references(text, message):
    (problem,) = text_problems(text)
    assert problem.startswith(message)


def write(folder: Path, name: str, subpipes: list[str]) -> Path:
    steps = "".join(f"  - s{i}:\n      subpipe: {target}\n" for i, target in enumerate(subpipes))
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Repository: s3://b/r\nSteps:\n" + (steps or "  - a:\n      commands: [echo]\n"))
    return path


def cycle_lines(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_workflow(path)
    return [str(p) for p in info.value.problems]


def test_a_chain_of_subpipes_back_to_the_workflow_is_found_naming_the_chain(tmp_path):
    main = write(tmp_path, "main.yaml", ["sub/one.yaml", "leaf.yaml", "deployment:flow/dep", "missing.yaml"])
    write(tmp_path, "sub/one.yaml", ["two.yaml"])
    write(tmp_path, "sub/two.yaml", ["../main.yaml"])
    write(tmp_path, "leaf.yaml", [])
    assert cycle_lines(main) == [
        f"{main}:4:16: Steps[0].s0.subpipe: subpipe cycle: main.yaml -> sub/one.yaml -> sub/two.yaml -> main.yaml"]


def test_a_cycle_further_down_is_found_too(tmp_path):
    main = write(tmp_path, "main.yaml", ["a.yaml"])
    write(tmp_path, "a.yaml", ["b.yaml"])
    write(tmp_path, "b.yaml", ["./a.yaml"])
    assert cycle_lines(main) == [f"{main}:4:16: Steps[0].s0.subpipe: subpipe cycle: a.yaml -> b.yaml -> a.yaml"]


def test_a_self_reference_and_no_cycle(tmp_path):
    me = write(tmp_path, "me.yaml", [str(tmp_path / "me.yaml")])
    assert cycle_lines(me) == [f"{me}:4:16: Steps[0].s0.subpipe: subpipe cycle: me.yaml -> me.yaml"]
    ok = write(tmp_path, "ok.yaml", ["leaf.yaml", "leaf.yaml", "${job.sub}.yaml"])
    write(tmp_path, "leaf.yaml", [])
    assert [s.name for s in load_workflow(ok).steps] == ["s0", "s1", "s2"]


def test_a_diamond_of_many_subpipes_is_read_once_per_file(tmp_path):
    # 30 levels of two subpipes each: 2**30 paths, 60 files
    for level in range(30):
        write(tmp_path, f"l{level}a.yaml", [f"l{level + 1}a.yaml", f"l{level + 1}b.yaml"])
        write(tmp_path, f"l{level}b.yaml", [f"l{level + 1}a.yaml", f"l{level + 1}b.yaml"])
    write(tmp_path, "l30a.yaml", [])
    write(tmp_path, "l30b.yaml", ["l0a.yaml"])
    lines = cycle_lines(tmp_path / "l0a.yaml")  # both steps of l0a lead back to it
    assert [line.split(": ")[1] for line in lines] == ["Steps[0].s0.subpipe", "Steps[1].s1.subpipe"]
    assert all(line.endswith("l29a.yaml -> l30b.yaml -> l0a.yaml") for line in lines)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=ROOT, env=env, timeout=120,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_validate_prints_one_result_per_line_in_order_on_one_stream(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Repository: s3://b/r\nRepository: s3://b/q\nSteps:\n  - a:\n      commands: [echo]\n")
    job = tmp_path / "job.json"
    job.write_text('{"id": 1,}')
    result = run_cli("validate", str(VALID), str(bad), str(VALID))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{VALID}: ok",
        f"{bad}:2:1: Repository: duplicate key 'Repository' (first at line 1 column 1)",
        f"{VALID}: ok",
    ]
    result = run_cli("validate", "--kind", "job", str(job))
    assert (result.returncode, result.stdout) == (
        2, f"{job}:1:10: JSON syntax error at line 1 column 10: Expecting property name enclosed in double quotes\n")


@pytest.mark.parametrize("text, line", [
    ("chunks: [c1\n", "2:1: YAML syntax error: did not find expected ',' or ']'"),
    ("chunks: [c1, /etc]\n", "1:14: chunks[1]: a chunk must be inside the work directory (the folder of chunks.yml), not '/etc'"),
])
def test_a_broken_chunks_file_stops_an_app_run_before_anything_is_written(tmp_path, text, line):
    work = tmp_path / "work"
    work.mkdir()
    chunks = work / "chunks.yml"
    chunks.write_text(text)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    result = run_cli("app-action", "process", str(ROOT / "examples/bfabric/app/app.yml"), str(work), "1")
    assert (result.returncode, result.stdout) == (2, f"{chunks}:{line}\n")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


@pytest.mark.parametrize("kind,text,expected", [
    ("workflow", "Repository: s3://b/r\nSteps:\n  - one:\n      comands: [echo hi]\n",
     "3:5: Steps[0].one: step has no 'commands' (nor scatter, subpipe, Type, choices or branches, which mark "
     "the other step kinds): did you mean 'commands' (not 'comands')?"),
    ("workflow", "Repository: s3://b/r\nOptinos: {}\nSteps:\n  - one: {commands: [x]}\n",
     "2:1: Optinos: unknown key (did you mean 'Options'?)"),
    ("workflow", "Repository: s3://b/r\nSteps:\n  - one:\n      commands: [x]\n      compute: {cpu: 2}\n",
     "5:17: Steps[0].one.compute.cpu: unknown key (did you mean 'cpus'?)"),
    ("workflow", "Repository: s3://b/r\nSteps:\n  - one:\n      commands: [x]\n      zzz: 1\n",
     "5:7: Steps[0].one.zzz: unknown key"),  # nothing close: no suggestion
    # bfabric-app-runner ignores unknown keys in AppSpecTemplate: the missing key names the typo
    ("app", "bfabric: {app_runner: 0.9.1}\nversoins: []\n",
     "1:1: versions: required key is missing (is 'versoins' a misspelling?)"),
    ("inputs", "inputs:\n  - type: bfabric_resource\n    id: 1\n    fielname: b\n",
     "4:5: inputs[0].fielname: unknown key (did you mean 'filename'?)"),
])
def test_unknown_keys_get_a_close_match(tmp_path, kind, text, expected):
    path = tmp_path / f"x.{'yaml' if kind == 'workflow' else 'yml'}"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "flows.run", "validate", "--kind", kind, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{path}:{expected}" in done.stdout.splitlines() + done.stderr.splitlines(), done.stdout + done.stderr
