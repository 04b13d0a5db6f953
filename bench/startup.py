"""Start-up cost of one small workflow run (not a test).

Prints, in one run: ``sh -c`` running the hello command directly (the baseline); the hello
workflow run twice in a row in Prefect's ephemeral mode, with default settings and with the
server's background services switched off; and twice more against a background server started
with ``labflows server start``. Ratios are against the baseline and against the target (4 s).

    .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELLO = ["-m", "flows.run", "workflow", "examples/hello/workflow.yaml", "--job", "examples/hello/job.json"]
TARGET_S = 4.0
# Services the temporary server does not need for a local run.
QUIET_SERVICES = {f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in (
    "SCHEDULER", "LATE_RUNS", "FOREMAN", "CANCELLATION_CLEANUP", "PAUSE_EXPIRATIONS",
    "REPOSSESSOR", "TRIGGERS", "EVENT_LOGGER", "TASK_RUN_RECORDER")}


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one command; fails loudly if it fails."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    """Run every variant and print the table."""
    home = Path(tempfile.mkdtemp(prefix="labflows-bench-"))
    base = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    base.update(PREFECT_HOME=str(home / "prefect"), LABFLOWS_HOME=str(home / "labflows"),
                LABFLOWS_SCRATCH=str(home / "scratch"))
    storage = ["--storage", str(home / "storage")]
    py = [sys.executable, *HELLO, *storage]

    rows = [("sh -c (baseline)", timed(["sh", "-c", 'echo "Hello world! This is job sample-001!"'], base))]
    for label, env in (("ephemeral, defaults", base), ("ephemeral, services off", {**base, **QUIET_SERVICES})):
        rows.append((f"{label}, run 1", timed(py, env)))
        rows.append((f"{label}, run 2", timed(py, env)))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.run", "server", "start"], cwd=ROOT, env=base, check=True,
                   capture_output=True)
    server_start = time.perf_counter() - started
    try:
        rows.append(("background server, run 1", timed(py, base)))
        rows.append(("background server, run 2", timed(py, base)))
    finally:
        subprocess.run([sys.executable, "-m", "flows.run", "server", "stop"], cwd=ROOT, env=base, capture_output=True)

    baseline = rows[0][1]
    print(f"{'variant':34} {'wall s':>8} {'x baseline':>11} {'/ 4 s target':>13}")
    for label, secs in rows:
        print(f"{label:34} {secs:8.2f} {secs / baseline:11.0f} {secs / TARGET_S:13.2f}")
    print(f"(labflows server start took {server_start:.1f} s, once)")


if __name__ == "__main__":
    main()
