"""Hostile job data and ``--param`` values through the CLI, as users run it: they stay data.

Real workflows run in a fresh ``python -m flows.run workflow`` process against a local
repository (the word and the raw run at the same time, each in a folder of its own). Each hostile
value (``CANARY`` becomes an absolute path per value) is substituted in every place a command can
hold it; each test checks that no canary exists and that the value arrived byte-identical.
``Options: substitution: raw`` has its own run showing BayerCLAW's pasting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hostile import HOSTILE, hostile_values

ROOT = Path(__file__).resolve().parents[3]
SCATTERED = ["spaces", "star", "backticks", "dollar_paren", "newline", "carriage_return", "ampersand",
             "semicolon", "quotes", "find_exec", "empty", "only_backtick", "only_newline", "only_ampersand",
             "only_redirect"]
PARENT_NAME = "a b; $(touch CANARY) `touch CANARY` *"

# position -> (command lines for one value reference REF writing OUT, expected bytes from the value)
POSITIONS = {
    "unquoted": (["printf '%s' REF > OUT"], lambda v: v),
    "double": (["printf '%s' \"REF\" > OUT"], lambda v: v),
    "single": (["printf '%s' 'REF' > OUT"], lambda v: v),
    "heredoc": (["cat > OUT <<EOF", "REF", "EOF"], lambda v: v + "\n"),
    # one apostrophe: a tracker that reads comments as code would think a quote is open
    "after_comment": (["# it's REF", "printf '%s' REF > OUT"], lambda v: v),
    "command_substitution": (["v=\"$(printf '%s.' REF)\"", "printf '%s' \"$v\" > OUT"], lambda v: v + "."),
}
CASES = [(pos, key) for pos in POSITIONS for key in HOSTILE]


def param_name(key: str) -> str:
    return "P" + key.replace("_", "")


def command_step(lines: list[str], outputs: dict[str, str]) -> dict:
    return {"inputs": {}, "commands": lines, "outputs": outputs, "retry": {"attempts": 0}}


def word_workflow() -> dict:
    steps = []
    for pos, (lines, _) in POSITIONS.items():
        commands = [line.replace("REF", "${job.%s}" % key).replace("OUT", f"{pos}_{key}.out")
                    for key in HOSTILE for line in lines]
        steps.append({pos: command_step(commands, {"out": f"{pos}_*.out"})})
        params = [line.replace("REF", "${%s}" % param_name(key)).replace("OUT", f"param_{pos}_{key}.out")
                  for key in HOSTILE for line in lines]
        steps.append({f"param_{pos}": command_step(params, {"out": f"param_{pos}_*.out"})})
    steps.append({"find_and_rm": command_step(
        ["echo kept > keep.txt"] + ["find . -name ${job.%s} > /dev/null" % key for key in HOSTILE]
        + ["rm -f ${job.star} ${job.globs} ${job.spaces}", "cat keep.txt"], {"keep": "keep.txt"})})
    steps.append({"fan": {
        "scatter": {"v": "${job.scattered}"},
        "outputs": {"o": "${job.parent_name}"},
        "steps": [{"branch": command_step(["printf '%s' ${scatter.v} > scatter.out",
                                           "printf '%s' \"${parent.o}\" > parent.out"],
                                          {"a": "scatter.out", "b": "parent.out"})}],
    }})
    return {"Repository": "s3://bucket/word", "Parameters": {param_name(k): {"Type": "String"} for k in HOSTILE},
            "Steps": steps}


def raw_workflow() -> dict:
    return {"Repository": "s3://bucket/raw", "Options": {"substitution": "raw"},
            "Parameters": {"Flags": {"Type": "String"}, "Evil": {"Type": "String"}},
            "Steps": [{"pasted": command_step([
                "touch a.txt b.txt",
                "printf '[%s]' ${job.flags} > flags.out",
                "printf '[%s]' ${job.pattern} > glob.out",
                "printf '[%s]' ${Flags} > param.out",
                "find . -name ${job.find_exec} > /dev/null",
                "# it's still data:",
                "printf '%s' ${job.dollar_paren} ${job.newline} ${job.ampersand} ${Evil} > evil.out",
            ], {"out": "*.out"})}]}


def start_cli(tmp: Path, name: str, workflow: dict, job: dict, params: dict[str, str]) -> subprocess.Popen:
    """Write the workflow (JSON is YAML) and job file, start the CLI in a fresh process; its output goes
    to files in ``tmp`` (not pipes: another run started alongside never waits for its output to be read)."""
    from prefect.settings import PREFECT_API_URL

    wf, job_file = tmp / f"{name}.yaml", tmp / f"{name}-job.json"
    wf.write_text(json.dumps(workflow, indent=1))
    job_file.write_text(json.dumps(job))
    argv = [sys.executable, "-m", "flows.run", "workflow", str(wf), "--job", str(job_file),
            "--storage", str(tmp / "storage")]
    for key, value in params.items():
        argv += ["--param", f"{key}={value}"]
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "LABFLOWS_SCRATCH": str(tmp / "scratch"),
           "PYTHONPATH": str(ROOT)}
    with open(tmp / f"{name}.stdout", "w") as out, open(tmp / f"{name}.stderr", "w") as err:
        return subprocess.Popen(argv, cwd=tmp, stdout=out, stderr=err, text=True, env=env)


def finish_cli(proc: subprocess.Popen, tmp: Path, name: str) -> subprocess.CompletedProcess:
    """The ended run of :func:`start_cli` with its output (killed after a 600 s hang guard)."""
    try:
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, (tmp / f"{name}.stdout").read_text(),
                                       (tmp / f"{name}.stderr").read_text())


def word_inputs(tmp: Path) -> tuple[dict, dict]:
    """The word run's job (every hostile value, a hostile parent output name, the scattered values) and params."""
    job = {**hostile_values(tmp, "job-"), "parent_name": PARENT_NAME.replace("CANARY", str(tmp / "canaries/parent"))}
    job["scattered"] = [job[k] for k in SCATTERED]
    return job, {param_name(k): v for k, v in hostile_values(tmp, "param-").items()}


