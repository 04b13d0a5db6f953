"""The warm runner: a detached process that has imported Prefect and the run commands, and forks a child per run.

``python -m flows.cli.warm_runner`` (started in the background by a run that found none, see
:func:`flows.cli.warm_client.spawn_runner`). It binds its unix socket in the Prefect home first (mode
0600; clients of another uid are refused through ``SO_PEERCRED``), then imports :data:`WARM_MODULES`
(no clients, event loops or threads: it checks that only its main thread runs before every fork), then
serves. For each request it checks that the project's source files it imported are unchanged (stat
only; changed: it answers ``stale`` and exits, the client runs in-process and starts a fresh runner),
then forks. The child takes the client's fds 0/1/2, cwd, environment and argv and runs
:func:`flows.cli.main.run_here` exactly as the client would have (see :func:`_become_client`).

It stops itself after ``LABFLOWS_SERVER_IDLE_MINUTES`` without a request and without a running child,
on SIGTERM (``labflows server stop``), and when another runner already holds its lock. It does not hold
the local server's lease: its children take it like any command does, and a server that stopped in
the meantime is started again by the next child, as by an in-process run.
"""

from __future__ import annotations

import atexit
import fcntl
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from flows.cli import warm_client

# What a run command imports before it starts a flow; the child then imports only what a rare path needs.
# Not flows.app and the B-Fabric tasks: they import polars, which starts native threads at import
# (jemalloc, an out-of-core cleaner), and a fork with foreign threads running can deadlock the child.
WARM_MODULES = [
    "flows.cli.main", "flows.cli.workflow", "flows.cli.app", "flows.cli.app_dry_run", "flows.cli.launcher",
    "flows.cli.api_choice", "flows.cli.progress_view", "flows.cli.terminal", "flows.cli.specs",
    "flows.workflow", "flows.launcher", "blocks", "blocks.local", "blocks.resolve", "blocks.bfabric",
    "specs.bfabric.workunit", "specs.bfabric.app_template", "tasks.bfabric.app.artifacts",
    "tasks.bfabric.app.connection", "tasks.bfabric.commands", "tasks.runtime.progress", "tasks.runtime.logs",
    "prefect.flow_engine", "prefect.task_engine", "prefect.client.orchestration", "prefect.logging.handlers",
    "prefect.task_runners", "prefect.artifacts", "prefect.events", "prefect.results",
]
LOCK_WAIT_S = 10.0  # a stale runner that is exiting holds the lock for a moment
REQUEST_READ_S = 5.0


class Stop(Exception):
    """The runner ends: idle, stale, replaced or told to stop."""


class BecomeChild(Exception):
    """Raised in a freshly forked child: unwinds the runner's loop, then the child runs the request."""

    def __init__(self, conn: socket.socket, request: dict) -> None:
        super().__init__()
        self.conn = conn
        self.request = request


def _log(message: str) -> None:
    """One line in the runner's log (never the environment: it may carry secrets)."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} warm runner {os.getpid()}: {message}", flush=True)


def source_fingerprint() -> dict[str, tuple[int, int]]:
    """mtime and size of every project source file this process imported."""
    root = warm_client.SOURCE_ROOT + os.sep
    found = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(root):
            try:
                st = os.stat(path)
            except OSError:
                continue
            found[path] = (st.st_mtime_ns, st.st_size)
    return found


def _unchanged(fingerprint: dict[str, tuple[int, int]]) -> bool:
    for path, (mtime, size) in fingerprint.items():
        try:
            st = os.stat(path)
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) != (mtime, size):
            return False
    return True


def _write_state(path: str, state: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


def _take_lock(path: str):
    """The runner's lock (held for its life), or None when another runner keeps it."""
    handle = open(path, "a+")  # noqa: SIM115 - held open on purpose
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(0.1)


def _bind(path: str) -> socket.socket:
    """The listening socket at ``path``, created with mode 0600."""
    address, dir_fd = warm_client.socket_address(path)
    try:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(address)
        finally:
            os.umask(old)
        sock.listen(16)
        return sock
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def native_threads() -> int:
    """Threads of this process, native ones included (``threading`` sees only Python's)."""
    return len(os.listdir("/proc/self/task"))


