"""The local Prefect server that labflows commands start on first use and share (the CLI in subprocesses).

Each test has its own Prefect home (no API configured, the suite's ``LABFLOWS_EPHEMERAL`` opt-out
undone) and stops every server started there, also when it fails. Tests that are not about a first
start from nothing get a copy of a database a real first start set up (``set_up_env``).
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from flows.cli.local_server import is_healthy
from tests.support.local_server import (
    HELLO,
    alive,
    daemons_of,
    kill_daemons,
    labflows,
    private_env,
    set_up_database,
    state,
    use_set_up_database,
    wait_until,
)

SAVE_BLOCK = "import sys; from blocks import LocalRepository; LocalRepository(root=sys.argv[1]).save('lab-local')"


@pytest.fixture
def user_env(tmp_path):
    """A user's environment with a private Prefect home; every server started there is stopped after."""
    env = private_env(tmp_path)
    Path(env["PREFECT_HOME"]).mkdir()
    yield env
    kill_daemons(env["PREFECT_HOME"])


@pytest.fixture(scope="module")
def set_up_db(tmp_path_factory) -> Path:
    """A database a real first start set up (made once per session; see ``set_up_database``)."""
    return set_up_database(tmp_path_factory)


@pytest.fixture
def set_up_env(user_env, set_up_db):
    """``user_env`` whose Prefect home holds a copy of a set-up database (no set-up record names it)."""
    use_set_up_database(user_env, set_up_db)
    return user_env


