"""CPU per scatter branch, in one process (not a test): bench/scatter.py's workflow through
``run_workflow`` called in-process against Prefect's temporary server in a fresh Prefect home.

Prints the CPU seconds per branch of this process (the flow: Python and the local repository),
of its children (the commands) and of the worker processes of a process-pool batch (counted with
the children). ``--profile`` also runs a cProfile of every branch (``run_branch`` wrapped, one
profiler per thread, merged) and prints the top functions by internal time. The machine may be
shared: read CPU, not wall.

    .venv/bin/python bench/scatter_profile.py --n 2000
    .venv/bin/python bench/scatter_profile.py --n 2000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import scatter as scatter_bench  # noqa: E402


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _profile_branches() -> list[cProfile.Profile]:
    """Wrap ``run_branch`` so every call runs under its thread's profiler; returns the profilers."""
    from tasks.bclaw.scatter import branches

    profilers: list[cProfile.Profile] = []
    local = threading.local()
    original = branches.run_branch

    def profiled(*args, **kwargs):
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile(time.thread_time)
            profilers.append(prof)
        prof.enable()
        try:
            return original(*args, **kwargs)
        finally:
            prof.disable()

    branches.run_branch = profiled
    return profilers


def main() -> None:
    """Run one scatter and print its CPU per branch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="branches (default 2000)")
    parser.add_argument("--profile", action="store_true", help="cProfile every branch (slower)")
    parser.add_argument("--top", type=int, default=30, help="functions listed with --profile")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="labflows-scatter-profile-"))
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(PREFECT_HOME=str(home / "prefect"), LABFLOWS_HOME=str(home / "labflows"),
                      LABFLOWS_SCRATCH=str(home / "scratch"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_SERVER_UI_ENABLED="false", LABFLOWS_EPHEMERAL="1",
                      PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    from flows.workflow import run_workflow

    try:
        warm = home / "warm"
        scatter_bench.make_input(warm, 1)
        (warm / "wf.yaml").write_text(scatter_bench.WORKFLOW)
        run_workflow(workflow=str(warm / "wf.yaml"), job={"id": "warm", "n": 2}, storage=str(warm / "storage"))
        profilers = _profile_branches() if args.profile else []
        work = home / "run"
        scatter_bench.make_input(work, 1)
        (work / "wf.yaml").write_text(scatter_bench.WORKFLOW)
        me0, kids0 = _cpu()
        wall0 = time.perf_counter()
        run_workflow(workflow=str(work / "wf.yaml"), job={"id": "run", "n": args.n}, storage=str(work / "storage"))
        wall = time.perf_counter() - wall0
        me1, kids1 = _cpu()
        print(f"N={args.n}: wall {wall:.1f} s, load {os.getloadavg()[0]:.1f}; CPU per branch: "
              f"this process {1000 * (me1 - me0) / args.n:.2f} ms, children {1000 * (kids1 - kids0) / args.n:.2f} ms")
        if profilers:
            stats = pstats.Stats(profilers[0], stream=(out := io.StringIO()))
            for prof in profilers[1:]:
                stats.add(prof)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.print_callees("run_command_step")
            print(out.getvalue())
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
