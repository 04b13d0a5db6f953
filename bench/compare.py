"""labflows against the tools users would otherwise pick, one table from one run (not a test).

Each row runs labflows as users run it (the CLI in a fresh process, default mode: the local server
and warm runner its home's first run starts, ``PREFECT_API_URL`` unset) and its anchor on the same
machine, right after each other:

=============  ==========================================  ============================  ========
row            labflows                                    anchor                        target
=============  ==========================================  ============================  ========
hello-first    examples/hello after ``make demo``          one-rule Snakefile            <= 3x
hello-second   examples/hello, the same home again         one-rule Snakefile            <= 1x
app            3-chunk B-Fabric app (each process 1 s)     bfabric-app-runner 0.9.1      <= 0.8x
scatter200     scatter of 200 (``sha256sum`` per item)     Snakemake ``--cores 2``       <= 1x
scatter1000    scatter of 1,000                            Snakemake ``--cores 2``       <= 0.25x
scatter10000   scatter of 10,000                           ``xargs -P2``                 <= 8x
scatter100000  scatter of 100,000: wall, peak memory of     (none)                        <= 300 s,
               the process tree with the local server                                   < 1 GB,
               and warm runner, Prefect database growth                                  < 50 MB
fail           a failing one-step run (exit 3, no retry)   the same run succeeding       <= 2x
idle           CPU s used in 5 s by processes labflows     (nothing)                     <= 0.05 s
               left running after the rows above (once
               the server hibernated: 25 s after a run)
=============  ==========================================  ============================  ========

Times are medians of ``--repeat`` runs (default 3; scatter rows run once). The scatter rows run in
a Prefect home where one small scatter already ran (the local server started, the database made):
the everyday run, not the first one (that is ``hello-first``). ``scatter100000`` is stopped after
``--limit-100k`` seconds (default 600) and then reports how many branches were done. The anchors are installed
by this script into their own virtual environments under ``.labflows/bench/`` (Snakemake from PyPI,
bfabric-app-runner 0.9.1 with Python 3.12 and 3.13 from pyenv), never by ``make test``. Both app runs
talk to one B-Fabric stand-in (``standin/``) started here, each on its own workunits. The scatter
rows reuse ``bench/scatter.py``, the app reuses ``bench/chunks.py``'s app.

    .venv/bin/python bench/compare.py                   # every row, ~10 min on 2 idle cores
    .venv/bin/python bench/compare.py --quick           # one run each, no N=10,000 or 100,000
    .venv/bin/python bench/compare.py --rows hello-second,fail
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import chunks as chunks_bench  # noqa: E402
from bench import scatter as scatter_bench  # noqa: E402

TOOLS = ROOT / ".labflows" / "bench"
#: anchor -> (Python version, what pip installs). bfabric-app-runner 0.9.1 says Python >= 3.12 but
#: reads its Makefile template with 3.13's importlib.resources (3.12: "must be only a file name").
ANCHORS = {"snakemake": ("3.12", ["snakemake"]), "app-runner": ("3.13", ["bfabric-app-runner==0.9.1"])}
HELLO = ["workflow", "examples/hello/workflow.yaml", "--job", "examples/hello/job.json"]
HELLO_SNAKEFILE = """\
rule hello:
    output: "hello.txt"
    shell: "echo 'Hello world! This is job sample-001!' | tee {output}"
