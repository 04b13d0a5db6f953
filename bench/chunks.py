"""Parallel chunks: one B-Fabric app on 8 chunks, one after the other vs 2 and 4 at a time (not a test).

bfabric-app-runner runs the chunks of a workunit one after the other; ``run_app`` maps them over
a bounded thread pool (``max_parallel_chunks``). The benchmark app (written to a temporary
folder) dispatches one chunk per input resource of the workunit (8 files of about 200 KB); each
chunk's inputs are fetched through the B-Fabric stand-in, its process step reads the file, sleeps
1 s and writes a result, its collect step lists that result in outputs.yml, and the result is
registered as a resource (copied to a local storage). One Prefect session: a warm-up run (not
counted), then ``max_parallel_chunks`` 1 (the app runner's behaviour), 2 and 4 (interleaved when
repeated; the median is reported), each a whole
``run_app`` (workunit read from B-Fabric, statuses, dispatch, every chunk, registration) on its
own workunit and work directory. Prints wall times and the speed-up against 1.

    .venv/bin/python bench/chunks.py [--repeat N] [--sleep S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNKS = 8
TARGET_WITH_2 = 1.8

APP_YML = """\
bfabric: {app_runner: 0.9.1}
versions:
  - version: "1.0.0"
    commands:
      dispatch: {type: exec, command: '%(python)s ${app.dir}/dispatch.py'}
      process: {type: exec, command: '%(python)s ${app.dir}/process.py'}
      collect: {type: exec, command: '%(python)s ${app.dir}/collect.py'}
"""

DISPATCH = """\
import sys, pathlib, yaml
definition = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
work = pathlib.Path(sys.argv[2])
sleep = definition["execution"]["raw_parameters"].get("sleep_seconds") or "0"
chunks = []
for resource_id in definition["execution"]["resources"]:
    chunk = work / f"chunk_{resource_id}"
    chunk.mkdir(parents=True, exist_ok=True)
    (chunk / "inputs.yml").write_text(yaml.safe_dump({"inputs": [
        {"type": "bfabric_resource", "id": resource_id, "filename": "input.tsv"},
        {"type": "static_file", "content": sleep, "filename": "sleep.txt"}]}))
    chunks.append(chunk.name)
(work / "chunks.yml").write_text(yaml.safe_dump({"chunks": chunks}))
"""

PROCESS = """\
import sys, pathlib, time
chunk = pathlib.Path(sys.argv[1])
lines = (chunk / "input.tsv").read_text().splitlines()
time.sleep(float((chunk / "sleep.txt").read_text()))
(chunk / "result.tsv").write_text("\\n".join(line.upper() for line in lines) + "\\n")
"""

COLLECT = """\
import sys, pathlib, yaml
chunk = pathlib.Path(sys.argv[2]).absolute()
(chunk / "outputs.yml").write_text(yaml.safe_dump({"outputs": [
    {"type": "bfabric_copy_resource", "local_path": str(chunk / "result.tsv"),
     "store_entry_path": f"{chunk.name}.result.tsv"}]}))
