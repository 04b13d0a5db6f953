"""Start-up cost of one small workflow run (not a test).

Prints, in one run, wall and CPU seconds of: ``sh -c`` running the hello command directly (the
baseline); the hello workflow with ``--no-server`` (Prefect's temporary server in every process),
twice; then three times in the default mode, where the first run starts the shared local server
(``flows.cli.local_server``) and the later ones reuse it, through the warm runner the first run
starts (``flows.cli.warm_runner``; waited for before run 2). CPU is the command's own (children
included) plus, for a run forked by the warm runner, that child's (the runner records it); the
local server's CPU up to the end of its first run and the warm runner's start are printed separately.

    .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELLO = ["-m", "flows.run", "workflow", "examples/hello/workflow.yaml", "--job", "examples/hello/job.json"]
TARGET_S = 4.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one command; fails loudly if it fails."""
    cpu, started = _children_cpu(), time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{result.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu


def warm_state(home: Path) -> dict | None:
    """The warm runner's state file in Prefect home ``home`` (pid, runs, last_run_cpu_s), or None."""
    for path in home.glob("labflows-warm-*.json"):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


def timed_warm(argv: list[str], env: dict[str, str], home: Path) -> tuple[float, float]:
    """``timed``, plus the CPU of the warm runner's child when the runner ran it."""
    runs = (warm_state(home) or {}).get("runs", 0)
    wall, cpu = timed(argv, env)
    state = warm_state(home) or {}
    return wall, cpu + (state.get("last_run_cpu_s", 0.0) if state.get("runs", 0) > runs else 0.0)


def wait_for_warm_runner(home: Path, timeout_s: float = 300) -> dict | None:
    """The warm runner's state once it serves (None: it did not start within ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = warm_state(home)
        if state:
            return state
        time.sleep(0.2)
    return None


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run every variant and print the table."""
    home = Path(tempfile.mkdtemp(prefix="labflows-bench-"))
    base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "LABFLOWS_EPHEMERAL")}
    base.update(PREFECT_HOME=str(home / "prefect"), LABFLOWS_SCRATCH=str(home / "scratch"))
    py = [sys.executable, *HELLO, "--storage", str(home / "storage")]

    rows = [("sh -c (baseline)", *timed(["sh", "-c", 'echo "Hello world! This is job sample-001!"'], base))]
    rows.append(("--no-server, run 1 (fresh home)", *timed([*py, "--no-server"], base)))
    rows.append(("--no-server, run 2", *timed([*py, "--no-server"], base)))
    server_cpu = warm_cpu = None
    try:
        rows.append(("local server, run 1 (starts it)", *timed(py, base)))
        state = json.loads((home / "prefect" / "labflows-server.json").read_text())
        server_cpu = process_cpu(state["pid"])
        warm = wait_for_warm_runner(home / "prefect")
        warm_cpu = process_cpu(warm["pid"]) if warm else None
        rows.append(("local server, run 2 (warm runner)", *timed_warm(py, base, home / "prefect")))
        rows.append(("local server, run 3 (warm runner)", *timed_warm(py, base, home / "prefect")))
    finally:
        subprocess.run([sys.executable, "-m", "flows.run", "server", "stop"], cwd=ROOT, env=base, capture_output=True)

    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'variant':34} {'wall s':>8} {'CPU s':>7} {'/ 4 s target':>13}")
    for label, wall, cpu in rows:
        print(f"{label:34} {wall:8.2f} {cpu:7.2f} {wall / TARGET_S:13.2f}")
    if server_cpu is not None:
        print(f"(the local server process used {server_cpu:.1f} s CPU to start and serve run 1)")
    if warm_cpu is not None:
        print(f"(the warm runner used {warm_cpu:.1f} s CPU to start: imports, in the background of run 1)")


if __name__ == "__main__":
    main()
