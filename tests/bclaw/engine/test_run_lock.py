"""One run per repository at a time: a second run refuses, naming the first; stale locks are taken over."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from blocks.local import LocalRepository
from tasks.bclaw.run_lock import RepositoryBusy, repository_lock
from tests.support.paths import EXAMPLES

REPO = "s3://bkt/locked/r1"
LOCK = f"{REPO}/_control_/_RUN_LOCK_"


@pytest.fixture
def repo(tmp_path):
    return LocalRepository(root=str(tmp_path / "storage"))


def _holder(pid, host=None, name="first:job"):
    return json.dumps({"host": host or socket.gethostname(), "pid": pid, "run_name": name, "started": 0})


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_is_held_during_the_body_and_released_after(repo):
    with repository_lock(repo, REPO, run_name="me"):
        assert json.loads(repo.read_text(LOCK))["run_name"] == "me"
        with pytest.raises(RepositoryBusy, match=r"repository s3://bkt/locked/r1 is in use by run me \(pid \d+ on "):
            with repository_lock(repo, REPO, run_name="second"):
                pass
        assert json.loads(repo.read_text(LOCK))["run_name"] == "me"  # the refused one left it alone
    assert not repo.exists(LOCK)


def test_released_also_when_the_body_fails(repo):
    with pytest.raises(ZeroDivisionError):
        with repository_lock(repo, REPO):
            1 / 0
    assert not repo.exists(LOCK)


def test_a_live_holder_on_another_host_is_respected_and_named(repo):
    repo.write_text(LOCK, _holder(1, host="elsewhere"))
    with pytest.raises(RepositoryBusy) as err:
        with repository_lock(repo, REPO):
            pass
    assert "run first:job (pid 1 on elsewhere" in str(err.value) and f"delete {LOCK}" in str(err.value)


def test_a_dead_holder_on_this_host_is_taken_over(repo):
    repo.write_text(LOCK, _holder(_dead_pid()))
    with repository_lock(repo, REPO, run_name="next"):
        assert json.loads(repo.read_text(LOCK))["run_name"] == "next"
    assert not repo.exists(LOCK)


def test_a_second_cli_run_refuses_in_one_line_and_changes_nothing(tmp_path, harness_env):
    storage = tmp_path / "storage"
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        repo = LocalRepository(root=str(storage))
        lock = "s3://example-bucket/hello-world/sample-001/_control_/_RUN_LOCK_"
        repo.write_text(lock, _holder(sleeper.pid))
        done = subprocess.run([sys.executable, "-m", "flows.run", "workflow", str(EXAMPLES / "hello/workflow.yaml"),
                               "--job", str(EXAMPLES / "hello/job.json"), "--storage", str(storage)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**harness_env, "LABFLOWS_SCRATCH": str(tmp_path / "scratch")})
    finally:
        sleeper.kill()
        sleeper.wait()
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if line.startswith("ERROR ")]
    assert failed == [(
        "ERROR workflow failed: repository s3://example-bucket/hello-world/sample-001 is in use by run first:job "
        f"(pid {sleeper.pid} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(0))}); "
        "wait for it to end, "
        f"or delete {lock} if that run is gone")]
    run_dir = storage / "example-bucket/hello-world/sample-001"
    assert sorted(p.name for p in run_dir.rglob("*") if p.is_file()) == ["_RUN_LOCK_"]  # nothing else written
