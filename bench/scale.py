"""Scale-out benchmark: one scatter of N branches, in-process against the work-pool step runner and
a Dask LocalCluster (not a test).

Against one ``prefect server start`` (own PREFECT_HOME, scheduler on) with two process work pools
(``bench-a``, ``bench-b``) and one worker each, the same workflow (a scatter of N branches, each
``sha256sum`` of a small file into its own output) runs as:

* ``in-process``: the default (batches as task runs on the flow's thread pool);
* ``work-pool, 1 worker``: every batch a ``run-step`` flow run on ``bench-a``;
* ``work-pool, 2 workers``: batches spread over ``bench-a`` and ``bench-b``;
* ``dask, 2 workers``: batches on a 2-worker Dask LocalCluster (``--task-runner dask``).

Then the per-step overhead: a one-step workflow (``true``) in-process and on a pool, ``--repeat``
times each (median). Prints wall seconds and ratios to in-process.

    .venv/bin/python bench/scale.py                 # N = 10000, batches of 1000
    .venv/bin/python bench/scale.py --n 1000        # a quicker run
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/support is not installed

from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import stop_group  # noqa: E402

POOLS = ("bench-a", "bench-b")

SCATTER = """\
Repository: s3://bench/scale/${job.id}
Options:
  scatter_batch_size: BATCH
Steps:
  - split:
      commands:
        - seq -f 'item%05g' 1 ${job.n} > items.txt
        - echo 'a small file to hash' > data.txt
      outputs: {items: items.txt, data: data.txt}
  - hash_all:
      scatter: {item: "@items.txt"}
      inputs: {data: data.txt}
      steps:
        - hash:
            retry: {attempts: 0}
            inputs: {data: "${parent.data}"}
            commands: ['sha256sum ${data} > hash.txt']
            outputs: {hash: hash.txt}
            compute: {queue_name: scale}
      outputs: {hash: hash.txt}
"""

ONE_STEP = """\
Repository: s3://bench/one/${job.id}
Steps:
  - only:
      commands: ['true']
      compute: {queue_name: scale}
"""


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


@contextlib.contextmanager
def stack(base: Path) -> Iterator[dict[str, str]]:
    """A Prefect server, the two pools, the run-step deployment and one worker per pool."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(base / "prefect-home"), "PREFECT_API_URL": url, "PYTHONPATH": str(ROOT),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false",
                "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "1",
                "LABFLOWS_SCRATCH": str(base / "scratch")})
    prefect = [sys.executable, "-m", "prefect"]
    with contextlib.ExitStack() as cleanup:
        server = _start([*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env,
                        base / "server.log")
        cleanup.callback(stop_group, server)
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"server did not start:\n{(base / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("PREFECT_", "LABFLOWS_"))})
        _deploy_run_step()
        for pool in POOLS:
            worker = _start([*prefect, "worker", "start", "--pool", pool, "--limit", "2"], env,
                            base / f"worker-{pool}.log")
            cleanup.callback(stop_group, worker)
        yield env


def _deploy_run_step() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.utilities.callables import parameter_schema

    from flows.step import run_step

    with get_client(sync_client=True) as client:
        for pool in POOLS:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        client.create_deployment(
            flow_id=client.create_flow_from_name("run-step"), name="run-step", entrypoint="flows/step.py:run_step",
            path=str(ROOT), work_pool_name=POOLS[0], parameter_openapi_schema=parameter_schema(run_step)
            .model_dump_for_openapi(),
            pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}])


def run_once(workflow: Path, job: dict[str, Any], storage: Path, **params: Any) -> float:
    """Wall seconds of one run_workflow (raises when it does not complete)."""
    from flows.workflow import run_workflow
    from tasks.runtime.task_runners import make_task_runner

    runner = params.pop("task_runner", None)
    flow = run_workflow.with_options(task_runner=make_task_runner(runner)) if runner else run_workflow
    started = time.monotonic()
    state = flow(workflow=str(workflow), job=job, storage=str(storage), return_state=True, **params)
    wall = time.monotonic() - started
    if not state.is_completed():
        print(f"FAILED {workflow.name} {params}: {state.message}", file=sys.stderr)
        return float("nan")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="scatter branches (default 10000)")
    parser.add_argument("--batch", type=int, default=1000, help="branches per batch (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the one-step workflow per variant")
    parser.add_argument("--variants", default="threads,pool1,pool2,dask",
                        help="which scatter variants to run (default: all four)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout still stops the server and workers
    os.environ.setdefault("LABFLOWS_DASK_WORKERS", "2")
    with tempfile.TemporaryDirectory(prefix="labflows-scale-") as tmp:
        base = Path(tmp)
        scatter = base / "scatter.yaml"
        scatter.write_text(SCATTER.replace("BATCH", str(args.batch)))
        one = base / "one.yaml"
        one.write_text(ONE_STEP)
        with stack(base):
            variants: list[tuple[str, str, Callable[[int], float]]] = [
                ("threads", "in-process (threads)", lambda i: run_once(scatter, {"id": f"t{i}", "n": args.n}, base / "s")),
                ("pool1", "work-pool, 1 worker", lambda i: run_once(
                    scatter, {"id": f"w1{i}", "n": args.n}, base / "s", step_runner="work-pool",
                    step_pools=[f"scale={POOLS[0]}"])),
                ("pool2", "work-pool, 2 workers", lambda i: run_once(
                    scatter, {"id": f"w2{i}", "n": args.n}, base / "s", step_runner="work-pool",
                    step_pools=[f"scale={','.join(POOLS)}"])),
                ("dask", "dask LocalCluster, 2 workers", lambda i: run_once(
                    scatter, {"id": f"d{i}", "n": args.n}, base / "s", task_runner="dask")),
            ]
            chosen = args.variants.split(",")
            rows = [(name, fn(0)) for key, name, fn in variants if key in chosen]
            step_in = [run_once(one, {"id": f"i{i}"}, base / "s") for i in range(args.repeat)]
            step_pool = [run_once(one, {"id": f"p{i}"}, base / "s", step_runner="work-pool",
                                  step_pools=[f"scale={POOLS[0]}"]) for i in range(args.repeat)]
    base_wall = rows[0][1] if rows else float("nan")
    print(f"\n{args.n} scatter branches, batches of {args.batch} ({-(-args.n // args.batch)} batches), "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs\n")
    print(f"| variant | wall s | / {rows[0][0] if rows else '-'} |\n| --- | --- | --- |")
    for name, wall in rows:
        print(f"| {name} | {wall:.1f} | {wall / base_wall:.2f} |")
    med_in, med_pool = statistics.median(step_in), statistics.median(step_pool)
    print(f"\none-step workflow, median of {args.repeat}: in-process {med_in:.1f} s, on a work pool "
          f"{med_pool:.1f} s: {med_pool - med_in:.1f} s overhead per step on the work-pool runner")


if __name__ == "__main__":
    main()
