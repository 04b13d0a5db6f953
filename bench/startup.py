"""Start-up cost of one small workflow run (not a test).

Prints, in one run, wall and CPU seconds of: ``sh -c`` running the hello command directly (the
baseline); the hello workflow with ``--no-server`` (Prefect's temporary server in every process),
twice; then three times in the default mode, where the first run starts the shared local server
(``flows.cli.local_server``) and the later ones reuse it. CPU is the command's own (children
included); the local server's CPU up to the end of its first run is printed separately.

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
    server_cpu = None
    try:
        rows.append(("local server, run 1 (starts it)", *timed(py, base)))
        state = json.loads((home / "prefect" / "labflows-server.json").read_text())
        server_cpu = process_cpu(state["pid"])
        rows.append(("local server, run 2 (reuses it)", *timed(py, base)))
        rows.append(("local server, run 3", *timed(py, base)))
    finally:
        subprocess.run([sys.executable, "-m", "flows.run", "server", "stop"], cwd=ROOT, env=base, capture_output=True)

    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'variant':34} {'wall s':>8} {'CPU s':>7} {'/ 4 s target':>13}")
    for label, wall, cpu in rows:
        print(f"{label:34} {wall:8.2f} {cpu:7.2f} {wall / TARGET_S:13.2f}")
    if server_cpu is not None:
        print(f"(the local server process used {server_cpu:.1f} s CPU to start and serve run 1)")


if __name__ == "__main__":
    main()