def _peer_uid(conn: socket.socket) -> int:
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return uid


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """The client's request and its three fds (closed again here when the request is bad)."""
    conn.settimeout(REQUEST_READ_S)
    data, fds, _flags, _addr = socket.recv_fds(conn, warm_client.HEADER_BYTES, 3)
    try:
        while len(data) < warm_client.HEADER_BYTES:
            more = conn.recv(warm_client.HEADER_BYTES - len(data))
            if not more:
                raise ValueError("short header")
            data += more
        if not data.startswith(warm_client.MAGIC) or len(fds) != 3:
            raise ValueError("not a warm runner request")
        size = int.from_bytes(data[len(warm_client.MAGIC):], "big")
        if size > warm_client.MAX_PAYLOAD_BYTES:
            raise ValueError("request too large")
        payload = bytearray()
        while len(payload) < size:
            more = conn.recv(min(1 << 20, size - len(payload)))
            if not more:
                raise ValueError("short request")
            payload += more
        request = json.loads(payload)
        if not isinstance(request, dict) or not isinstance(request.get("argv"), list):
            raise ValueError("bad request")
        return request, fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


class Runner:
    """The serving loop: accept, check, fork, reap, stop when idle."""

    def __init__(self, listener: socket.socket, state_path: str, idle_s: float) -> None:
        self.listener = listener
        self.state_path = state_path
        self.idle_s = idle_s
        self.children: dict[int, socket.socket] = {}
        self.last_used = time.monotonic()
        self.key = warm_client.runner_key()
        self.fingerprint = source_fingerprint()
        self.state = {"pid": os.getpid(), **self.key, "started": time.time(), "runs": 0,
                      "idle_minutes": idle_s / 60}
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> None:
        """Serve until idle or stopped (raises :class:`BecomeChild` in a forked child)."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select: reaping happens in the loop
        _write_state(self.state_path, self.state)
        _log(f"serving {len(self.fingerprint)} project modules, {len(sys.modules)} modules in all")
        while True:
            timeout = None
            if self.idle_s and not self.children:
                timeout = self.last_used + self.idle_s - time.monotonic()
                if timeout <= 0:
                    raise Stop(f"no run for {self.idle_s / 60:g} min: stopping")
            try:
                ready, _, _ = select.select([self.listener, self.wake_r], [], [], timeout)
            except InterruptedError:
                continue
            if self.wake_r in ready:
                self._reap()
            if self.listener in ready:
                self._accept()

    def _reap(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = self.children.pop(pid, None)
            self.last_used = time.monotonic()
            # the run's CPU (its steps included): what the client's own rusage cannot see (bench/startup.py)
            self.state["last_run_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
            _write_state(self.state_path, self.state)
            if conn is not None:
                try:
                    conn.sendall(f"status {os.waitstatus_to_exitcode(status)}\n".encode())
                except OSError:
                    pass
                conn.close()

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.last_used = time.monotonic()
        try:
            if _peer_uid(conn) != os.getuid():
                _log("refused a client of another user")
                conn.close()
                return
            request, fds = _read_request(conn)
        except (OSError, ValueError) as exc:
            _log(f"bad request: {type(exc).__name__}: {exc}")
            conn.close()
            return
        try:
            self._answer(conn, request, fds)
        finally:
            if os.getpid() == self.state["pid"]:  # the child keeps them: they become its 0, 1, 2
                for fd in fds:
                    os.close(fd)

    def _answer(self, conn: socket.socket, request: dict, fds: list[int]) -> None:
        if request.get("key") != self.key or not _unchanged(self.fingerprint):
            _send_quietly(conn, b"stale\n")
            conn.close()
            raise Stop("the project's source changed (or a client of another checkout): stopping")
        # forking while another thread may hold a lock (malloc's, the import lock) can deadlock the child
        if threading.active_count() != 1 or native_threads() != 1:
            _log(f"{native_threads()} threads running: not forking")
            _send_quietly(conn, b"busy\n")
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            self._leave_parent(conn)
            raise BecomeChild(conn, {**request, "fds": fds})
        self.children[pid] = conn
        self.state["runs"] += 1
        self.state["last_run"] = time.time()
        _write_state(self.state_path, self.state)

    def _leave_parent(self, conn: socket.socket) -> None:
        """In the child: drop the runner's sockets, pipes and signal handling."""
        signal.set_wakeup_fd(-1)
        os.close(self.wake_r)
        os.close(self.wake_w)
        self.listener.close()
        for other in self.children.values():
            other.close()
        self.children.clear()


