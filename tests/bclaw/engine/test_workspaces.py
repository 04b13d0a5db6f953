"""Workspaces of runs that died are swept up by the next run; kept, live and foreign ones stay.

A workspace's name says who owns it (``<step>-<pid>@<host>-XXXX``); earlier versions' workspaces
carry an owner file instead, and the sweep still reads it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tasks.bclaw.workspaces import (
    KEPT_FILE,
    OWNER_FILE,
    keep_workspace,
    new_workspace,
    sweep_stale_workspaces,
    workspace_owner,
)
from tests.support.paths import EXAMPLES


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _workspace(scratch, name, host, pid):
    ws = scratch / name
    ws.mkdir(parents=True)
    (ws / OWNER_FILE).write_text(json.dumps({"host": host, "pid": pid}))
    (ws / "data.txt").write_text("x")
    return ws


def _named_workspace(scratch, step, host, pid):
    """A workspace as :func:`new_workspace` names it now: the owner in its name, no owner file."""
    ws = scratch / f"{step}-{pid}@{host}-ab12_x9z"
    ws.mkdir(parents=True)
    (ws / "data.txt").write_text("x")
    return ws


@pytest.fixture
def scratch_with_workspaces(tmp_path):
    scratch = tmp_path / "scratch"
    here = socket.gethostname()
    dead = _workspace(scratch, "step-dead", here, _dead_pid())
    sleeper = subprocess.Popen(["sleep", "120"])
    live = _workspace(scratch, "step-live", here, sleeper.pid)
    kept = _workspace(scratch, "step-kept", here, _dead_pid())
    (kept / KEPT_FILE).touch()
    foreign = _workspace(scratch, "step-foreign", "some-other-host", _dead_pid())
    named_dead = _named_workspace(scratch, "my-step", here, _dead_pid())
    named_live = _named_workspace(scratch, "my-step", here, sleeper.pid)
    named_foreign = _named_workspace(scratch, "my-step", "other-host.lab", _dead_pid())
    (scratch / "references").mkdir()  # not a workspace: never touched
    (scratch / "logs").mkdir()
    (scratch / "step-1@nohost").mkdir()  # no mkdtemp suffix: not a workspace name
    yield scratch, [dead, named_dead], [live, kept, foreign, named_live, named_foreign, scratch / "references",
                                        scratch / "logs", scratch / "step-1@nohost"]
    sleeper.kill()
    sleeper.wait()


def test_sweep_removes_only_workspaces_of_dead_runs_on_this_host(scratch_with_workspaces):
    scratch, dead, staying = scratch_with_workspaces
    assert sorted(sweep_stale_workspaces(scratch)) == sorted(dead)
    assert not any(p.exists() for p in dead) and all(p.exists() for p in staying)
    assert sweep_stale_workspaces(scratch) == []


def test_new_workspaces_are_owned_and_failed_ones_kept(tmp_path):
    ws = new_workspace(tmp_path / "scratch", "align-reads")  # the scratch folder is made when missing
    assert ws.parent == tmp_path / "scratch" and ws.name.startswith("align-reads-")
    assert workspace_owner(ws) == (socket.gethostname(), os.getpid())
    assert list(ws.iterdir()) == []  # no owner file: the name says it
    assert new_workspace(tmp_path / "scratch", "align-reads") != ws
    keep_workspace(ws)
    assert (ws / KEPT_FILE).exists()


@pytest.mark.usefixtures("prefect_harness")
def test_the_next_run_sweeps_up(scratch_with_workspaces, tmp_path, monkeypatch):
    from flows.workflow import run_workflow

    scratch, dead, staying = scratch_with_workspaces
    monkeypatch.setenv("LABFLOWS_SCRATCH", str(scratch))
    run_workflow(workflow=str(EXAMPLES / "hello" / "workflow.yaml"), job_file=str(EXAMPLES / "hello" / "job.json"),
                 storage=str(tmp_path / "storage"))
    assert not any(p.exists() for p in dead) and all(p.exists() for p in staying)
    assert [p.name for p in scratch.iterdir() if (p / OWNER_FILE).exists()] != []  # the others
    assert not any(p.name.startswith("hello-") for p in scratch.iterdir())  # its own workspace was removed
