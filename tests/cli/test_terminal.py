"""In a real terminal (tmux) a run shows a live progress line whose branch count moves."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.support.cli import write_scatter_workflow
from tests.support.paths import REPO_ROOT

PASSED_ENV = ("PATH", "PYTHONPATH", "PREFECT_API_URL", "PREFECT_HOME", "LABFLOWS_HOME",
              "PREFECT_SERVER_ANALYTICS_ENABLED")


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def test_a_scatter_in_a_terminal_shows_a_moving_branch_count(tmp_path, harness_env):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (tests/support/install_podman.sh installs it: apt-get install -y tmux)")
    wf = write_scatter_workflow(tmp_path, 300, extra="sleep 0.05")
    (tmp_path / "job.json").write_text('{"run": "tty", "fail": "none"}')
    exports = "".join(f"export {k}={shlex.quote(harness_env[k])}\n" for k in PASSED_ENV if k in harness_env)
    script = tmp_path / "run.sh"
    script.write_text(f"{exports}cd {shlex.quote(str(tmp_path))}\n"
                      f"{shlex.quote(sys.executable)} -m flows.run workflow {shlex.quote(str(wf))} --job job.json "
                      f"--storage st\necho $? > rc.txt\nsleep 600\n")
    socket = f"labflows-test-{uuid.uuid4().hex[:8]}"  # a tmux server of this test's own
    _tmux(socket, "new-session", "-d", "-x", "160", "-y", "40", "-c", str(REPO_ROOT), f"sh {shlex.quote(str(script))}")
    counts: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "rc.txt").exists() and time.monotonic() < deadline:
            screen = _tmux(socket, "capture-pane", "-p")
            counts += [int(n) for n in re.findall(r"each .*?(\d+)/300 branches", screen)]
            time.sleep(0.3)
        screen = _tmux(socket, "capture-pane", "-p")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)
    assert (tmp_path / "rc.txt").exists(), f"the run did not end within 300 s:\n{screen}"
    assert (tmp_path / "rc.txt").read_text().strip() == "0", screen
    moving = sorted(set(counts))
    assert len(moving) >= 2 and any(0 < n < 300 for n in moving), f"counts seen: {moving}\n{screen}"
    assert "| INFO" not in screen
    assert re.search(r"^\s*each\s+done\s", screen, re.M), screen  # the summary after the live table