def _flow_run_count(api_url: str) -> int:
    request = urllib.request.Request(api_url + "/flow_runs/count", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.timeout(600)  # a script and five commands; about 40 s on an idle machine, 270 s seen at load 11
def test_first_run_starts_the_server_later_runs_reuse_it_and_all_see_blocks_saved_in_python(user_env, tmp_path):
    home = user_env["PREFECT_HOME"]
    store = tmp_path / "store"
    # docs/s3.md: a block saved from Python, no server configured (Prefect's temporary server, same home)
    saved = subprocess.run([sys.executable, "-c", SAVE_BLOCK, str(store)], cwd=tmp_path, env=user_env,
                           capture_output=True, text=True, timeout=240)
    assert saved.returncode == 0, saved.stderr[-2000:]
    assert state(user_env) is None and daemons_of(home) == []

    first = labflows(user_env, *HELLO, "--repository-block", "lab-local", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (store / "example-bucket/hello-world/sample-001/hello.txt").read_text().startswith("Hello world!")
    started = state(user_env)
    assert started is not None and daemons_of(home) == [started["pid"]]
    assert started["prefect_home"] == str(Path(home).resolve())

    second = labflows(user_env, *HELLO, "--repository-block", "lab-local", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert state(user_env) == started and daemons_of(home) == [started["pid"]]
    assert _flow_run_count(started["url"]) == 2  # both runs went to the shared server

    status = labflows(user_env, "server", "status")
    assert status.returncode == 0
    assert status.stdout.startswith(f"running at {started['url']} (pid {started['pid']}, Prefect home ")
    assert str(Path(home).resolve()) in status.stdout

    stopped = labflows(user_env, "server", "stop")
    assert stopped.returncode == 0 and f"pid {started['pid']}" in stopped.stdout
    wait_until(lambda: not alive(started["pid"]), 30, "the server process exits after `server stop`")
    assert state(user_env) is None

    # --no-server: Prefect's temporary server in the process, the same database, no server left behind
    third = labflows(user_env, *HELLO, "--repository-block", "lab-local", "--no-server", cwd=tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]
    assert state(user_env) is None and daemons_of(home) == []


@pytest.mark.timeout(400)  # its set-up may be the one that makes the session's set-up database
def test_two_starters_get_one_server_which_stays_while_used_and_stops_when_idle(set_up_env):
    user_env = set_up_env
    home = Path(user_env["PREFECT_HOME"])
    # this test stands for a running labflows command: it holds the lease from the start
    lease = open(home / "labflows-server.lease", "a+")
    fcntl.flock(lease, fcntl.LOCK_SH)
    try:
        argv = [sys.executable, "-m", "flows.run", "server", "start", "--idle-minutes", "0.05"]  # 3 s
        starters = [subprocess.Popen(argv, env=user_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(2)]
        outs = [p.communicate(timeout=240) for p in starters]
        assert [p.returncode for p in starters] == [0, 0], outs
        started = state(user_env)
        assert started is not None and daemons_of(home) == [started["pid"]]
        assert all(f"(pid {started['pid']}," in out for out, _ in outs), outs
        log = home / "labflows-server.log"
        assert log.read_text().count("== labflows server starting") == 1

        wait_until(lambda: "a labflows command is running: staying" in log.read_text(), 60,
                   "the idle server notices the lease")
        assert alive(started["pid"]) and is_healthy(started["url"])
    finally:
        lease.close()
    wait_until(lambda: not alive(started["pid"]), 60, "the idle server stops once no command holds the lease")
    assert state(user_env) is None
    assert "no labflows command running: stopping" in log.read_text()


def test_status_names_a_configured_url_that_does_not_answer_and_runs_refuse_it_even_with_no_server(
        user_env, tmp_path):
    home = Path(user_env["PREFECT_HOME"])
    url = "http://127.0.0.1:9/api"  # the discard port: nothing answers there
    (home / "profiles.toml").write_text(f'active = "lab"\n\n[profiles.lab]\nPREFECT_API_URL = "{url}"\n')

    status = labflows(user_env, "server", "status")
    assert status.returncode == 1
    assert status.stdout.splitlines() == [
        f"labflows commands use PREFECT_API_URL in Prefect profile 'lab' ({home / 'profiles.toml'}): {url}, "
        "which does not answer (fix: run `prefect config unset PREFECT_API_URL`)"]

    run = labflows(user_env, *HELLO, "--no-server", "--storage", str(tmp_path / "storage"), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[0].startswith(f"error: PREFECT_API_URL in Prefect profile 'lab' "
                                                 f"({home / 'profiles.toml'}) points to {url}, which does not answer")
    assert not (tmp_path / "storage").exists() and daemons_of(home) == []


def test_status_of_a_server_that_died_names_its_state_file_url_and_pid(user_env):
    home = Path(user_env["PREFECT_HOME"])
    (home / "labflows-server.json").write_text(json.dumps({"url": "http://127.0.0.1:9/api", "pid": 999999}))
    status = labflows(user_env, "server", "status")
    assert status.returncode == 1
    assert status.stdout.splitlines() == [
        f"not running: {home.resolve() / 'labflows-server.json'} names http://127.0.0.1:9/api (pid 999999), "
        "which does not answer; the next labflows run starts a new server"]


def test_a_command_loading_a_saved_block_names_a_dead_api_url_in_one_line(user_env, tmp_path):
    url = "http://127.0.0.1:9/api"
    (tmp_path / "inputs.yml").write_text("inputs: []\n")
    done = labflows({**user_env, "PREFECT_API_URL": url}, "inputs", "list", str(tmp_path / "inputs.yml"),
                    "--credentials-block", "lab", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: the environment variable PREFECT_API_URL points to {url}, which does not answer: start that "
        "server (prefect server start) or run `unset PREFECT_API_URL` so that labflows starts its own"]


def test_status_names_an_api_url_from_prefect_toml_in_the_current_directory(user_env, tmp_path):
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://127.0.0.1:9/api"\n')
    status = labflows(user_env, "server", "status", cwd=tmp_path)
    assert status.returncode == 1
    assert status.stdout.splitlines() == [
        "labflows commands use PREFECT_API_URL (from a .env, prefect.toml or pyproject.toml in the current "
        "directory): http://127.0.0.1:9/api, which does not answer (fix: remove it from that file)"]


def _api(url: str, path: str, body: dict | None = None, method: str = "POST"):
    """One API call; a 503 (SQLite busy while the scheduler writes) is retried, as Prefect's client does."""
    for attempt in range(5):
        request = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                raw = resp.read()
            return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks (1/100 s)


@pytest.mark.timeout(400)
def test_an_idle_server_hibernates_without_cpu_wakes_for_the_next_run_and_stays_up_for_schedules(set_up_env):
    env = {**set_up_env, "LABFLOWS_SERVER_HIBERNATE_SECONDS": "1"}
    started = labflows(env, "server", "start")
    assert started.returncode == 0, started.stderr[-2000:]
    server = state(env)
    log = Path(env["PREFECT_HOME"]) / "labflows-server.log"
    asleep = "idle: hibernating until the next request"
    wait_until(lambda: log.read_text().count(asleep) == 1, 120, "the unused server hibernates")

    before = _cpu_ticks(server["pid"])
    time.sleep(3)  # a window to measure the sleeping process's CPU in; nothing to wait for
    assert _cpu_ticks(server["pid"]) - before <= 5  # awake it uses ~6 ticks in 3 s, asleep none

    # the next command wakes it: same server, same pid, the run recorded there (with a 1 s period it
    # may also nap while the command imports Prefect: counts only grow)
    run = labflows(env, *HELLO)
    assert run.returncode == 0, run.stderr[-3000:]
    assert state(env) == server and alive(server["pid"])
    assert _flow_run_count(server["url"]) == 1
    naps = log.read_text().count(asleep)
    assert naps >= 2  # woken by the run, asleep again after it
    wait_until(lambda: log.read_text().count(asleep) > naps, 120, "the request above woke it; it sleeps again")

    # a deployment with an active schedule needs the scheduler: no sleep while it exists
    flow = _api(server["url"], "/flows/", {"name": "hibernate-check"})
    deployment = _api(server["url"], "/deployments/", {
        "name": "hourly", "flow_id": flow["id"], "schedules": [{"schedule": {"interval": 3600}, "active": True}]})
    wait_until(lambda: _flow_run_count(server["url"]) > 1, 120, "the scheduler schedules the deployment's runs")
    # scheduled runs alone also keep it up; remove them and the schedule's reason stays
    runs = _api(server["url"], "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}}})
    for flow_run in runs:
        _api(server["url"], f"/flow_runs/{flow_run['id']}", method="DELETE")
    naps = log.read_text().count(asleep)
    time.sleep(4)  # four hibernation periods without a request
    assert log.read_text().count(asleep) == naps

    _api(server["url"], f"/deployments/{deployment['id']}/pause_deployment")
    for flow_run in _api(server["url"], "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}}}):
        _api(server["url"], f"/flow_runs/{flow_run['id']}", method="DELETE")
    wait_until(lambda: log.read_text().count(asleep) > naps, 120, "with the schedule paused it hibernates again")


@pytest.mark.parametrize("name, text", [(".env", "PREFECT_API_URL=http://127.0.0.1:9/api\n"),
                                        ("prefect.toml", '[api]\nurl = "http://127.0.0.1:9/api"\n'),
                                        ("pyproject.toml", '[tool.prefect.api]\nurl = "http://127.0.0.1:9/api"\n')])
def test_no_early_server_start_where_a_settings_file_could_point_elsewhere(tmp_path, monkeypatch, name, text):
    from flows.cli import local_server

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.chdir(tmp_path)
    assert not local_server._settings_files_here()
    (tmp_path / name).write_text(text)
    assert local_server._settings_files_here()
    local_server.start_server_early()
    assert local_server._EARLY == [] and not (tmp_path / "prefect-home").exists()  # nothing started, nothing written


def _block_type_slugs(api_url: str) -> set[str]:
    return {b["slug"] for b in _api(api_url, "/block_types/filter", {})}


@pytest.mark.timeout(400)
def test_a_restart_skips_the_database_set_up_its_first_start_recorded_and_serves_the_same(set_up_env):
    user_env = set_up_env
    home = Path(user_env["PREFECT_HOME"])
    log = home / "labflows-server.log"
    skipped = "skipping their set-up"
    first = labflows(user_env, "server", "start")
    assert first.returncode == 0, first.stderr[-2000:]
    record = json.loads((home / "labflows-server-setup.json").read_text())
    # no record names this database (a copy): the Alembic check and block registration ran
    assert skipped not in log.read_text()
    slugs = _block_type_slugs(state(user_env)["url"])
    assert {"s3-bucket", "docker-registry-credentials"} <= slugs and len(slugs) == record["block_types"]

    assert labflows(user_env, "server", "stop").returncode == 0
    second = labflows(user_env, "server", "start")
    assert second.returncode == 0, second.stderr[-2000:]
    assert log.read_text().count(skipped) == 1
    assert _block_type_slugs(state(user_env)["url"]) == slugs  # the collections' block types still there
    run = labflows(user_env, *HELLO)
    assert run.returncode == 0, run.stderr[-3000:]
    assert _flow_run_count(state(user_env)["url"]) == 1

    # a removed database: the next start makes it anew (a skipped start would serve an empty file)
    assert labflows(user_env, "server", "stop").returncode == 0
    for name in ("prefect.db", "prefect.db-wal", "prefect.db-shm"):
        (home / name).unlink(missing_ok=True)
    third = labflows(user_env, "server", "start")
    assert third.returncode == 0, third.stderr[-2000:]
    assert log.read_text().count(skipped) == 1
    assert _block_type_slugs(state(user_env)["url"]) == slugs
    assert _flow_run_count(state(user_env)["url"]) == 0
