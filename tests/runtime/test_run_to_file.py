"""run_to_file: a child's output appended to a file (no run log), its exit code, its timeout."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tasks.runtime.streaming import CommandTimeout, run_to_file

SPAWNS_AND_SLEEPS = ("import os, subprocess, sys, time\n"
                     "child = subprocess.Popen(['sleep', '60'])\n"
                     "open(sys.argv[1], 'w').write(str(child.pid))\n"
                     "time.sleep(60)\n")


def assert_gone(pid: int, when: str) -> None:
    """Within 10 s, ``pid`` has exited (or is a zombie): the group got its signal."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    pytest.fail(f"grandchild {pid} still runs {when}")


def test_output_is_appended_to_the_file_in_order_and_the_code_returned(tmp_path):
    log = tmp_path / "step.log"
    log.write_text("earlier attempt\n")
    code = run_to_file(["sh", "-c", "echo out; echo err >&2; echo out2; exit 4"], log_file=log, cwd=tmp_path)
    assert code == 4
    assert log.read_text() == "earlier attempt\nout\nerr\nout2\n"


def test_the_environment_and_folder_are_the_childs(tmp_path):
    log = tmp_path / "step.log"
    assert run_to_file(["sh", "-c", 'echo "$GREETING $(pwd)"'], log_file=log, cwd=tmp_path,
                       env={**os.environ, "GREETING": "hi"}) == 0
    assert log.read_text() == f"hi {tmp_path}\n"


def test_a_timeout_stops_the_whole_process_group(tmp_path):
    log, pid_file = tmp_path / "step.log", tmp_path / "grandchild.pid"
    with pytest.raises(CommandTimeout, match="timed out after 1 s"):
        run_to_file([sys.executable, "-c", SPAWNS_AND_SLEEPS, str(pid_file)], log_file=log, cwd=tmp_path,
                    timeout_s=1)
    assert_gone(int(pid_file.read_text()), "after the timeout")


def test_everything_but_the_command_is_given_by_keyword(tmp_path):
    with pytest.raises(TypeError):
        run_to_file(["true"], tmp_path / "step.log")  # noqa: the log file positionally is refused


def test_an_interrupted_wait_stops_the_whole_process_group_and_goes_on_up(tmp_path, monkeypatch):
    """Ctrl-C (or a cancelled task) while the command runs: its tree is stopped, the interrupt kept."""
    import subprocess

    log, pid_file = tmp_path / "step.log", tmp_path / "grandchild.pid"
    real_wait = subprocess.Popen.wait
    interrupted = []

    def wait_interrupted_once(self, timeout=None):
        if not interrupted:
            while not pid_file.exists() or not pid_file.read_text():  # the grandchild is started
                time.sleep(0.02)
            interrupted.append(self.pid)
            raise KeyboardInterrupt
        return real_wait(self, timeout=timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", wait_interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        run_to_file([sys.executable, "-c", SPAWNS_AND_SLEEPS, str(pid_file)], log_file=log, cwd=tmp_path,
                    timeout_s=60)
    monkeypatch.undo()
    assert_gone(int(pid_file.read_text()), "after the interrupt")
