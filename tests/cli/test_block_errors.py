"""A repository block that isn't saved is bad input: one line naming it and the saved ones, exit 2."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import EXAMPLES


def test_unknown_repository_block_exits_2_naming_it(tmp_path, harness_env):
    env = {**harness_env, "LABFLOWS_HOME": str(tmp_path / "lf")}
    done = subprocess.run(
        [sys.executable, "-m", "flows.run", "workflow", str(EXAMPLES / "hello" / "workflow.yaml"),
         "--job", str(EXAMPLES / "hello" / "job.json"), "--repository-block", "no-such-block"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith("error: no saved repository block named 'no-such-block'; "), \
        done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".labflows").exists()  # nothing written
