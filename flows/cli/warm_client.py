"""The client side of the warm runner: hand a run to ``flows.cli.warm_runner`` instead of importing Prefect.

Imported by :mod:`flows.cli.main` before anything heavy, so it uses the standard library only (and only
its cheap modules: check ``python -X importtime -m flows.run --help``).

A run command (``workflow``, ``launch``, ``app``, ``app-action``) goes to the warm runner when it uses
the shared local server: no ``--no-server``, no ``LABFLOWS_EPHEMERAL=1``, no ``PREFECT_API_URL`` in the
environment, and ``LABFLOWS_WARM_RUNNER`` not ``0``. The client connects to the runner's unix socket in
the Prefect home, sends its argv, cwd, environment and its file descriptors 0, 1, 2, forwards SIGINT,
SIGTERM and SIGHUP to the forked child that runs the command, and exits with the child's exit code.
Anything that goes wrong before the child has started means: run in this process as before.

Protocol (one connection per run): the client sends ``MAGIC`` + an 8-byte payload length with fds
0, 1, 2 attached (``SCM_RIGHTS``), then the JSON payload. The runner answers with lines: ``stale`` or
``busy`` (nothing started: run in-process), else ``pid N`` from the child, ``exit N`` when the child's
command returned, and ``status N`` from the runner once it reaped the child (``os.waitstatus_to_exitcode``:
negative for a signal), then the connection closes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import zlib

MAGIC = b"LFW1"
HEADER_BYTES = len(MAGIC) + 8
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
FILE_PREFIX = "labflows-warm-"
WARM_ENV = "LABFLOWS_WARM_RUNNER"
START_WAIT_S = 120.0  # a runner still importing (it binds its socket first) answers once it is ready
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# the project checkout this module belongs to: a runner serves one checkout with one Python
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def prefect_home_dir() -> str:
    """The Prefect home that ``prefect`` commands use: ``PREFECT_HOME`` or ``~/.prefect`` (absolute, resolved)."""
    return os.path.realpath(os.path.expanduser(os.environ.get("PREFECT_HOME") or "~/.prefect"))


def runner_key() -> dict[str, str]:
    """What identifies a warm runner: this Python executable, this checkout and the Prefect home."""
    return {"executable": os.path.realpath(sys.executable), "source_root": SOURCE_ROOT,
            "prefect_home": prefect_home_dir()}


def runner_path(suffix: str, home: str | None = None) -> str:
    """``labflows-warm-HASH.SUFFIX`` in the Prefect home; HASH names the executable and checkout."""
    key = runner_key()
    tag = zlib.crc32(f"{key['executable']}\0{key['source_root']}".encode()) & 0xFFFFFFFF
    return os.path.join(home or key["prefect_home"], f"{FILE_PREFIX}{tag:08x}.{suffix}")


def socket_address(path: str) -> tuple[str, int | None]:
    """An address for ``path`` that fits a unix socket's 107-byte limit, and a directory fd to close after.

    A long path (a deep temporary Prefect home) is reached through ``/proc/self/fd`` of its folder.
    """
    if len(path.encode()) < 100:
        return path, None
    fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{os.path.basename(path)}", fd


def wanted(argv: list[str], commands: set[str]) -> bool:
    """True when this command line should go to the warm runner (the rule in the module docstring)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in commands or "--no-server" in argv:
        return False
    env = os.environ
    if env.get(WARM_ENV, "").strip().lower() in {"0", "false", "no", "off"} or env.get("PREFECT_API_URL"):
        return False
    return env.get("LABFLOWS_EPHEMERAL", "").strip().lower() not in {"1", "true", "yes", "on"}


def _connect() -> socket.socket | None:
    address, dir_fd = socket_address(runner_path("sock"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        sock.connect(address)
        return sock
    except OSError:
        sock.close()
        return None
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def _send_request(sock: socket.socket, argv: list[str]) -> None:
    payload = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "sys_path": sys.path,
                          "key": runner_key()}).encode()
    header = MAGIC + len(payload).to_bytes(8, "big")
    socket.send_fds(sock, [header], [0, 1, 2])
    sock.sendall(payload)


class _Lines:
    """The runner's answer, line by line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self) -> str | None:
        """The next line, or None at the end of the connection."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(4096)
            except InterruptedError:
                continue
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")


def run_warm(argv: list[str]) -> int | None:
    """Run ``argv`` in the warm runner; its exit code, or None when this process should run it itself.

    None means nothing was started (no runner, a stale one, any error before the child started).
    """
    sock = _connect()
    if sock is None:
        return None
    try:
        sock.settimeout(START_WAIT_S)
        _send_request(sock, argv)
        lines = _Lines(sock)
        first = lines.next()
        if not first or not first.startswith("pid "):
            return None  # stale, busy, or the runner went away: nothing ran
        child = int(first.split()[1])
    except (OSError, ValueError):
        return None
    sock.settimeout(None)
    return _follow(sock, lines, child)


def _follow(sock: socket.socket, lines: _Lines, child: int) -> int:
    """Forward signals to the started ``child`` until the runner reports how it ended; its exit code."""
    def forward(signum, _frame) -> None:
        try:
            if signum == signal.SIGTERM:
                os.kill(child, signum)
            else:  # as a terminal does: the child's whole process group (it leads one)
                os.killpg(child, signum)
        except OSError:
            pass

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    exit_code = status = None
    try:
        while (line := lines.next()) is not None:
            word, _, value = line.partition(" ")
            if word == "exit":
                exit_code = int(value)
            elif word == "status":
                status = int(value)
    except (OSError, ValueError):
        pass
    finally:
        sock.close()
    if status is not None and status < 0:  # killed by a signal: end the same way
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    if status is not None:
        return status
    if exit_code is not None:
        return exit_code
    print(f"error: the warm runner's run (pid {child}) ended without an exit code; see "
          f"{runner_path('log')}", file=sys.stderr)
    return 1


_SPAWNED: list[bool] = []  # spawn_runner ran in this process


def spawn_runner() -> None:
    """Start a warm runner for this checkout and Prefect home in the background; never waits for it.

    A runner that finds another one already serving (its lock taken) exits at once; a second call in
    the same process does nothing.
    """
    import subprocess

    if _SPAWNED:
        return
    _SPAWNED.append(True)

    home = prefect_home_dir()
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # a child run chooses its API itself, as an in-process run does
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SOURCE_ROOT, env.get("PYTHONPATH", "")) if p)
    try:
        with open(runner_path("log"), "ab") as log:
            subprocess.Popen([sys.executable, "-m", "flows.cli.warm_runner"], cwd=home, env=env, stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        print(f"warning: could not start the warm runner: {exc}", file=sys.stderr)
