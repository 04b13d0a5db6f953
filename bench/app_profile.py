"""Where one app run's time goes, inside the flow: phases, Prefect API requests, B-Fabric requests (not a test).

bench/compare.py's app (3 chunks, each process sleeps 1 s; bench/chunks.py) through ``run_app`` in
this process, against a running Prefect server (``PREFECT_API_URL`` or ``--api``, e.g. from
``labflows server start``) and a B-Fabric stand-in started here. A first run warms up (imports,
the server's caches); the second is reported: a timeline of the app's steps (entered ``>``, left
``<``, per thread), every Prefect API request and every request the stand-in answered, then the
counts. ``--anchor`` runs bfabric-app-runner 0.9.1 (as installed by bench/compare.py) on the same
stand-in instead and reports its B-Fabric requests.

    .venv/bin/python bench/app_profile.py --api http://127.0.0.1:4200/api [--anchor]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import chunks as chunks_bench  # noqa: E402
from bench.compare import APP_CHUNKS, TOOLS  # noqa: E402

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}")
STEPS = ("obtain_workunit_definition", "write_status", "dispatch_workunit", "prepare_chunk_inputs",
         "process_chunk", "collect_chunk", "register_chunk_outputs")


class Recorder:
    """Time-stamped events from every thread, and counters by kind."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.events: list[tuple[float, str, str]] = []
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self._lock = threading.Lock()

    def mark(self, what: str, kind: str | None = None, key: tuple = ()) -> None:
        """One event (and one count of ``key`` under ``kind``)."""
        with self._lock:
            self.events.append((time.perf_counter() - self.started, threading.current_thread().name[:16], what))
            if kind:
                self.counts[kind][key] += 1

    def reset(self) -> None:
        """Forget everything recorded so far (after the warm-up run)."""
        with self._lock:
            self.events.clear()
            self.counts.clear()

    def report(self) -> None:
        """Print the timeline and the counts."""
        for at, thread, what in self.events:
            print(f"{at:8.3f}  {thread:16}  {what}")
        for kind, counter in self.counts.items():
            print(f"--- {kind}: {sum(counter.values())} requests")
            for key, n in counter.most_common():
                print(f"{n:4}  {' '.join(map(str, key))}")


def count_standin_requests(rec: Recorder) -> None:
    """Record every read/save the stand-in answers and every WSDL it serves."""
    from standin import server
    from standin.service import Service

    handle, get = Service.handle, server._Handler.do_GET

    def counted_handle(self: Service, endpoint: str, operation: str, params: dict[str, Any]) -> bytes:
        query = params.get("query") if operation == "read" else None
        keys = ",".join(sorted(query)) if isinstance(query, dict) else ""
        rec.mark(f"B-Fabric {operation} {endpoint} {keys}", "B-Fabric", (operation, endpoint, keys))
        return handle(self, endpoint, operation, params)

    def counted_get(self: Any) -> None:
        endpoint = self.path.split("?")[0].rsplit("/", 1)[-1]
        rec.mark(f"B-Fabric wsdl {endpoint}", "B-Fabric", ("wsdl", endpoint))
        get(self)

    Service.handle, server._Handler.do_GET = counted_handle, counted_get


def count_api_requests(rec: Recorder) -> None:
    """Record every request of Prefect's (httpx) clients, ids replaced by ``{id}``."""
    import httpx

    async_send, send = httpx.AsyncClient.send, httpx.Client.send

    def note(request: httpx.Request) -> None:
        path = UUID.sub("{id}", request.url.path)
        rec.mark(f"API {request.method} {path}", "Prefect API", (request.method, path))

    async def counted_async_send(self: httpx.AsyncClient, request: httpx.Request, *a: Any, **k: Any) -> Any:
        note(request)
        return await async_send(self, request, *a, **k)

    def counted_send(self: httpx.Client, request: httpx.Request, *a: Any, **k: Any) -> Any:
        note(request)
        return send(self, request, *a, **k)

    httpx.AsyncClient.send, httpx.Client.send = counted_async_send, counted_send


