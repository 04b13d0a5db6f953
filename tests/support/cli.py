"""Running the labflows command line in a subprocess, as a user does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCATTER_WORKFLOW = """\
Repository: s3://bench/runs/scatter/${job.run}
Steps:
  - make:
      commands:
        - seq 0 %(last)d > items.txt
      outputs:
        items: items.txt
  - each:
      scatter:
        n: "@items.txt"
      steps:
        - work:
            commands:
              - echo "item ${scatter.n}" > out.txt
              - %(extra)s
              - test "${scatter.n}" != "${job.fail}"
            outputs:
              out: out.txt
            retry: {attempts: 0}
      outputs:
        out: out.txt
"""


def write_scatter_workflow(folder: Path, branches: int, extra: str = "sleep 0") -> Path:
    """A two-step workflow: a list of ``branches`` numbers, then one scatter branch per number;
    the branch whose number is the job's ``fail`` exits 1. ``extra`` is one more command per branch."""
    path = folder / "scatter.yaml"
    path.write_text(SCATTER_WORKFLOW % {"last": branches - 1, "extra": extra})
    return path


def run_cli(*args: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m flows.run ARGS`` in ``cwd`` (stdout and stderr captured, no TTY)."""
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
