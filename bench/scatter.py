"""Scatter benchmark: N items through xargs, labflows and Snakemake, on the same generated input (not a test).

For each size N, in a fresh temporary folder:

* baseline: ``xargs -P2`` runs the per-item command (``sha256sum`` of a small file into
  ``out/<item>/hash.txt``) for every item;
* labflows: ``python -m flows.run workflow`` on a workflow with a split step (writes the item list
  and the small file), a scatter step over the N items running the same command, and its gather
  (``<Step>_manifest.json``), in Prefect's ephemeral mode as a user's first run would (the temporary
  server's start-up is included; ``--server`` also times a run against an already running server);
* Snakemake (when installed, N <= 1000): the equivalent Snakefile with ``--cores 2``.

Prints wall seconds, the peak memory of the whole process tree (the sum of every process's PSS,
sampled from /proc every 0.2 s: the temporary Prefect server, Dask workers and commands included;
PSS splits shared pages; a child between fork and exec is skipped) and the ratios
labflows/baseline and labflows/Snakemake.

    .venv/bin/python bench/scatter.py                     # N = 200, 1000, 10000
    .venv/bin/python bench/scatter.py --sizes 200,1000    # a quicker run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE_MAX_N = 1000

WORKFLOW = """\
Repository: s3://bench/scatter/${job.id}
Steps:
  - split:
      commands:
        - seq -f 'item%05g' 1 ${job.n} > items.txt
        - echo 'a small file to hash' > data.txt
      outputs:
        items: items.txt
        data: data.txt
  - hash_all:
      scatter:
        item: "@items.txt"
      inputs:
        data: data.txt
      steps:
        - hash:
            retry: {attempts: 0}
            inputs:
              data: ${parent.data}
            commands:
              - sha256sum ${data} > hash.txt
            outputs:
              hash: hash.txt
      outputs:
        hash: hash.txt
"""

SNAKEFILE = """\
ITEMS = [line.strip() for line in open("items.txt") if line.strip()]

rule all:
    input: expand("out/{item}/hash.txt", item=ITEMS)

rule hash:
    input: "data.txt"
    output: "out/{item}/hash.txt"
    shell: "sha256sum {input} > {output}"
"""


@dataclass
class Measure:
    """One timed command: wall seconds, the process tree's peak memory (sum of PSS) in MB, and
    whether it finished within its time limit."""

    wall_s: float
    peak_rss_mb: float
    finished: bool = True


def _parent_map() -> dict[int, int]:
    """Every process's parent, from one pass over /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return parents


def _tree_pids(roots: list[int], parents: dict[int, int]) -> list[int]:
    """``roots`` and all their descendants (each once), given :func:`_parent_map`."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    pids, seen, todo = [], set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def _pss_kb(pid: int) -> int:
    """A process's proportional set size (kB): its RSS with shared pages divided among sharers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _tree_pss_kb(roots: list[int]) -> int:
    """Memory of whole process trees (kB), as the sum of their processes' PSS; one pass over /proc
    (the sampling shares the machine with what it measures).

    A child caught between fork and exec still has its parent's command line; under vfork (what
    ``subprocess`` uses) it shares the parent's memory, so counting it would count the parent twice.
    """
    parents = _parent_map()
    total = 0
    seen: dict[int, bytes] = {}
    for pid in _tree_pids(roots, parents):
        seen[pid] = _cmdline(pid)
    for pid, cmd in seen.items():
        if pid not in roots and cmd and cmd == seen.get(parents.get(pid, -1)):
            continue
        total += _pss_kb(pid)
    return total


SAMPLE_EVERY_S = (0.2, 1.0)  # memory sampling: often in the first 20 s, then once a second


