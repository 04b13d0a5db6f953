"""A repository block that isn't saved is bad input: one line naming it and the saved ones, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import EXAMPLES


def test_unknown_repository_block_exits_2_naming_it(tmp_path):
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "LABFLOWS_HOME": str(tmp_path / "lf")}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "flows.run", "workflow", str(EXAMPLES / "hello" / "workflow.yaml"),
         "--job", str(EXAMPLES / "hello" / "job.json"), "--repository-block", "no-such-block"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines == ["error: no saved repository block named 'no-such-block'; "
                     "none is saved on this Prefect server"], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".labflows").exists()  # nothing written
