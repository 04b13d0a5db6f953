"""A background Prefect server for users who run many workflows locally.

Without a server, every ``labflows workflow`` process starts Prefect's temporary (ephemeral)
server first, which costs seconds. ``labflows server start`` keeps one running on 127.0.0.1;
later commands find it through a small state file and use it, unless ``PREFECT_API_URL`` is set.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def labflows_home() -> Path:
    """``LABFLOWS_HOME`` or ``~/.labflows``: the server's state file, database and log."""
    return Path(os.environ.get("LABFLOWS_HOME", "~/.labflows")).expanduser()


def _state_file() -> Path:
    return labflows_home() / "server.json"


def is_healthy(api_url: str, timeout: float = 0.5) -> bool:
    """True when the Prefect API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def running_server() -> dict | None:
    """The state of the background server (``{url, pid, port}``) when it answers, else None."""
    try:
        state = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    return state if is_healthy(state.get("url", "")) else None


def use_running_server() -> str | None:
    """Point this process at the background server when there is one and no API is configured.

    Otherwise Prefect starts its temporary server; on a busy machine that can take longer than
    Prefect's default wait, so the wait is raised (unless the user set it).
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if os.environ.get("PREFECT_API_URL") or os.environ.get("LABFLOWS_EPHEMERAL"):
        return None
    state = running_server()
    if state:
        os.environ["PREFECT_API_URL"] = state["url"]
        return state["url"]
    return None


def api_url_problem() -> str | None:
    """One line when the configured ``PREFECT_API_URL`` does not answer: which setting, where, the fix.

    Without it, every command that talks to Prefect ends in a long ``Failed to reach API`` traceback.
    None when no URL is configured (Prefect's temporary server) or the server answers.
    """
    from prefect.settings import get_current_settings
    from prefect.settings.profiles import load_current_profile

    settings = get_current_settings()
    url = settings.api.url
    if not url or is_healthy(url, timeout=2.0):
        return None
    if os.environ.get("PREFECT_API_URL"):
        where, fix = "the environment variable PREFECT_API_URL", "unset PREFECT_API_URL"
    else:
        where = f"PREFECT_API_URL in Prefect profile {load_current_profile().name!r} ({settings.profiles_path})"
        fix = "prefect config unset PREFECT_API_URL"
    return (f"{where} points to {url}, which does not answer: start that server (prefect server start) "
            f"or run `{fix}` so that labflows starts its own")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path) -> dict[str, str]:
    """Environment for a quiet local server: own database, no analytics."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": env.get("PREFECT_UI_ENABLED", "true"),
    })
    return env


def start_server(port: int | None = None, wait_s: float = 120.0) -> dict:
    """Start ``prefect server start`` in the background (or return the one already running)."""
    existing = running_server()
    if existing:
        return existing
    home = labflows_home()
    home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    log = open(home / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env(home), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    state = {"url": f"http://127.0.0.1:{port}/api", "pid": proc.pid, "port": port}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {proc.returncode}; see {home / 'server.log'}")
        if is_healthy(state["url"]):
            _state_file().write_text(json.dumps(state))
            return state
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError(f"prefect server did not answer within {wait_s:.0f} s; see {home / 'server.log'}")


def stop_server() -> bool:
    """Stop the background server; False when none was recorded."""
    try:
        state = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return False
    try:
        os.killpg(state["pid"], signal.SIGTERM)
        for _ in range(50):
            os.killpg(state["pid"], 0)
            time.sleep(0.2)
        os.killpg(state["pid"], signal.SIGKILL)
    except ProcessLookupError:
        pass
    _state_file().unlink(missing_ok=True)
    return True
