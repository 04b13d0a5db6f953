"""Helpers for tests of the local Prefect server (``flows.cli.local_server``): a private Prefect home
per test, the CLI in a subprocess, a clean-up that stops every server started in that home, and a
database a real first start set up, made once per test session for tests that are not about that start."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELLO = ["workflow", str(ROOT / "examples/hello/workflow.yaml"), "--job", str(ROOT / "examples/hello/job.json")]


def private_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with their own Prefect home and no API configured (the opt-out undone)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "LABFLOWS_EPHEMERAL", "LABFLOWS_SERVER_IDLE_MINUTES")}
    # a Python script's temporary server on a loaded machine needs more than Prefect's default wait
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PYTHONPATH=str(ROOT),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", **extra)
    return env


def labflows(env: dict[str, str], *args: str, cwd: Path | None = None,
             timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m flows.run ARGS`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def state(env: dict[str, str]) -> dict | None:
    """The local server's state file in ``env``'s Prefect home, or None."""
    try:
        return json.loads((Path(env["PREFECT_HOME"]) / "labflows-server.json").read_text())
    except (OSError, ValueError):
        return None


def daemons_of(home: str | Path, module: str = "flows.cli.server_daemon") -> list[int]:
    """Pids of the server processes (or ``module``'s) running with Prefect home ``home`` (from /proc)."""
    wanted = f"PREFECT_HOME={Path(home).resolve()}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if module.encode() in (proc / "cmdline").read_bytes() and \
                    wanted in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def wait_until(condition, timeout: float, what: str) -> None:
    """Poll ``condition`` until true; a hang guard of ``timeout`` seconds fails the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def kill_daemons(home: str | Path) -> None:
    """Stop every server and warm runner of ``home`` (whole process groups), also when a test failed half-way."""
    for pid in daemons_of(home) + daemons_of(home, "flows.cli.warm_runner"):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _session_folder(tmp_path_factory) -> Path:
    """A folder of this test session that every pytest-xdist worker shares (each has its own basetemp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def set_up_database(tmp_path_factory) -> Path:
    """A Prefect database left by a real first start of the local server (migrated from nothing, its
    block types registered), made once per session under a lock that the xdist workers share.

    A first start migrates an empty database through every Alembic revision: about twice the CPU of
    a start on a database already set up. Tests that are about something else start from a copy.
    """
    folder = _session_folder(tmp_path_factory)
    template = folder / "labflows-set-up.db"
    with open(folder / "labflows-set-up.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until made: the other workers then copy the same file
        if template.exists():
            return template
        env = private_env(Path(tempfile.mkdtemp(prefix="set-up-", dir=folder)))
        home = Path(env["PREFECT_HOME"])
        home.mkdir()
        try:
            started = labflows(env, "server", "start", "--idle-minutes", "0")
            assert started.returncode == 0, started.stderr[-2000:]
            assert labflows(env, "server", "stop").returncode == 0
        finally:
            kill_daemons(home)
        partial = template.with_suffix(".partial")
        # SQLite's backup: the committed content, also what is still in the write-ahead log
        with sqlite3.connect(f"file:{home / 'prefect.db'}?mode=ro", uri=True) as source, \
                sqlite3.connect(partial) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        partial.replace(template)
    return template


def use_set_up_database(env: dict[str, str], template: Path) -> None:
    """Give ``env``'s Prefect home a copy of ``template`` (from :func:`set_up_database`) as its database.

    A copy is a new file: no set-up record names it, so the next server start is a full one (the
    Alembic check and the block registration run), only without migrating from nothing.
    """
    home = Path(env["PREFECT_HOME"])
    home.mkdir(exist_ok=True)
    shutil.copyfile(template, home / "prefect.db")
