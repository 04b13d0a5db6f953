"""Overhead of a deployment run (not a test): from ``prefect deployment run`` to Completed.

Starts a Prefect server (its own PREFECT_HOME, a free port, scheduler on), the ``labflows``
process pool and ``prefect deploy -n run-workflow`` from a fresh copy of the checkout (tracked
files only), then for each worker set-up starts a process worker and runs ``examples/hello``
through ``prefect deployment run`` several times, one after the other. Each run's time is split by
its state history and log lines (all stamped by the server or the worker on this machine):

* cli: the ``prefect deployment run`` command until the flow run exists (CLI start-up);
* poll wait: created until the worker picked it up (Pending): the worker's poll interval;
* hand-over: Pending until the worker has started the process ("... submitted to infrastructure");
* process start: until the new process logs its pull step (Python and Prefect imported);
* pull step: the deployment's pull steps (``set_working_directory``);
* imports: until the flow is Running (the flow's module and everything it imports loaded);
* flow: Running until Completed (the flow's own work); overhead is everything but the flow.

    .venv/bin/python bench/deploy.py [--runs 5] [--setups defaults,tuned]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.cli.local_server import is_healthy  # noqa: E402  (the CLI's own health check)
from tests.support.checkout import fresh_checkout  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import stop_group  # noqa: E402

PREFECT = [sys.executable, "-m", "prefect"]
POOL = "labflows"
TARGET_OVERHEAD_S = 10.0
# worker settings per set-up: Prefect's defaults, and what docs/deploy.md recommends
SETUPS: dict[str, dict[str, str]] = {
    "defaults": {},
    "tuned": {"PREFECT_WORKER_QUERY_SECONDS": "2"},
}
PHASES = ("cli", "poll wait", "hand-over", "process start", "pull step", "imports", "flow")


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    """A background process (own process group), stopped with SIGINT, then SIGKILL."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc, grace_s=20)


def _cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> str:
    result = subprocess.run([*PREFECT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"prefect {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


async def _history(flow_run_id: UUID) -> tuple[Any, list[Any], list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        states = await client.read_flow_run_states(flow_run_id)
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                                      sort=LogSort.TIMESTAMP_ASC, limit=200)
        return run, states, logs


def _wait_final(flow_run_id: UUID, timeout: float = 300) -> None:
    from prefect.client.orchestration import get_client

    async def state() -> Any:
        async with get_client() as client:
            return (await client.read_flow_run(flow_run_id)).state

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = asyncio.run(state())
        if current and current.is_final():
            if not current.is_completed():
                sys.exit(f"flow run {flow_run_id} ended {current.name}: {current.message}")
            return
        time.sleep(0.2)
    sys.exit(f"flow run {flow_run_id} not finished after {timeout:.0f} s")


def _first_log(logs: list[Any], pattern: str) -> float | None:
    return next((log.timestamp.timestamp() for log in logs if re.search(pattern, log.message)), None)


def one_run(env: dict[str, str], checkout: Path, storage: Path, show_logs: bool = False) -> dict[str, float]:
    """One ``prefect deployment run`` of examples/hello to Completed; seconds per phase."""
    started = time.time()
    out = _cli(["deployment", "run", "run-workflow/run-workflow", "--param", "workflow=examples/hello/workflow.yaml",
                "--param", "job_file=examples/hello/job.json", "--param", f"storage={storage}"], env, checkout)
    flow_run_id = UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))
    _wait_final(flow_run_id)
    time.sleep(1.5)  # the last log lines reach the server in batches
    run, states, logs = asyncio.run(_history(flow_run_id))
    at = {s.type.value: s.timestamp.timestamp() for s in states}
    if show_logs:  # where the time goes, line by line
        created = run.created.timestamp()
        events = [(t, f"state {name}") for name, t in at.items()] + [(log.timestamp.timestamp(), log.message)
                                                                     for log in logs]
        for t, text in sorted(events):
            print(f"  +{t - created:6.2f} s  {text[:100]}", file=sys.stderr)
    handed = _first_log(logs, r"submitted to infrastructure|^Starting flow run process") or at["PENDING"]
    pull_start = _first_log(logs, r"^Running \d+ deployment pull step") or handed
    pull_end = _first_log(logs, r"^All deployment steps completed") or pull_start
    return {
        "cli": run.created.timestamp() - started,
        "poll wait": at["PENDING"] - run.created.timestamp(),
        "hand-over": handed - at["PENDING"],
        "process start": pull_start - handed,
        "pull step": pull_end - pull_start,
        "imports": at["RUNNING"] - pull_end,
        "flow": at["COMPLETED"] - at["RUNNING"],
        "total": at["COMPLETED"] - started,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every set-up and print one markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per worker set-up (default: 5)")
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"comma-separated, of {', '.join(SETUPS)}")
    parser.add_argument("--show-logs", action="store_true", help="print each run's states and log lines (stderr)")
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="labflows-bench-deploy-"))
    checkout = fresh_checkout(base / "checkout")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PYTHONPATH": str(checkout), "PREFECT_HOME": str(base / "prefect-home"), "PREFECT_API_URL": url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false",
                "LABFLOWS_SCRATCH": str(base / "scratch"), "LABFLOWS_HOME": str(base / "labflows-home")})
    os.environ["PREFECT_API_URL"] = url  # this process reads the runs back
    rows: list[tuple[str, int, dict[str, float]]] = []
    try:
        with _process([*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, checkout,
                      base / "server.log"):
            deadline = time.monotonic() + 120
            while not is_healthy(url, timeout=1):
                if time.monotonic() > deadline:
                    sys.exit("the server did not answer within 120 s")
                time.sleep(0.3)
            _cli(["work-pool", "create", POOL, "--type", "process"], env, checkout)
            _cli(["--no-prompt", "deploy", "--name", "run-workflow"], env, checkout)
            for name in args.setups.split(","):
                worker_env = {**env, **SETUPS[name]}
                with _process([*PREFECT, "worker", "start", "--pool", POOL], worker_env, checkout,
                              base / f"worker-{name}.log"):
                    one_run(env, checkout, base / "storage")  # warm-up: the worker's own start-up
                    for i in range(args.runs):
                        rows.append((name, i + 1, one_run(env, checkout, base / "storage", args.show_logs)))
                        print(f"{name} run {i + 1}: {rows[-1][2]['total']:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print_table(rows)
    return 0


def print_table(rows: list[tuple[str, int, dict[str, float]]]) -> None:
    """One markdown table: every run, then the median per set-up."""
    print("| set-up | run | " + " | ".join(PHASES) + " | overhead | total |")
    print("|---|---|" + "---|" * (len(PHASES) + 2))
    by_setup: dict[str, list[dict[str, float]]] = {}
    for name, i, t in rows:
        by_setup.setdefault(name, []).append(t)
        _row(name, str(i), t)
    for name, runs in by_setup.items():
        _row(f"**{name}**", "median", {k: statistics.median(r[k] for r in runs) for k in (*PHASES, "total")})
    print(f"\noverhead = total - flow; target <= {TARGET_OVERHEAD_S:.0f} s")


def _row(name: str, run: str, t: dict[str, float]) -> None:
    cells = " | ".join(f"{t[p]:.1f}" for p in PHASES)
    print(f"| {name} | {run} | {cells} | {t['total'] - t['flow']:.1f} | {t['total']:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