def trace(rec: Recorder, module: ModuleType, name: str) -> None:
    """Mark when ``module.name`` is entered and left."""
    inner: Callable[..., Any] = getattr(module, name)

    @functools.wraps(inner)
    def traced(*args: Any, **kwargs: Any) -> Any:
        rec.mark(f"> {name}")
        try:
            return inner(*args, **kwargs)
        finally:
            rec.mark(f"< {name}")

    setattr(module, name, traced)


def run_labflows(rec: Recorder, app_yml: Path, home: Path, workunits: list[int]) -> float:
    """Both runs through ``run_app`` (tagged as the command line does); wall seconds of the second."""
    from loguru import logger
    from prefect import tags

    import flows.app
    import tasks.bfabric.app.tasks as app_tasks
    from flows.app import run_app

    logger.remove()  # the bfabric client's console chatter
    for name in STEPS:
        trace(rec, app_tasks, name)
    for name in ("publish_registered", "publish_app_summary"):
        trace(rec, flows.app, name)
    wall = 0.0
    for workunit in workunits:
        rec.reset()
        started = time.perf_counter()
        with tags(f"workunit:{workunit}"):
            summary = asyncio.run(run_app(app_yml=str(app_yml), work_dir=str(home / f"work-{workunit}"),
                                          workunit_ref=workunit))
        wall = time.perf_counter() - started
        if len(summary["registered"]) != APP_CHUNKS:
            sys.exit(f"expected {APP_CHUNKS} registered resources, got {summary}")
    return wall


def run_anchor(rec: Recorder, app_yml: Path, home: Path, workunits: list[int]) -> float:
    """Both runs through ``bfabric-app-runner run workunit``; wall seconds of the second."""
    runner = TOOLS / "app-runner" / "bin" / "bfabric-app-runner"
    if not runner.exists():
        sys.exit(f"no {runner}: run bench/compare.py --rows app once to install it")
    env = {**os.environ, "PATH": f"{runner.parent}{os.pathsep}{os.environ['PATH']}"}
    wall = 0.0
    for workunit in workunits:
        rec.reset()
        started = time.perf_counter()
        subprocess.run([str(runner), "run", "workunit", str(app_yml), str(home / f"work-{workunit}"), str(workunit)],
                       env=env, check=True, capture_output=True)
        wall = time.perf_counter() - started
    return wall


def main() -> None:
    """Start the stand-in, run twice, report the second run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=os.environ.get("PREFECT_API_URL"), help="a running Prefect server's API URL")
    parser.add_argument("--anchor", action="store_true", help="run bfabric-app-runner 0.9.1 instead")
    args = parser.parse_args()
    if not args.api and not args.anchor:
        parser.error("give --api (or PREFECT_API_URL): e.g. the URL `labflows server start` prints")
    if args.api:
        os.environ["PREFECT_API_URL"] = args.api
    from standin.server import StandinServer
    from tests.support.standin import install_fake_ssh

    rec = Recorder()
    count_standin_requests(rec)
    home = Path(tempfile.mkdtemp(prefix="labflows-app-profile-"))
    app_yml = chunks_bench.write_app(home / "app")
    workunits = [300, 301]
    server = StandinServer(seed=ROOT / "examples" / "bfabric" / "seed.yaml").start()
    try:
        chunks_bench.seed(server, home, workunits, 1.0, inputs=APP_CHUNKS, output_protocol="scp")
        fake = install_fake_ssh(home / "fake-bin", home / "fake-ssh.log")
        os.environ.update(PATH=f"{fake.bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_SSH_LOG=str(fake.log),
                          BFABRICPY_CONFIG_OVERRIDE=json.dumps(server.config_override()))
        if args.anchor:
            wall = run_anchor(rec, app_yml, home, workunits)
        else:
            count_api_requests(rec)
            wall = run_labflows(rec, app_yml, home, workunits)
    finally:
        server.stop()
    rec.report()
    print(f"second run: {wall:.2f} s wall; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
