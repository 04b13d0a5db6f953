"""The warm runner (flows/cli/warm_runner.py): later runs are forked from a process that has Prefect
imported, and behave exactly as in-process runs (the CLI in subprocesses, a real local server).

One private Prefect home for the module, with a copy of a database a real first start set up (what
is tested here is not the first start from nothing: tests/cli/test_server.py): its first run is
in-process and starts the local server and the warm runner; every server and runner started there is
stopped at the end, also when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import warm_client
from tests.support.local_server import (
    ROOT,
    alive,
    kill_daemons,
    labflows,
    private_env,
    set_up_database,
    use_set_up_database,
    wait_until,
)

WORKFLOW = """\
Repository: s3://bucket/warm/${job.id}
Steps:
  - greet:
      commands:
        - echo "probe=$WARM_PROBE job=${job.id}" > ${out}
      outputs:
        out: greeting.txt
"""
FAILING = "Repository: s3://bucket/fail/${job.id}\nSteps:\n  - only:\n      commands:\n        - exit 3\n"
SLEEPING = ("Repository: s3://bucket/sleep/${job.id}\nSteps:\n  - nap:\n      commands:\n"
            "        - echo $$ > \"$WARM_PIDFILE\"; exec sleep 600\n")
TIMES = re.compile(r"\d+\.\ds")


def _runner_file(env: dict[str, str], suffix: str) -> Path:
    """The warm runner's file in ``env``'s Prefect home (the client's own naming rule)."""
    home = os.path.realpath(env["PREFECT_HOME"])
    key = warm_client.runner_path(suffix, home=home)
    return Path(key)


def runner_state(env: dict[str, str]) -> dict | None:
    """The serving warm runner's state (pid, runs, …), or None."""
    try:
        state = json.loads(_runner_file(env, "json").read_text())
    except (OSError, ValueError):
        return None
    return state if alive(state["pid"]) else None


def wait_for_runner(env: dict[str, str]) -> dict:
    """The warm runner's state once it serves (a run started it in the background)."""
    wait_until(lambda: runner_state(env) is not None, 180, "the warm runner serves")
    return runner_state(env)


def runner_pids(home: str) -> list[int]:
    """Pids of warm runner processes (and their children) whose Prefect home is ``home``."""
    wanted = f"PREFECT_HOME={home}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"flows.cli.warm_runner" in (proc / "cmdline").read_bytes() and \
                        wanted in (proc / "environ").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """(env, work folder, the first run: in-process, it starts the server and the warm runner)."""
    tmp = tmp_path_factory.mktemp("warm")
    env = private_env(tmp, WARM_PROBE="first")
    use_set_up_database(env, set_up_database(tmp_path_factory))
    work = tmp / "work"
    work.mkdir()
    (work / "wf.yaml").write_text(WORKFLOW)
    (work / "fail.yaml").write_text(FAILING)
    (work / "sleep.yaml").write_text(SLEEPING)
    (work / "job.json").write_text('{"id": "j1"}')
    try:
        assert runner_state(env) is None
        first = labflows(env, "workflow", "wf.yaml", "--job", "job.json", "--storage", "store-first", cwd=work)
        assert first.returncode == 0, first.stderr[-3000:]
        yield env, work, first
    finally:
        labflows(env, "server", "stop", timeout=60)
        for pid in runner_pids(env["PREFECT_HOME"]):
            os.kill(pid, signal.SIGKILL)
        kill_daemons(env["PREFECT_HOME"])


@pytest.mark.timeout(400)  # the module's first run (and perhaps the session's set-up database) in its set-up
def test_second_run_goes_through_the_warm_runner_with_the_same_outputs_as_in_process(warm):
    env, work, first = warm
    before = wait_for_runner(env)
    second = labflows({**env, "WARM_PROBE": "second"}, "workflow", "wf.yaml", "--job", "job.json",
                      "--storage", "store-first", cwd=work)
    assert second.returncode == first.returncode == 0, second.stderr[-3000:]
    assert runner_state(env)["runs"] == before["runs"] + 1  # forked by the runner, not run in-process
    assert TIMES.sub("T", second.stdout) == TIMES.sub("T", first.stdout)
    assert "store-first/bucket/warm/j1/greeting.txt" in second.stdout  # relative to the client's cwd
    # a relative --storage resolves against the client's cwd; the client's environment reaches the step
    # (not the runner's, which it inherited from the first run)
    assert (work / "store-first/bucket/warm/j1/greeting.txt").read_text() == "probe=second job=j1\n"
    assert "Traceback" not in second.stderr


def test_exit_codes_of_a_failing_step_and_a_bad_job_file_come_through(warm):
    env, work, _ = warm
    before = wait_for_runner(env)
    failed = labflows(env, "workflow", "fail.yaml", "--job", "job.json", "--storage", "store-fail", cwd=work)
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "ERROR step only" in failed.stderr and "Traceback" not in failed.stderr
    (work / "bad.json").write_text('{"id": ')
    bad = labflows(env, "workflow", "wf.yaml", "--job", "bad.json", "--storage", "store-bad", cwd=work)
    assert bad.returncode == 2
    assert len(bad.stderr.splitlines()) == 1 and bad.stderr.startswith("bad.json:1:"), bad.stderr
    assert not (work / "store-bad").exists()
    assert runner_state(env)["runs"] == before["runs"] + 2


def test_sigint_to_the_client_stops_the_run_and_its_step(warm):
    env, work, _ = warm
    before = wait_for_runner(env)
    pidfile = work / "sleeper.pid"
    proc = subprocess.Popen([sys.executable, "-m", "flows.run", "workflow", "sleep.yaml", "--job", "job.json",
                             "--storage", "store-sleep"], cwd=work, env={**env, "WARM_PIDFILE": str(pidfile)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 120, "the step's command runs")
        sleeper = int(pidfile.read_text())
        assert alive(sleeper) and runner_state(env)["runs"] == before["runs"] + 1
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted" in err
    wait_until(lambda: not alive(sleeper), 30, "the step's process is gone")


def test_two_clients_at_once_both_succeed(warm):
    env, work, _ = warm
    before = wait_for_runner(env)
    procs = [subprocess.Popen([sys.executable, "-m", "flows.run", "workflow", "wf.yaml", "--job", "job.json",
                               "--storage", f"store-{i}"], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for i in range(2):
        assert (work / f"store-{i}/bucket/warm/j1/greeting.txt").read_text() == "probe=first job=j1\n"
    assert runner_state(env)["runs"] == before["runs"] + 2


def test_changed_source_falls_back_in_process_and_a_fresh_runner_serves_the_next_run(warm):
    env, work, _ = warm
    old = wait_for_runner(env)
    os.utime(ROOT / "flows/cli/terminal.py")  # a module the runner imported, changed after it did
    run = labflows(env, "workflow", "wf.yaml", "--job", "job.json", "--storage", "store-stale", cwd=work)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "store-stale/bucket/warm/j1/greeting.txt").exists()
    wait_until(lambda: not alive(old["pid"]), 30, "the stale runner exits")
    fresh = wait_for_runner(env)  # started by the in-process run
    assert fresh["pid"] != old["pid"] and fresh["runs"] == 0
    again = labflows(env, "workflow", "wf.yaml", "--job", "job.json", "--storage", "store-stale", cwd=work)
    assert again.returncode == 0, again.stderr[-3000:]
    assert runner_state(env)["runs"] == 1


def test_server_stop_stops_the_runner_and_an_idle_runner_stops_itself(warm):
    env, work, _ = warm
    runner = wait_for_runner(env)
    assert stat.S_IMODE(_runner_file(env, "sock").stat().st_mode) == 0o600  # its user's only
    status = labflows(env, "server", "status")
    assert status.returncode == 0 and f"warm runner pid {runner['pid']} (" in status.stdout, status.stdout
    stopped = labflows(env, "server", "stop")
    assert stopped.returncode == 0 and f"stopped the warm runner pid {runner['pid']} (" in stopped.stdout
    wait_until(lambda: not alive(runner["pid"]), 30, "the runner exits after `server stop`")
    assert not _runner_file(env, "sock").exists() and runner_state(env) is None

    # started by hand with a tiny idle period (0.02 min): it stops itself, its files gone
    log = _runner_file(env, "log")
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flows.cli.warm_runner"], cwd=env["PREFECT_HOME"],
                                env={**env, "LABFLOWS_SERVER_IDLE_MINUTES": "0.02"}, stdout=out, stderr=out)
    try:
        proc.wait(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "no run for 0.02 min: stopping" in log.read_text()
    assert not _runner_file(env, "sock").exists() and not _runner_file(env, "json").exists()
