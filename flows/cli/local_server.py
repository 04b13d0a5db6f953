"""The local Prefect server that labflows commands start on first use and then share.

Without a server, every ``labflows workflow`` process starts Prefect's temporary (ephemeral)
server first, which costs seconds of CPU. Instead, the first command starts one detached server
(``flows.cli.server_daemon``) and later commands reuse it; it stops itself after an idle period.

One server per Prefect home: it runs with the user's ``PREFECT_HOME`` and profile, so it uses the
same database as ``prefect block …``, ``Block.save()`` and Prefect's temporary server. Its files
live next to that database: ``labflows-server.json`` (state: url, pid, port), ``.lock`` (one
starter at a time), ``.lease`` (every command using the server holds it shared, so the server
knows it is in use even when no request arrives for a long time) and ``.log``. The warm runners of
the home (``flows.cli.warm_runner``, one per Python executable and checkout) keep theirs next to
them, as ``labflows-warm-HASH.{sock,json,lock,log}``; ``stop_server`` stops them too.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from flows.cli import warm_client

IDLE_MINUTES_ENV = "LABFLOWS_SERVER_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30.0
LOG_LIMIT_BYTES = 1_000_000  # the log is started afresh above this size
START_TIMEOUT_S = 180.0  # a loaded 2-core machine took 40 s for `prefect server start`
LEASE_WAIT_S = 60.0  # a stopping server holds the lease until it has exited
# the leases of running commands keep file descriptors open in this process
_HELD: list[object] = []
# a server this process started before importing Prefect, with the start lock it holds: (process, lock)
_EARLY: list[tuple[subprocess.Popen, object]] = []


@dataclass(frozen=True)
class ServerFiles:
    """Where the local server of one Prefect home keeps its state, locks and log."""

    prefect_home: Path

    @property
    def state(self) -> Path:
        return self.prefect_home / "labflows-server.json"

    @property
    def lock(self) -> Path:
        return self.prefect_home / "labflows-server.lock"

    @property
    def lease(self) -> Path:
        return self.prefect_home / "labflows-server.lease"

    @property
    def log(self) -> Path:
        return self.prefect_home / "labflows-server.log"

    def warm_states(self) -> list[Path]:
        """The state files of the home's warm runners (one per Python executable and checkout)."""
        return sorted(self.prefect_home.glob(f"{warm_client.FILE_PREFIX}*.json"))


def prefect_home() -> Path:
    """The Prefect home that ``prefect`` commands use: ``PREFECT_HOME`` or ``~/.prefect``."""
    return Path(warm_client.prefect_home_dir())


def server_files(home: Path | None = None) -> ServerFiles:
    """The server files of ``home`` (default: the current Prefect home)."""
    return ServerFiles(home or prefect_home())