"""
FAILING = "Repository: s3://bench/fail/${job.id}\nSteps:\n  - only:\n      commands:\n        - %s\n"
APP_CHUNKS = 3
IDLE_WINDOW_S = 5.0
IDLE_SETTLE_S = 10.0  # after the server's hibernation period: its check (every 3 s) and shutdown


@dataclass
class Row:
    """One line of the table."""

    name: str
    labflows: float
    anchor: float | None
    target: float  # the ratio labflows/anchor to stay within (idle: CPU seconds)
    unit: str = "s"
    note: str = ""
    checks_met: bool = True  # further limits of the row (scatter100000: memory, database)

    @property
    def ratio(self) -> float | None:
        return self.labflows / self.anchor if self.anchor else None

    @property
    def met(self) -> bool:
        value = self.ratio if self.anchor is not None else self.labflows
        return value is not None and value <= self.target and self.checks_met


# ---- anchors, in their own virtual environments --------------------------------------------------
def python_version(version: str) -> str:
    """A Python ``version`` interpreter (pyenv's, else ``python<version>`` on PATH)."""
    found = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
    if found.returncode == 0:
        prefix = found.stdout.strip().splitlines()[-1]
        return str(Path(prefix) / "bin" / f"python{version}")
    exe = shutil.which(f"python{version}")
    if not exe:
        sys.exit(f"compare: no Python {version} (pyenv install {version} or put python{version} on PATH)")
    return exe


def anchor_tool(name: str, program: str) -> str:
    """``program`` from the anchor's own venv under .labflows/bench/, installed on first use."""
    version, packages = ANCHORS[name]
    venv = TOOLS / name
    exe = venv / "bin" / program
    if not exe.exists():
        print(f"installing {' '.join(packages)} (Python {version}) into {venv} ...", flush=True)
        subprocess.run([python_version(version), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
    return str(exe)


# ---- measuring -----------------------------------------------------------------------------------
def timed(argv: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> float:
    """Wall seconds of one command; exits loudly when its exit code is not ``expect``."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != expect:
        sys.exit(f"compare: exit {result.returncode} (expected {expect}): {' '.join(argv)}\n"
                 f"{(result.stdout + result.stderr)[-3000:]}")
    return wall


def median_of(repeat: int, run: Callable[[int], float]) -> float:
    """The median of ``run(0)``, ``run(1)``, …"""
    return statistics.median(run(i) for i in range(repeat))


class Bench:
    """What every row shares: a scratch home, the environment of the labflows runs, the repeat."""

    def __init__(self, home: Path, repeat: int):
        self.home = home
        self.repeat = repeat
        env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "BFABRICPY_CONFIG_OVERRIDE")}
        env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false",
                   PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
        self.base_env = env
        self.homes: dict[str, dict[str, str]] = {}
        self.env = self.labflows_env("main")
        self.warmed = False

    def labflows_env(self, name: str) -> dict[str, str]:
        """An environment with its own Prefect and labflows homes under the scratch home."""
        d = self.home / "homes" / name
        (d / "prefect").mkdir(parents=True, exist_ok=True)  # Prefect does not create its home's parents
        env = {**self.base_env, "PREFECT_HOME": str(d / "prefect"), "LABFLOWS_HOME": str(d / "labflows"),
               "LABFLOWS_SCRATCH": str(d / "scratch")}
        self.homes[name] = env
        return env

    def stop_servers(self) -> None:
        """Stop the local Prefect server (and warm runner) each home's first run started (the default mode)."""
        for env in self.homes.values():
            self.stop_server(env)

    def stop_server(self, env: dict[str, str]) -> None:
        """``labflows server stop`` in the home of ``env``."""
        subprocess.run([sys.executable, "-m", "flows.run", "server", "stop"], cwd=ROOT, env=env,
                       capture_output=True, timeout=120)

    def warm(self) -> None:
        """One small scatter in the main home, once: its local server runs and its database exists."""
        if not self.warmed:
            work = self.fresh("warm-")
            scatter_bench.make_input(work / "in", 2)
            scatter_bench.run_labflows(work / "in", 2, self.env, [])
            self.warmed = True

    def labflows(self, args: list[str], env: dict[str, str] | None = None, expect: int = 0) -> float:
        """Wall seconds of ``python -m flows.run ARGS``."""
        return timed([sys.executable, "-m", "flows.run", *args], ROOT, env or self.env, expect)

    def fresh(self, prefix: str) -> Path:
        """A new empty folder."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.home))


# ---- rows ----------------------------------------------------------------------------------------
def snakemake_hello(b: Bench) -> float:
    """Median wall seconds of the one-rule Snakefile, each run in a fresh folder."""
    exe = anchor_tool("snakemake", "snakemake")

    def once(_: int) -> float:
        work = b.fresh("snakemake-hello-")
        (work / "Snakefile").write_text(HELLO_SNAKEFILE)
        return timed([exe, "--cores", "1", "--quiet"], work, b.base_env)

    return median_of(b.repeat, once)


def hello_rows(b: Bench, wanted: set[str]) -> list[Row]:
    """First run after ``make demo`` and second run of examples/hello, against Snakemake.

    "After ``make demo``": a home that one run has prepared (database migrated), whose local server
    (and warm runner) has since stopped: ``server stop`` stands for its idle stop. The second run
    follows the first at once (the warm runner the first run started may still be importing).
    """
    anchor = snakemake_hello(b)
    firsts, seconds = [], []
    for i in range(b.repeat):
        env = b.labflows_env(f"hello-{i}")
        storage = ["--storage", str(b.fresh("hello-storage-"))]
        b.labflows([*HELLO, *storage], env)  # what `make demo` leaves: a migrated database
        b.stop_server(env)
        firsts.append(b.labflows([*HELLO, *storage], env))
        seconds.append(b.labflows([*HELLO, *storage], env))
    rows = []
    if "hello-first" in wanted:
        rows.append(Row("hello-first", statistics.median(firsts), anchor, 3.0,
                        note="after make demo (home prepared, server stopped) vs one-rule Snakefile"))
    if "hello-second" in wanted:
        rows.append(Row("hello-second", statistics.median(seconds), anchor, 1.0, note="vs one-rule Snakefile"))
    return rows


def app_row(b: Bench) -> Row:
    """The 3-chunk app through ``labflows app`` and through ``bfabric-app-runner run workunit``."""
    from standin.server import StandinServer
    from tests.support.standin import install_fake_ssh

    runner = anchor_tool("app-runner", "bfabric-app-runner")
    b.warm()  # the everyday run: the home's server up, its database made (hello-first measures the first run)
    if not shutil.which("rsync"):  # bfabric-app-runner copies local input files with it
        sys.exit("compare: the app row needs rsync (apt-get install rsync)")
    app_yml = chunks_bench.write_app(b.home / "app")
    workunits = list(range(300, 300 + 2 * b.repeat))
    server = StandinServer(seed=ROOT / "examples" / "bfabric" / "seed.yaml").start()
    try:
        chunks_bench.seed(server, b.home, workunits, 1.0, inputs=APP_CHUNKS, output_protocol="scp")
        # both copy files from and to "localhost" storages over ssh/scp/rsync: local stand-ins for ssh and scp
        fake = install_fake_ssh(b.home / "fake-bin", b.home / "fake-ssh.log")
        paths = {"PATH": f"{fake.bin_dir}{os.pathsep}{b.base_env.get('PATH', '')}", "FAKE_SSH_LOG": str(fake.log)}
        env = {**b.env, **paths, "BFABRICPY_CONFIG_OVERRIDE": json.dumps(server.config_override())}
        ours = [b.labflows(["app", str(app_yml), str(b.fresh("app-work-")), str(w)], env)
                for w in workunits[:b.repeat]]
        # the Makefile it writes calls bfabric-app-runner again: its venv goes first on PATH
        runner_env = {**b.base_env, **paths, "BFABRICPY_CONFIG_OVERRIDE": env["BFABRICPY_CONFIG_OVERRIDE"],
                      "PATH": f"{Path(runner).parent}{os.pathsep}{paths['PATH']}"}
        theirs = [timed([runner, "run", "workunit", str(app_yml), str(b.fresh("app-runner-work-")), str(w)],
                        b.home, runner_env)
                  for w in workunits[b.repeat:]]
    finally:
        server.stop()
    return Row("app", statistics.median(ours), statistics.median(theirs), 0.8,
               note=f"{APP_CHUNKS} chunks, 1 s each, vs bfabric-app-runner 0.9.1")


def scatter_row(b: Bench, n: int) -> Row:
    """A scatter of ``n`` (bench/scatter.py's workflow) against Snakemake (n <= 1000) or xargs -P2."""
    b.warm()
    lab_dir, anchor_dir = b.home / f"scatter-{n}", b.home / f"scatter-anchor-{n}"
    scatter_bench.make_input(lab_dir, n)
    scatter_bench.make_input(anchor_dir, n)
    lab = scatter_bench.run_labflows(lab_dir, n, b.env, [], also=lambda: local_server_pids(b.env))
    if n <= scatter_bench.SNAKEMAKE_MAX_N:
        exe = anchor_tool("snakemake", "snakemake")
        (anchor_dir / "Snakefile").write_text(scatter_bench.SNAKEFILE)
        anchor = scatter_bench.measure([exe, "--cores", "2", "--quiet", "all"], anchor_dir, b.base_env)
        return Row(f"scatter{n}", lab.wall_s, anchor.wall_s, 1.0 if n < 1000 else 0.25,
                   note=f"vs Snakemake --cores 2; peak {lab.peak_rss_mb:.0f} MB")
    anchor = scatter_bench.run_baseline(anchor_dir, b.base_env)
    return Row(f"scatter{n}", lab.wall_s, anchor.wall_s, 8.0, note=f"vs xargs -P2; peak {lab.peak_rss_mb:.0f} MB")


BIG_N = 100_000
BIG_LIMITS = {"wall_s": 300.0, "peak_mb": 1024.0, "db_mb": 50.0}


def prefect_db_bytes(env: dict[str, str]) -> int:
    """Size of the Prefect home's SQLite database (with its write-ahead log)."""
    home = Path(env["PREFECT_HOME"])
    return sum(p.stat().st_size for p in home.glob("prefect.db*") if p.is_file())


def local_server_pids(env: dict[str, str]) -> list[int]:
    """The pids of the home's local server and warm runners (detached, so not in the command's process
    tree; a run that goes through the runner happens in the runner's forked child, with its workers)."""
    home = Path(env["PREFECT_HOME"])
    pids = []
    for path in [home / "labflows-server.json", *home.glob("labflows-warm-*.json")]:
        try:
            pid = json.loads(path.read_text()).get("pid")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(pid, int) and Path(f"/proc/{pid}").exists():
            pids.append(pid)
    return pids


def scatter_big_row(b: Bench, time_limit_s: float) -> Row:
    """A scatter of :data:`BIG_N` on one machine: wall, peak memory of the command's process tree
    plus the local server's and warm runner's, the Prefect database's growth and the storage per branch."""
    b.warm()
    work = b.home / f"scatter-{BIG_N}"
    scatter_bench.make_input(work, BIG_N)
    db_before = prefect_db_bytes(b.env)
    lab = scatter_bench.run_labflows(work, BIG_N, b.env, [], also=lambda: local_server_pids(b.env),
                                     time_limit_s=time_limit_s)
    db_mb = (prefect_db_bytes(b.env) - db_before) / 2**20
    done = scatter_bench.branches_done(work, BIG_N)
    per_branch = scatter_bench.storage_bytes(work) / max(1, done)
    checks = lab.finished and lab.peak_rss_mb < BIG_LIMITS["peak_mb"] and db_mb < BIG_LIMITS["db_mb"]
    stopped = "" if lab.finished else f"stopped after {time_limit_s:g} s, "
    return Row(f"scatter{BIG_N}", lab.wall_s, None, BIG_LIMITS["wall_s"], checks_met=checks,
               note=f"{stopped}{done} branches done; peak {lab.peak_rss_mb:.0f} MB (< 1024, local server "
                    f"and warm runner included); database +{db_mb:.1f} MB (< 50); storage {per_branch:.0f} B per branch")


def fail_row(b: Bench) -> Row:
    """A one-step run whose command exits 3 against the same run exiting 0."""
    work = b.fresh("fail-")
    (work / "job.json").write_text('{"id": "j1"}')
    for name, command in (("ok", "exit 0"), ("bad", "exit 3")):
        (work / f"{name}.yaml").write_text(FAILING % command)

    def run(name: str, expect: int) -> Callable[[int], float]:
        return lambda i: b.labflows(["workflow", str(work / f"{name}.yaml"), "--job", str(work / "job.json"),
                                     "--storage", str(work / f"storage-{name}-{i}")], expect=expect)

    ok = median_of(b.repeat, run("ok", 0))
    bad = median_of(b.repeat, run("bad", 1))
    return Row("fail", bad, ok, 2.0, note="failing vs succeeding one-step run")


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def leftover_pids(home: Path) -> list[int]:
    """Processes whose environment points into the bench's scratch home (what the runs left)."""
    marker = str(home).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def idle_row(b: Bench) -> Row:
    """CPU seconds that leftover processes use in :data:`IDLE_WINDOW_S` while nothing runs.

    Measured once the local server had its chance to hibernate (``LABFLOWS_SERVER_HIBERNATE_SECONDS``
    after the last request, plus a margin): what a user's machine sees a minute after a run.
    """
    from flows.cli.server_daemon import hibernate_seconds

    time.sleep(hibernate_seconds() + IDLE_SETTLE_S)
    pids = leftover_pids(b.home)
    before = {p: _cpu_ticks(p) for p in pids}
    time.sleep(IDLE_WINDOW_S)
    ticks = sum(max(0, _cpu_ticks(p) - t) for p, t in before.items())
    cpu = ticks / os.sysconf("SC_CLK_TCK")
    return Row("idle", cpu, None, 0.05, unit="cpu s",
               note=f"{len(pids)} process(es) left, {IDLE_WINDOW_S:g} s window after the server's hibernation")


ROW_NAMES = ["hello-first", "hello-second", "app", "scatter200", "scatter1000", "scatter10000",
             f"scatter{BIG_N}", "fail", "idle"]
NOT_QUICK = ["scatter10000", f"scatter{BIG_N}"]  # left out of --quick unless named


def run_rows(b: Bench, wanted: list[str], big_limit_s: float = 600.0) -> list[Row]:
    """Every wanted row, in table order, printing each as it is done."""
    rows: list[Row] = []
    pending = set(wanted)
    for name in ROW_NAMES:
        if name not in pending:
            continue
        if name.startswith("hello"):
            new = hello_rows(b, pending & {"hello-first", "hello-second"})
            pending -= {"hello-first", "hello-second"}
        elif name == "app":
            new = [app_row(b)]
        elif name == f"scatter{BIG_N}":
            new = [scatter_big_row(b, big_limit_s)]
        elif name.startswith("scatter"):
            new = [scatter_row(b, int(name.removeprefix("scatter")))]
        elif name == "fail":
            new = [fail_row(b)]
        else:
            new = [idle_row(b)]
        pending.discard(name)
        for row in new:
            print(f"  {row.name}: {fmt(row.labflows)} {row.unit} vs {fmt(row.anchor)} -> {'met' if row.met else 'NOT met'}",
                  flush=True)
        rows += new
    return rows


# ---- output --------------------------------------------------------------------------------------
def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def table(rows: list[Row]) -> str:
    """The markdown table: row, labflows, anchor, ratio, target, met?, what."""
    lines = ["| row | labflows | anchor | ratio | target | met? | what |", "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        target = f"<= {r.target:g}x" if r.anchor is not None else f"<= {r.target:g} {r.unit}"
        lines.append(f"| {r.name} | {fmt(r.labflows)} {r.unit} | {fmt(r.anchor)} | {fmt(r.ratio)} | {target} | "
                     f"{'yes' if r.met else '**no**'} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen rows and print the table with the load average."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=None, help=f"comma-separated rows (default: all): {','.join(ROW_NAMES)}")
    parser.add_argument("--quick", action="store_true",
                        help="one run per row and no scatter10000 / scatter100000 (unless named)")
    parser.add_argument("--limit-100k", type=float, default=600.0,
                        help="stop scatter100000 after this many seconds and report how far it got (default 600)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row, median reported (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    wanted = [r.strip() for r in args.rows.split(",")] if args.rows else list(ROW_NAMES)
    unknown = sorted(set(wanted) - set(ROW_NAMES))
    if unknown:
        parser.error(f"unknown rows {', '.join(unknown)} (known: {', '.join(ROW_NAMES)})")
    if args.quick and not args.rows:
        wanted = [w for w in wanted if w not in NOT_QUICK]
    repeat = 1 if args.quick else max(1, args.repeat)

    home = Path(tempfile.mkdtemp(prefix="labflows-compare-"))
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    bench = Bench(home, repeat)
    try:
        rows = run_rows(bench, wanted, args.limit_100k)  # the idle row measures what the runs left, servers included
    finally:
        bench.stop_servers()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print()
    print(f"{started}, {os.cpu_count()} cores, load average (1/5/15 min) before: {load_before}, "
          f"after: {load_average()}; median of {repeat} run(s) per row (scatter rows: 1)")
    print(table(rows))
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