def _send_quietly(conn: socket.socket, data: bytes) -> None:
    try:
        conn.sendall(data)
    except OSError:
        pass


def _become_client(conn: socket.socket, request: dict) -> int:
    """In the forked child: take over the client's terminal, cwd, environment and argv, run the command.

    Returns:
        The command's exit code, as :func:`flows.cli.main.run_here` in the client would have returned it.
    """
    from flows.cli.main import run_here

    os.setpgid(0, 0)  # the client forwards a Ctrl-C to this group, as a terminal does to its foreground job
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    conn.settimeout(None)
    _send_quietly(conn, f"pid {os.getpid()}\n".encode())
    for target, fd in enumerate(request["fds"]):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["labflows", *request["argv"]]
    if isinstance(request.get("sys_path"), list):  # the client's: its cwd or script folder, its PYTHONPATH
        sys.path[:] = [str(p) for p in request["sys_path"]]
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=stream.isatty())
    from prefect.context import refresh_global_settings_context
    from prefect.logging.configuration import setup_logging

    refresh_global_settings_context()  # Prefect read its settings at import, from the runner's environment
    setup_logging(incremental=False)  # its console handler looks at the terminal it now writes to
    try:
        code = run_here(request["argv"])
    except SystemExit as exc:  # argparse's --help, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else _print_exit(exc.code))
    except BaseException:  # what an in-process run would print before exiting 1
        traceback.print_exc()
        code = 1
    return code


def _exit_child(conn: socket.socket, code: int) -> None:
    """End the child as the interpreter ends a process, then tell the client; never returns.

    The interpreter's own finalization is skipped (``os._exit``): in a forked child it can hang on
    the event-loop threads Prefect started. What a normal exit does that matters runs here: the
    thread-exit hooks (Prefect drains its log and event services there), ``atexit``, the flushes.
    """
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # the hooks of threading._register_atexit
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - as at a normal exit: printed, the exit code stays
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    _send_quietly(conn, f"exit {code}\n".encode())
    os._exit(code & 0xFF)


def _print_exit(message: object) -> int:
    print(message, file=sys.stderr)
    return 1


def _idle_seconds() -> float:
    from flows.cli.local_server import idle_minutes

    try:
        return idle_minutes() * 60
    except Exception:  # a bad value: the commands say so; the runner keeps the default
        from flows.cli.local_server import DEFAULT_IDLE_MINUTES

        return DEFAULT_IDLE_MINUTES * 60


def _on_sigterm(_signum, _frame) -> None:
    raise Stop("SIGTERM: stopping")


def _remove_files() -> None:
    """The runner's socket and state file (ours: the lock keeps other runners out while we live)."""
    for suffix in ("sock", "json"):
        try:
            os.unlink(warm_client.runner_path(suffix))
        except FileNotFoundError:
            pass


def main() -> int:
    """Serve runs for this checkout and Prefect home until idle (see the module docstring)."""
    lock = _take_lock(warm_client.runner_path("lock"))
    if lock is None:
        _log("another warm runner serves this checkout and Prefect home: exiting")
        return 0
    runner_pid = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        listener = _bind(warm_client.runner_path("sock"))  # first: a client arriving now waits for the imports
        started = time.monotonic()
        for name in WARM_MODULES:
            importlib.import_module(name)
        _log(f"imported in {time.monotonic() - started:.1f} s")
        Runner(listener, warm_client.runner_path("json"), _idle_seconds()).serve()
    except BecomeChild as child:
        lock.close()  # the runner keeps holding it
        _exit_child(child.conn, _become_client(child.conn, child.request))
    except Stop as stop:
        _log(str(stop))
    finally:
        if os.getpid() == runner_pid:
            _remove_files()
    return 0


if __name__ == "__main__":
    sys.exit(main())