"""


def write_app(app_dir: Path) -> Path:
    """The benchmark app (exec commands run by this interpreter); returns its app.yml."""
    app_dir.mkdir(parents=True)
    for name, text in (("dispatch.py", DISPATCH), ("process.py", PROCESS), ("collect.py", COLLECT)):
        (app_dir / name).write_text(text)
    (app_dir / "app.yml").write_text(APP_YML % {"python": sys.executable})
    return app_dir / "app.yml"


def write_inputs(data_dir: Path) -> list[dict]:
    """8 TSV files of ~200 KB and their resource rows (on storage 2, relative to ``data_dir``)."""
    import hashlib

    rows = []
    (data_dir / "bench").mkdir(parents=True)
    for i in range(1, CHUNKS + 1):
        path = data_dir / "bench" / f"bench_{i}.tsv"
        path.write_text("gene\tcount\n" + "".join(f"G{j:06d}\t{(i * j) % 997}\n" for j in range(16000)))
        rows.append({"id": 100 + i, "name": path.name, "workunit": 3, "storage": 20,
                     "relativepath": f"bench/{path.name}", "filechecksum": hashlib.md5(path.read_bytes()).hexdigest(),
                     "size": path.stat().st_size, "status": "available"})
    return rows


def seed(server, home: Path, workunits: list[int], sleep_s: float, inputs: int = CHUNKS,
         output_protocol: str = "file") -> None:
    """Input storage and resources, output storage, and one workunit per measured run (each with
    the first ``inputs`` resources: one chunk per resource). ``output_protocol="scp"`` makes the
    output storage an scp one on localhost (bfabric-app-runner registers only to those)."""
    data_dir = home / "data"
    resources = write_inputs(data_dir)[:inputs]
    server.seed({
        "storage": [
            {"id": 20, "name": "bench inputs", "host": "localhost", "basepath": f"{data_dir}/", "protocol": "file"},
            {"id": 3, "name": "bench outputs", "host": "localhost", "basepath": f"{home}/storage/",
             "protocol": output_protocol, "projectfolderprefix": "p"},
        ],
        "resource": resources,
        "workunit": [{"id": w, "name": f"bench {w}", "application": 1, "container": 1, "status": "pending",
                      "inputresource": [r["id"] for r in resources], "createdby": "standin"} for w in workunits],
        "parameter": [row for k, w in enumerate(workunits) for row in (
            {"id": 1000 + 2 * k, "workunit": w, "key": "application_version", "value": "1.0.0",
             "context": "APPLICATION"},
            {"id": 1001 + 2 * k, "workunit": w, "key": "sleep_seconds", "value": str(sleep_s),
             "context": "APPLICATION"})],
    })


def timed_run(app_yml: Path, workunit: int, work_dir: Path, parallel: int) -> float:
    """Wall seconds of one whole run_app."""
    from flows.app import run_app

    started = time.perf_counter()
    summary = asyncio.run(run_app(app_yml=str(app_yml), work_dir=str(work_dir), workunit_ref=workunit,
                                  max_parallel_chunks=parallel))
    elapsed = time.perf_counter() - started
    if len(summary["chunks"]) != CHUNKS or len(summary["registered"]) != CHUNKS:
        sys.exit(f"expected {CHUNKS} chunks and registered resources, got {summary}")
    return elapsed


def main() -> None:
    """Warm up, run each parallelism ``--repeat`` times, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per parallelism (median reported)")
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds each process step sleeps")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="labflows-bench-chunks-"))
    os.environ["PREFECT_HOME"] = str(home / "prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.pop("PREFECT_API_URL", None)

    from loguru import logger as loguru_logger
    from prefect.testing.utilities import prefect_test_harness

    from standin.server import StandinServer

    loguru_logger.remove()
    loguru_logger.add(lambda message: sys.stderr.write(message), level="WARNING")
    levels = [1, 2, 4]
    # interleaved (1, 2, 4, 1, 2, 4, ...) so that changes in machine load spread over every level
    plan = [(0, 4)] + [(k, p) for k in range(args.repeat) for p in levels]
    workunits = list(range(200, 200 + len(plan)))
    app_yml = write_app(home / "app")
    server = StandinServer(seed=ROOT / "examples" / "bfabric" / "seed.yaml").start()
    try:
        seed(server, home, workunits, args.sleep)
        os.environ["BFABRICPY_CONFIG_OVERRIDE"] = json.dumps(server.config_override())
        times: dict[int, list[float]] = {p: [] for p in levels}
        with prefect_test_harness(server_startup_timeout=120):
            for index, (workunit, (_, parallel)) in enumerate(zip(workunits, plan)):
                elapsed = timed_run(app_yml, workunit, home / f"work-{workunit}", parallel)
                if index > 0:  # the first run only warms up
                    times[parallel].append(elapsed)
    finally:
        server.stop()

    base = statistics.median(times[1])
    print(f"{CHUNKS} chunks, process sleeps {args.sleep:g} s; median of {args.repeat} run(s) each")
    print(f"{'max_parallel_chunks':>20}  {'wall s':>7}  {'speed-up vs 1':>13}")
    for parallel in levels:
        wall = statistics.median(times[parallel])
        print(f"{parallel:>20}  {wall:7.2f}  {base / wall:12.2f}x")
    ratio_2 = base / statistics.median(times[2])
    print(f"target: >= {TARGET_WITH_2}x with 2 -> {'met' if ratio_2 >= TARGET_WITH_2 else 'NOT met'} ({ratio_2:.2f}x)")


if __name__ == "__main__":
    main()
