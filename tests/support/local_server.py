"""Helpers for tests of the local Prefect server (``flows.cli.local_server``): a private Prefect home
per test, the CLI in a subprocess, and a clean-up that stops every server started in that home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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
