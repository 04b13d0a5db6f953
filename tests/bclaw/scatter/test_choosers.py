"""Choosers (behaviour 22) and parallel branches: conditions through the safe evaluator, flow routing."""

import json

import pytest

from tasks.bclaw.chooser import ConditionFailed, condition_names, first_true, holds
from tasks.bclaw.context import RunContext

REPO = "s3://bkt/choose/r"


@pytest.fixture
def ctx(repo, tmp_path, write_file):
    from specs.workflow.model import load_workflow

    options = load_workflow(write_file("o.yaml", "Repository: s3://x\nSteps:\n  - a: {commands: ['true']}\n")).options
    context = RunContext(repo=repo, repo_uri=REPO, workflow_name="wf", options=options, scratch=tmp_path / "scratch")
    context.write_job_data({"mode": "deep", "n": 4})
    repo.write_text(f"{REPO}/stats.json", json.dumps({"reads": 120, "stats": "shadowed", "kind": "pe"}))
    repo.write_text(f"{REPO}/deep/other.json", json.dumps([1, 2, 3]))
    return context


def test_behaviour_22_first_true_condition_or_none(ctx):
    names = condition_names({"stats": "stats.json"}, ctx)
    conditions = ["reads < 100", "stats.reads >= 100 and job.mode == 'deep'", "True"]
    assert first_true("c", conditions, names) == "stats.reads >= 100 and job.mode == 'deep'"
    assert first_true("c", ["reads < 100", "job.n > 10"], names) is None


def test_a_failing_condition_raises_condition_failed(ctx):
    names = condition_names({"stats": "stats.json"}, ctx)
    with pytest.raises(ConditionFailed, match=r"step c: condition 'missing > 1'.*missing"):
        holds("c", "missing > 1", names)
    with pytest.raises(ConditionFailed, match="step c: condition"):
        holds("c", "job.mode > 3", names)  # str > int


def test_condition_names_single_object_keys_are_bare_math_and_re(ctx):
    one = condition_names({"stats": "stats.json"}, ctx)
    assert one["reads"] == 120 and one["kind"] == "pe"
    assert one["stats"] == {"reads": 120, "stats": "shadowed", "kind": "pe"}  # the input name wins
    assert holds("c", "math.sqrt(reads) > 10 and re.match('p', kind) is not None", one)
    two = condition_names({"stats": "stats.json", "other": "${job.mode}/other.json"}, ctx)
    assert "reads" not in two and two["other"] == [1, 2, 3]
    optional = condition_names({"absent?": "absent.json"}, ctx)
    assert set(optional) == {"job"}


def test_conditions_are_never_python_eval(ctx, tmp_path):
    names = condition_names({}, ctx)
    with pytest.raises(ConditionFailed):
        holds("c", "__import__('os').system('touch " + str(tmp_path / "pwned") + "')", names)
    assert not (tmp_path / "pwned").exists()


ROUTING = """
Repository: s3://bkt/route/${job.id}
Steps:
  - measure:
      commands: |
        echo '{"reads": ${job.reads}}' > stats.json
      outputs:
        stats: stats.json
  - choose:
      inputs:
        stats: stats.json
      choices:
        - if: reads < 10
          next: too-few
        - if: job.deep and math.log10(reads) >= 3
          next: deep
  - shallow:
      commands: ["echo shallow > path.txt"]
      outputs: {p: path.txt}
      next: report
  - too-few:
      commands: ["echo too-few > path.txt"]
      outputs: {p: path.txt}
      end: true
  - deep:
      commands: ["echo deep > path.txt"]
      outputs: {p: path.txt}
  - report:
      inputs: {p: path.txt}
      commands: ["cp ${p} report.txt"]
      outputs: {r: report.txt}
"""


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("job, path, ran", [
    ({"id": "r1", "reads": 5000, "deep": True}, "deep", ["measure", "choose", "deep", "report"]),
    ({"id": "r2", "reads": 5000, "deep": False}, "shallow", ["measure", "choose", "shallow", "report"]),
    ({"id": "r3", "reads": 3, "deep": True}, "too-few", ["measure", "choose", "too-few"]),
])
def test_simple_chooser_routes_the_flow(run_flow, storage, job, path, ran):
    state = run_flow(ROUTING, job, name=f"route-{job['id']}")
    assert state.is_completed(), state.message
    repo = storage / "bkt/route" / job["id"]
    assert (repo / "path.txt").read_text() == f"{path}\n"
    steps = state.result()["steps"]
    assert [s["name"] for s in steps if s["status"] != "not run"] == ran
    assert all(s["status"] == "not run" for s in steps[len(ran):])  # the rest are listed, not run


PARALLEL = """
Repository: s3://bkt/par/${job.id}
Steps:
  - setup:
      commands: |
        echo '{"kind": "${job.kind}"}' > info.json
      outputs:
        info: info.json
  - fan:
      inputs:
        info: info.json
      branches:
        - if: kind == 'dna'
          steps:
            - left:
                commands:
                  - touch ${job.dir}/left
                  - for n in $(seq 200); do [ -e ${job.dir}/right ] && break; sleep 0.05; done
                  - test -e ${job.dir}/right && echo met > left.txt
                outputs: {l: left.txt}
        - steps:
            - right:
                commands:
                  - touch ${job.dir}/right
                  - for n in $(seq 200); do [ -e ${job.dir}/left ] && break; sleep 0.05; done
                  - test -e ${job.dir}/left && echo met > right.txt
                outputs: {r: right.txt}
            - right2:
                inputs: {r: right.txt}
                commands: ["cp ${r} right2.txt"]
                outputs: {r2: right2.txt}
        - if: kind == 'rna'
          steps:
            - never:
                commands: ["echo no > never.txt"]
                outputs: {n: never.txt}
  - after:
      inputs: {i: info.json}
      commands: ["cp ${i} after.json"]
      outputs: {a: after.json}
"""


@pytest.mark.usefixtures("prefect_harness")
def test_parallel_chooser_runs_true_branches_concurrently(run_flow, storage, tmp_path):
    state = run_flow(PARALLEL, {"id": "p1", "kind": "dna", "dir": str(tmp_path)})
    assert state.is_completed(), state.message
    repo = storage / "bkt/par/p1"
    # each branch waited for the other to start: run one after the other, they could not both meet
    assert (repo / "left.txt").read_text() == (repo / "right.txt").read_text() == "met\n"
    assert (repo / "right2.txt").exists() and not (repo / "never.txt").exists()
    names = [s["name"] for s in state.result()["steps"]]
    assert names[:2] == ["setup", "fan"] and names[-1] == "after"
    assert sorted(names[2:-1]) == ["left", "right", "right2"]


@pytest.mark.usefixtures("prefect_harness")
def test_a_failing_parallel_branch_fails_the_step(run_flow, tmp_path):
    text = PARALLEL.replace('commands: ["cp ${r} right2.txt"]',
                            'retry: {attempts: 0}\n                commands: ["exit 3"]')
    state = run_flow(text, {"id": "p2", "kind": "dna", "dir": str(tmp_path)})
    assert state.is_failed()
    assert "step fan: branch 1: step right2: command exited with code 3" in str(state.result(raise_on_failure=False))
