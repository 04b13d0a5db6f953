"""``labflows launch --watch`` against the session's Prefect server: a dropped job file starts exactly
one run and later passes none, passes without new files create no flow run at all, two watchers
racing start each run once; the watcher loop itself (no server needed for its logic)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterName

from tasks.launcher.watch import DROPPED_EVENT, Watcher

pytestmark = pytest.mark.usefixtures("prefect_harness")


class WatcherProcess:
    """A ``labflows launch --watch`` subprocess whose stdout lines arrive in a queue."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "flows.run", "launch", *args], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, start: str, timeout: float = 120) -> str:
        """The first stdout line starting with ``start`` (fails with stderr after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None or not self.lines.empty(), self.proc.stderr.read()[-3000:]
                continue
            self.seen.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting {start!r} within {timeout:.0f} s; seen {self.seen}")

    def finish(self, timeout: float = 120) -> list[str]:
        """Wait for the exit (``--passes``); every stdout line."""
        self.proc.wait(timeout)
        self.reader.join(10)  # at EOF: every line is in the queue
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert self.proc.returncode == 0, self.proc.stderr.read()[-3000:]
        return self.seen

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.contextmanager
def watchers(n: int, args: list[str], env: dict[str, str], cwd: Path) -> Iterator[list[WatcherProcess]]:
    """``n`` watcher processes, killed at the end if still running (also on failure)."""
    procs = [WatcherProcess(args, env, cwd) for _ in range(n)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def _watch_args(launch_dir: Path, tmp_path: Path, deployment: str, passes: int) -> list[str]:
    return [str(launch_dir), "--watch", "--interval", "0.25", "--passes", str(passes),
            "--workflows-dir", str(tmp_path / "workflows"), "--deployment", deployment,
            "--storage", str(tmp_path / "storage")]


def _launcher_runs_for(prefix: Path) -> list[Any]:
    """The ``launcher`` flow runs (started in-process by watchers) of one launcher folder."""

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["launcher"])),
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=str(prefix))), limit=200)

    return asyncio.run(read())


def _dropped_events(file_uri: str) -> list[dict]:
    async def read() -> list[dict]:
        async with get_client() as client:
            resp = await client._client.post("/events/filter", json={"filter": {
                "event": {"name": [DROPPED_EVENT]},
                "resource": {"id": [f"labflows.job-file.{file_uri}"]}}, "limit": 50})
            resp.raise_for_status()
            return resp.json()["events"]

    return asyncio.run(read())


def _wait(probe, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not seen within {timeout:.0f} s")


def test_a_dropped_file_starts_one_run_and_empty_passes_start_nothing(
        harness_env, drop_job, runs_of, workflow_deployment, launch_dir, tmp_path):
    args = _watch_args(launch_dir, tmp_path, workflow_deployment, passes=24)
    with watchers(1, args, harness_env, tmp_path) as (watcher,):
        watcher.wait_for_line("watching ")
        path = drop_job("echo/dropped.json", '{"id": "D"}')
        launched = watcher.wait_for_line("launched ")
        lines = watcher.finish()  # the remaining passes see the record and start nothing

    assert lines[-1] == "stopped after 24 pass(es)"
    assert [line for line in lines if line.startswith(("launched", "recorded", "rejected"))] == [launched]
    runs = runs_of(workflow_deployment)
    assert [(r.parameters["job"], r.name) for r in runs] == [({"id": "D"}, launched.split()[1])]
    # one launcher flow run, for the one pass that found the file; the other 23 created none
    assert len(_launcher_runs_for(launch_dir)) == 1
    events = _wait(lambda: _dropped_events(str(path)), "the labflows.job.dropped event")
    assert [(e["payload"]["workflow"], e["payload"]["run_name"]) for e in events] == [("echo", runs[0].name)]


def test_two_watchers_racing_start_each_run_once(harness_env, drop_job, runs_of, workflow_deployment,
                                                 launch_dir, tmp_path):
    args = _watch_args(launch_dir, tmp_path, workflow_deployment, passes=24)
    with watchers(2, args, harness_env, tmp_path) as procs:
        for proc in procs:
            proc.wait_for_line("watching ")
        for i in range(4):
            drop_job(f"echo/race_{i}.json", json.dumps({"id": f"R{i}"}))
        outputs = [proc.finish() for proc in procs]

    runs = runs_of(workflow_deployment)
    assert sorted(r.parameters["job"]["id"] for r in runs) == ["R0", "R1", "R2", "R3"]
    launched = [line.split()[-1] for out in outputs for line in out if line.startswith("launched ")]
    assert sorted(Path(p).name for p in launched) == [f"race_{i}.json" for i in range(4)]  # each file once
    records = [p for p in (launch_dir / "_launcher_" / "launched").rglob("*.json") if p.is_file()]
    assert len(records) == 4


# ---- the loop ---------------------------------------------------------------------------------------
class _FakeJob:
    def __init__(self, uri: str) -> None:
        from tasks.launcher.names import parse_job_key
        from tasks.runtime.repo_ops import FileVersion

        self.uri, self.key, self.version, self.run_name = uri, parse_job_key("wf/" + uri), FileVersion("v1", "v1"), uri


def test_the_loop_launches_only_when_something_is_new_and_survives_a_failing_pass(monkeypatch):
    import tasks.launcher.watch as watch

    announced: list[str] = []
    monkeypatch.setattr(watch, "emit_dropped_event", lambda job: announced.append(job.uri))
    listings = iter([[], RuntimeError("storage down"), [_FakeJob("a")], [_FakeJob("a")], []])

    def list_new():
        item = next(listings)
        if isinstance(item, Exception):
            raise item
        return item

    launches: list[list[str]] = []
    watcher = Watcher(list_new, lambda new: launches.append([j.uri for j in new]), interval_s=0.01)
    assert watcher.run(passes=5) == 5
    assert launches == [["a"], ["a"]]  # an unclaimed file is handed on again (the flow claims once)
    assert announced == ["a"]  # but announced once per version


def test_stop_ends_the_loop_from_another_thread():
    watcher = Watcher(lambda: [], lambda new: None, interval_s=60)
    threading.Timer(0.2, watcher.stop).start()
    started = time.monotonic()
    watcher.run()
    assert time.monotonic() - started < 30  # a hang guard: stop() interrupts the 60 s wait