def raw_inputs(tmp: Path) -> tuple[dict, dict]:
    """The raw run's job and params."""
    job = {**hostile_values(tmp, "job-"), "flags": "-x  -y", "pattern": "*.txt"}
    return job, {"Flags": "-p -q", "Evil": f"$(touch {tmp / 'canaries'}/param) & touch {tmp / 'canaries'}/param2"}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, prefect_harness) -> dict[str, tuple]:
    """The word and the raw run, started together (two CLI processes, each in a folder of its own): name ->
    (result, the repository folder, the canaries folder, job, params)."""
    runs = {"word": (word_workflow(), word_inputs), "raw": (raw_workflow(), raw_inputs)}
    started = {}
    try:
        for name, (workflow, inputs) in runs.items():
            tmp = tmp_path_factory.mktemp(name)
            job, params = inputs(tmp)
            started[name] = (start_cli(tmp, name, workflow, job, params), tmp, job, params)
        return {name: (finish_cli(proc, tmp, name), tmp / "storage" / "bucket" / name, tmp / "canaries", job, params)
                for name, (proc, tmp, job, params) in started.items()}
    finally:
        for proc, *_ in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def word_run(cli_runs):
    return cli_runs["word"]


@pytest.fixture(scope="module")
def raw_run(cli_runs):
    return cli_runs["raw"]


def test_word_run_succeeds_and_no_canary_exists(word_run):
    result, repo, canaries, _, _ = word_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in canaries.iterdir()) == []


@pytest.mark.parametrize("pos, key", CASES)
def test_job_value_arrives_byte_identical(word_run, pos, key):
    _, repo, _, job, _ = word_run
    assert (repo / f"{pos}_{key}.out").read_bytes() == POSITIONS[pos][1](job[key]).encode()