def measure(argv: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None, *,
            also: Callable[[], list[int]] | None = None, time_limit_s: float | None = None) -> Measure:
    """Run ``argv``; wall time and sampled peak tree memory. Exits loudly when the command fails.

    ``also``: more process trees counted with the command's (a detached local server, by pid).
    ``time_limit_s``: stop the command's process group then, and return ``finished=False``.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=time_limit_s is not None)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss_kb([proc.pid, *(also() if also else [])]))
            done.wait(SAMPLE_EVERY_S[time.perf_counter() - started > 20])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    finished = True
    try:
        out, _ = proc.communicate(stdin, timeout=time_limit_s)
    except subprocess.TimeoutExpired:
        finished = False
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if finished and proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{out[-3000:]}")
    return Measure(wall, peak / 1024, finished)


def make_input(work: Path, n: int) -> None:
    """The items list and the small file (what the labflows split step writes, for the others)."""
    work.mkdir(parents=True)
    (work / "items.txt").write_text("".join(f"item{i:05d}\n" for i in range(1, n + 1)))
    (work / "data.txt").write_text("a small file to hash\n")


def run_baseline(work: Path, env: dict[str, str]) -> Measure:
    """``xargs -P2`` over the items, one ``sh -c`` per item."""
    script = 'mkdir -p "out/$1" && sha256sum data.txt > "out/$1/hash.txt"'
    items = (work / "items.txt").read_text()
    return measure(["xargs", "-P2", "-n1", "sh", "-c", script, "item"], work, env, stdin=items)


def run_labflows(work: Path, n: int, env: dict[str, str], extra: list[str], **measuring) -> Measure:
    """The scatter workflow through the labflows CLI; checks the manifest lists N hashes (when it
    finished). ``measuring``: :func:`measure`'s ``also`` and ``time_limit_s``."""
    (work / "wf.yaml").write_text(WORKFLOW)
    (work / "job.json").write_text(f'{{"id": "n{n}", "n": {n}}}')
    argv = [sys.executable, "-m", "flows.run", "workflow", str(work / "wf.yaml"), "--job", str(work / "job.json"),
            "--storage", str(work / "storage"), *extra]
    m = measure(argv, ROOT, env, **measuring)
    if not m.finished:
        return m
    manifest = json.loads((work / f"storage/bench/scatter/n{n}/hash_all_manifest.json").read_text())
    if len(manifest["hash"]) != n:
        sys.exit(f"labflows: manifest lists {len(manifest['hash'])} hashes, expected {n}")
    return m


def branches_done(work: Path, n: int) -> int:
    """How many branches of :func:`run_labflows`' scatter have their output (also of a stopped run)."""
    step = work / f"storage/bench/scatter/n{n}/hash_all"
    if not step.is_dir():
        return 0
    return sum(1 for entry in os.scandir(step) if entry.is_dir() and os.path.exists(f"{entry.path}/hash.txt"))


def storage_bytes(work: Path) -> int:
    """Bytes of every file under :func:`run_labflows`' storage folder (side files included)."""
    return sum(os.path.getsize(f"{d}/{name}") for d, _, names in os.walk(work / "storage") for name in names)