def idle_minutes() -> float:
    """Minutes without use after which the server stops itself (``LABFLOWS_SERVER_IDLE_MINUTES``; 0: never)."""
    raw = os.environ.get(IDLE_MINUTES_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_IDLE_MINUTES
    except ValueError:
        value = -1.0
    if value < 0:
        from flows.cli.errors import UsageError

        raise UsageError(f"{IDLE_MINUTES_ENV}={raw!r}: expected a number of minutes >= 0")
    return value


def ephemeral_requested() -> bool:
    """True when ``LABFLOWS_EPHEMERAL`` asks for Prefect's temporary server instead of the local one."""
    return os.environ.get("LABFLOWS_EPHEMERAL", "").strip().lower() in {"1", "true", "yes", "on"}


def is_healthy(api_url: str, timeout: float = 0.5) -> bool:
    """True when the Prefect API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except (OSError, ValueError):
        return False


def read_state(files: ServerFiles | None = None) -> dict | None:
    """The recorded state (``{url, pid, port, …}``) of the server, whether or not it still answers."""
    try:
        state = json.loads((files or server_files()).state.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("url"), str) else None


WAKE_TIMEOUT_S = 10.0  # a hibernating server (see server_daemon) answers after waking up


def running_server(files: ServerFiles | None = None) -> dict | None:
    """The state of the local server when it answers, else None."""
    state = read_state(files)
    if not state:
        return None
    # a live daemon may be asleep: its first answer takes the wake-up, give it time
    timeout = WAKE_TIMEOUT_S if _is_daemon(state.get("pid")) else 0.5
    return state if is_healthy(state["url"], timeout=timeout) else None


def _open_locked(path: Path, operation: int, timeout_s: float):
    """``path`` opened and ``flock``-ed; the lock lasts as long as the returned file.

    Raises:
        RuntimeError: the lock was not free within ``timeout_s`` (a hung server or starter).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - the caller keeps it open to keep the lock
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, operation | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise RuntimeError(f"{path} stayed locked for {timeout_s:.0f} s") from None
            time.sleep(0.05)


def hold_lease(files: ServerFiles) -> None:
    """Mark this process as a user of the server until it exits (a shared lock the server checks).

    Taken before the server is looked up: a server that is stopping holds the lease exclusively,
    so this waits until it has gone and then starts a new one instead of using a dying one.
    """
    if not _HELD:
        _HELD.append(_open_locked(files.lease, fcntl.LOCK_SH, LEASE_WAIT_S))


def ensure_server(idle: float | None = None, port: int = 0, lease: bool = True) -> dict:
    """The local server's state: the running one, or a new one started (one starter at a time).

    Args:
        idle: idle minutes for a new server (None: ``idle_minutes()``).
        port: port for a new server (0: a free one).
        lease: hold the lease until this process exits (commands that use the server).

    Raises:
        RuntimeError: the server did not start; the message names its log.
    """
    files = server_files()
    if lease:
        hold_lease(files)
    if _EARLY:  # started by start_server_early: wait for it (its start lock is ours)
        proc, lock = _EARLY.pop()
        with lock:
            return _wait_started(proc, files, START_TIMEOUT_S)
    state = running_server(files)
    if state:
        return state
    with _open_locked(files.lock, fcntl.LOCK_EX, START_TIMEOUT_S + 30):
        # another command may have started it while this one waited for the lock
        return running_server(files) or start_server(port, idle=idle, files=files)


def _daemon_env(files: ServerFiles, prefect_settings: bool = True) -> dict[str, str]:
    """Environment of the server process: this process's Prefect settings, no API URL of its own.

    Args:
        files: the server files (their Prefect home becomes the server's).
        prefect_settings: add the settings Prefect read from every source (imports Prefect); without,
            the environment only (enough where no file in the current folder sets any).
    """
    env = dict(os.environ)
    if prefect_settings:
        from prefect.settings import get_current_settings

        env.update(get_current_settings().to_environment_variables(exclude_unset=True))
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_HOME"] = str(files.prefect_home)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the daemon runs from the Prefect home; it must still import this checkout's flows package
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def start_server(port: int = 0, idle: float | None = None, files: ServerFiles | None = None,
                 wait_s: float = START_TIMEOUT_S) -> dict:
    """Start the detached server and wait until it answers (callers hold the start lock).

    Args:
        port: port to listen on (0: a free one, chosen by the server itself).
        idle: idle minutes before it stops itself (None: ``idle_minutes()``; 0: never).
        files: the server files (default: the current Prefect home's).
        wait_s: how long to wait for it to answer.

    Raises:
        RuntimeError: it exited or did not answer in time; the message names its log.
    """
    files = files or server_files()
    return _wait_started(_spawn_daemon(files, port, idle, _daemon_env(files)), files, wait_s)


def _spawn_daemon(files: ServerFiles, port: int, idle: float | None, env: dict[str, str]) -> subprocess.Popen:
    """The detached server process, started (callers hold the start lock)."""
    files.prefect_home.mkdir(parents=True, exist_ok=True)
    files.state.unlink(missing_ok=True)  # stale: its server no longer answers
    idle = idle_minutes() if idle is None else idle
    if files.log.exists() and files.log.stat().st_size > LOG_LIMIT_BYTES:
        files.log.unlink()
    with open(files.log, "ab") as log:
        log.write(f"== labflows server starting {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        log.flush()
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli.server_daemon", "--port", str(port), "--idle-minutes", str(idle)],
            cwd=files.prefect_home, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_started(proc: subprocess.Popen, files: ServerFiles, wait_s: float) -> dict:
    """The state of the server ``proc`` once it answers.

    Raises:
        RuntimeError: it exited or did not answer within ``wait_s``; the message names its log.
    """
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the local Prefect server exited with code {proc.returncode}; see {files.log}")
        state = read_state(files)
        if state and state.get("pid") == proc.pid and is_healthy(state["url"]):
            return state
        time.sleep(0.1)  # the daemon writes its state file once it accepts requests
    _kill_group(proc.pid)
    raise RuntimeError(f"the local Prefect server did not answer within {wait_s:.0f} s; see {files.log}")


def _settings_files_here() -> bool:
    """True when Prefect would read settings from a file in the current folder or an API URL from the profile."""
    if os.path.exists(".env") or os.path.exists("prefect.toml"):
        return True
    for path, marker in (("pyproject.toml", "tool.prefect"), (os.path.join(prefect_home(), "profiles.toml"),
                                                              "PREFECT_API_URL")):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if marker in f.read():
                    return True
        except OSError:
            continue
    return False


def start_server_early() -> None:
    """Start the local server now without waiting, so that it starts while this process imports Prefect.

    For a run command that will use the local server (``flows.cli.main``): ``ensure_server`` later waits
    for this server instead of starting one. Does nothing when a server answers, another command is
    starting one, or settings files could point the run elsewhere (then ``ensure_server`` decides, with
    Prefect's settings at hand).
    """
    if _EARLY or _settings_files_here():
        return
    files = server_files()
    try:
        hold_lease(files)
        if running_server(files):
            return
        lock = _open_locked(files.lock, fcntl.LOCK_EX, 0)
    except RuntimeError:  # another command is starting it: ensure_server waits for that one
        return
    try:
        if running_server(files):
            lock.close()
            return
        _EARLY.append((_spawn_daemon(files, 0, None, _daemon_env(files, prefect_settings=False)), lock))
    except Exception:  # noqa: BLE001 - a bad idle setting, a full disk: ensure_server reports it properly
        lock.close()


def starting_early() -> bool:
    """True while a server that ``start_server_early`` spawned has not been waited for."""
    return bool(_EARLY)


def early_server_answers() -> bool:
    """True once the early-started server has written its state file (it then accepts requests)."""
    return bool(_EARLY) and server_files().state.exists()


def _kill_group(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL after ``grace_s``."""
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _is_daemon(pid: object, module: str = "flows.cli.server_daemon") -> bool:
    """True when ``pid`` is a live labflows process running ``module`` (not a reused pid of something else)."""
    if not isinstance(pid, int) or pid <= 1:
        return False
    try:
        return module.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def warm_runners(files: ServerFiles | None = None) -> list[dict]:
    """The states (pid, executable, source_root, runs, …) of the home's live warm runners."""
    found = []
    for path in (files or server_files()).warm_states():
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(state, dict) and _is_daemon(state.get("pid"), "flows.cli.warm_runner"):
            found.append(state)
    return found


def stop_warm_runners(files: ServerFiles | None = None, grace_s: float = 10.0) -> list[dict]:
    """Stop the home's warm runners (runs they started go on); the states of those stopped."""
    runners = warm_runners(files)
    for state in runners:
        try:
            os.kill(state["pid"], signal.SIGTERM)  # the runner alone: its children lead their own groups
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    for state in runners:
        while _is_daemon(state["pid"], "flows.cli.warm_runner") and time.monotonic() < deadline:
            time.sleep(0.05)
    return runners


def stop_server(files: ServerFiles | None = None) -> dict | None:
    """Stop the local server and the home's warm runners; the server's former state, or None when none was recorded."""
    files = files or server_files()
    stop_warm_runners(files)  # first: a warm run starting now would start a new server
    state = read_state(files)
    if state is None:
        return None
    if _is_daemon(state.get("pid")):
        _kill_group(state["pid"])
    files.state.unlink(missing_ok=True)
    return state