@pytest.mark.parametrize("pos, key", CASES)
def test_param_value_arrives_byte_identical(word_run, pos, key):
    _, repo, _, _, params = word_run
    value = params[param_name(key)]
    assert (repo / f"param_{pos}_{key}.out").read_bytes() == POSITIONS[pos][1](value).encode()


def test_find_exec_and_rm_star_touch_nothing(word_run):
    _, repo, canaries, _, _ = word_run
    assert (repo / "keep.txt").read_text() == "kept\n"  # rm -f ${job.star} left it
    assert not list(canaries.glob("job-find_exec"))


@pytest.mark.parametrize("index, key", list(enumerate(SCATTERED)))
def test_scatter_and_parent_values_arrive_byte_identical(word_run, index, key):
    _, repo, _, job, _ = word_run
    branch = repo / "fan" / f"{index:05d}"
    assert (branch / "scatter.out").read_bytes() == job[key].encode()
    assert (branch / "parent.out").read_bytes() == job["parent_name"].encode()


def test_raw_mode_pastes_text_as_bclaw_does(raw_run):
    result, repo, canaries, job, params = raw_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert (repo / "flags.out").read_text() == "[-x][-y]"  # several arguments
    assert (repo / "glob.out").read_text() == "[a.txt][b.txt]"  # the shell globbed
    assert (repo / "param.out").read_text() == "[-p][-q]"
    # which is why raw is opt-in: a plain-looking value became find's -exec
    assert (canaries / "job-find_exec").exists()


def test_raw_mode_still_never_runs_metacharacters(raw_run):
    result, repo, canaries, job, params = raw_run
    assert result.returncode == 0, result.stderr[-3000:]
    evil = [job["dollar_paren"], job["newline"], job["ampersand"], params["Evil"]]
    assert (repo / "evil.out").read_text() == "".join(evil)
    assert sorted(p.name for p in canaries.iterdir()) == ["job-find_exec"]