def snakemake_exe(env: dict[str, str]) -> str | None:
    """The snakemake command, next to this Python first, then on PATH."""
    return shutil.which("snakemake", path=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")


def run_snakemake(work: Path, env: dict[str, str]) -> Measure | None:
    """Snakemake on the equivalent Snakefile (None when snakemake is not installed)."""
    exe = snakemake_exe(env)
    if exe is None:
        return None
    (work / "Snakefile").write_text(SNAKEFILE)
    return measure([exe, "--cores", "2", "--quiet", "all", "--snakefile", "Snakefile"], work, env)


def start_server(env: dict[str, str]) -> None:
    """A background Prefect server for ``--server`` runs (``labflows server start``)."""
    subprocess.run([sys.executable, "-m", "flows.run", "server", "start"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def stop_server(env: dict[str, str]) -> None:
    """Stop the server :func:`start_server` started."""
    subprocess.run([sys.executable, "-m", "flows.run", "server", "stop"], cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ratio(a: float, b: float | None) -> str:
    """``a/b`` as text, ``-`` without ``b``."""
    return f"{a / b:.2f}" if b else "-"


def main() -> None:
    """Run every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,10000", help="comma-separated N (default 200,1000,10000)")
    parser.add_argument("--task-runner", default=None, help="passed to labflows (threads[=N], dask)")
    parser.add_argument("--server", action="store_true", help="also time labflows against a running server")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    home = Path(tempfile.mkdtemp(prefix="labflows-bench-scatter-"))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home / "prefect"), LABFLOWS_HOME=str(home / "labflows"),
               LABFLOWS_SCRATCH=str(home / "scratch"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_UI_ENABLED="false", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
               LABFLOWS_EPHEMERAL="1")  # the main rows: Prefect's temporary server, as measured so far
    extra = ["--task-runner", args.task_runner] if args.task_runner else []
    rows = []
    try:
        # one throw-away run so that the Prefect database exists (first-run migrations are not what we measure)
        make_input(home / "warmup", 2)
        run_labflows(home / "warmup", 2, env, extra)
        for n in sizes:
            base_dir, lab_dir, snake_dir = home / f"xargs-{n}", home / f"labflows-{n}", home / f"snakemake-{n}"
            make_input(base_dir, n)
            make_input(lab_dir, n)
            baseline = run_baseline(base_dir, env)
            lab = run_labflows(lab_dir, n, env, extra)
            snake = None
            if n <= SNAKEMAKE_MAX_N:
                make_input(snake_dir, n)
                snake = run_snakemake(snake_dir, env)
            rows.append((n, baseline, lab, snake))
            print_row(*rows[-1])
        if args.server:
            env = {k: v for k, v in env.items() if k != "LABFLOWS_EPHEMERAL"}
            start_server(env)
            try:
                for n in sizes:
                    d = home / f"labflows-server-{n}"
                    make_input(d, n)
                    lab = run_labflows(d, n, env, extra)
                    print(f"N={n:>6}  labflows with a running server: {lab.wall_s:7.1f} s  {lab.peak_rss_mb:6.0f} MB")
            finally:
                stop_server(env)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print_summary(rows)


def print_row(n: int, baseline: Measure, lab: Measure, snake: Measure | None) -> None:
    """One line per size as it finishes."""
    snake_text = f"{snake.wall_s:7.1f} s {snake.peak_rss_mb:6.0f} MB" if snake else "skipped"
    print(f"N={n:>6}  xargs {baseline.wall_s:6.2f} s {baseline.peak_rss_mb:5.0f} MB | "
          f"labflows {lab.wall_s:7.1f} s {lab.peak_rss_mb:6.0f} MB | snakemake {snake_text}", flush=True)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A right-aligned markdown table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.rjust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"]
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def print_summary(rows: list) -> None:
    """The table with ratios, and the growth of labflows' time between sizes."""
    if not rows:
        return
    header = ["N", "xargs -P2 s", "labflows s", "labflows peak MB", "snakemake s", "snakemake peak MB",
              "labflows/xargs", "labflows/snakemake"]
    table = [[str(n), f"{base.wall_s:.2f}", f"{lab.wall_s:.1f}", f"{lab.peak_rss_mb:.0f}",
              f"{snake.wall_s:.1f}" if snake else "skipped", f"{snake.peak_rss_mb:.0f}" if snake else "-",
              ratio(lab.wall_s, base.wall_s), ratio(lab.wall_s, snake.wall_s if snake else None)]
             for n, base, lab, snake in rows]
    print()
    print(markdown_table(header, table))
    print("(peak MB: the process tree's peak memory, sum of PSS)")
    for (n1, _, a, _), (n2, _, b, _) in zip(rows, rows[1:]):
        print(f"labflows time growth N={n1} -> N={n2}: {b.wall_s / a.wall_s:.1f}x for {n2 / n1:.0f}x the items")
    if snakemake_exe(dict(os.environ)) is None:
        print("snakemake: not installed (pip install -e '.[bench]'); its columns are skipped")


if __name__ == "__main__":
    main()
