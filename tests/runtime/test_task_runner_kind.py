"""Telling a Dask task runner from the thread runner without importing Dask (a second or more per
scatter step on a thread-runner run)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT

CHECK = """
import sys
from tasks.runtime.task_runners import is_dask_runner, make_task_runner
assert not is_dask_runner(make_task_runner("threads")), "a thread runner taken for Dask"
assert not is_dask_runner(None)
assert "prefect_dask" not in sys.modules and "distributed" not in sys.modules, "asking imported Dask"
assert is_dask_runner(make_task_runner("dask")), "a Dask runner not recognised"
print("ok")
"""


def test_is_dask_runner_imports_no_dask_and_still_recognises_one():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