def test_validate_names_the_steps_that_paste_raw(tmp_path):
    wf = tmp_path / "raw.yaml"
    wf.write_text(json.dumps(raw_workflow()))
    result = subprocess.run([sys.executable, "-m", "flows.run", "validate", str(wf), "--param", "Flags=x",
                             "--param", "Evil=y"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stdout == "ok\n"
    assert result.stderr == (f"{wf}: notice: Options.substitution is raw: job data and parameter values "
                             f"are pasted as shell text (a value may become several words or a glob) into "
                             f"the commands of: pasted\n")


# ---- --param values are data (in process: the loader and one command step) -----------------------------

def test_param_values_in_commands_are_literals_and_pasted_elsewhere(write_workflow):
    values = {"Yaml": "[1, 2]", "Bool": "yes", "Job": "${job.sample}", "Shell": "$(touch x); echo x"}
    wf = write_workflow("""
        Repository: s3://bucket/${Bool}
        Parameters: {Yaml: {Type: String}, Bool: {Type: String}, Job: {Type: String}, Shell: {Type: String}}
        Steps:
          - one:
              image: img:${Bool}
              commands:
                - printf '%s|' ${Yaml} "${Bool}" '${Job}' ${Shell} > out.txt
              outputs: {out: out.txt}
        """, params=values)
    assert wf.repository == "s3://bucket/yes" and wf.steps[0].image.name == "img:yes"  # pasted as text
    assert wf.steps[0].commands == [
        "printf '%s|' ${`\"[1, 2]\"`} \"${`\"yes\"`}\" '${`\"$\\u007bjob.sample\\u007d\"`}' "
        "${`\"$(touch x); echo x\"`} > out.txt"]


def test_param_values_reach_the_command_as_text(write_workflow, ctx, repo, tmp_path):
    from tasks.bclaw.command_step import run_command_step

    values = {"Yaml": "[1, 2]", "Bool": "yes", "Job": "${job.sample}", "Shell": f"$(touch {tmp_path}/c); x}}"}
    wf = write_workflow("""
        Repository: s3://bucket/repo
        Parameters: {Yaml: {Type: String}, Bool: {Type: String}, Job: {Type: String}, Shell: {Type: String}}
        Steps:
          - one:
              commands:
                - printf '%s|' ${Yaml} "${Bool}" '${Job}' ${Shell} > out.txt
              outputs: {out: out.txt}
        """, params=values)
    run_command_step(wf.steps[0], ctx)
    assert repo.read_text("s3://bucket/repo/out.txt") == "|".join(values.values()) + "|"
    assert not (tmp_path / "c").exists()


def test_a_line_break_into_a_quoted_heredoc_fails_the_step_before_running(write_workflow, ctx, repo, tmp_path):
    from tasks.bclaw.command_step import run_command_step
    from tasks.bclaw.substitution import SubstitutionError

    ctx.write_job_data({"v": f"x\nEOF\ntouch {tmp_path}/c"})
    wf = write_workflow("""
        Repository: s3://bucket/repo
        Steps:
          - one:
              commands:
                - "cat > out.txt <<'EOF'"
                - ${job.v}
                - EOF
              outputs: {out: out.txt}
        """)
    with pytest.raises(SubstitutionError, match="quoted here-doc"):
        run_command_step(wf.steps[0], ctx)
    assert not (tmp_path / "c").exists() and not repo.exists("s3://bucket/repo/out.txt")


def test_a_job_value_as_a_heredocs_end_word_is_one_plain_word_or_refused(write_workflow, ctx, repo, tmp_path):
    from tasks.bclaw.command_step import run_command_step
    from tasks.bclaw.substitution import SubstitutionError

    wf = write_workflow("""
        Repository: s3://bucket/repo
        Steps:
          - one:
              commands:
                - "cat > out.txt <<${job.end}"
                - body
                - ${job.end}
              outputs: {out: out.txt}
        """)
    ctx.write_job_data({"end": "END"})
    run_command_step(wf.steps[0], ctx)
    assert repo.read_text("s3://bucket/repo/out.txt") == "body\n"
    ctx.write_job_data({"end": f"E; touch {tmp_path}/c"})  # was a KeyError traceback, retried
    with pytest.raises(SubstitutionError, match="here-doc's end word"):
        run_command_step(wf.steps[0], ctx)
    assert not (tmp_path / "c").exists()


# ---- the option in validate and the JSON schema ------------------------------------------------------

def test_validate_notices_only_for_raw_workflows_and_refuses_unknown_modes(tmp_path):
    from flows.cli.specs import check_one, schema_for

    word, raw_unused, bogus = tmp_path / "word.yaml", tmp_path / "unused.yaml", tmp_path / "bogus.yaml"
    steps = "Steps:\n  - a:\n      commands: ['echo ${job.x}']\n"
    word.write_text("Repository: s3://b/r\n" + steps)
    raw_unused.write_text("Repository: s3://b/r\nOptions: {substitution: raw}\nSteps: [{a: {commands: ['true']}}]\n")
    bogus.write_text("Repository: s3://b/r\nOptions:\n  substitution: paste\n" + steps)
    assert check_one(word) == ([], [])
    assert check_one(raw_unused) == ([], [f"{raw_unused}: notice: Options.substitution is raw, but no step "
                                           f"substitutes job data or parameters into its commands"])
    problems, notices = check_one(bogus)
    assert len(problems) == 1 and problems[0].startswith(f"{bogus}:3:") and "substitution" in problems[0]
    assert "'word' or 'raw'" in problems[0] and notices == []
    options = schema_for("workflow")["$defs"]["OptionsSpec"]["properties"]["substitution"]
    assert options["enum"] == ["word", "raw"] and options["default"] == "word"
