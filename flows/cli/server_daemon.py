"""The detached process behind the local server: Prefect's API (and UI) in-process, stopping when idle.

Started by ``flows.cli.local_server.start_server`` as ``python -m flows.cli.server_daemon``. It
serves ``prefect.server.api.server.create_app`` (the app of ``prefect server start``, services on,
so deployment schedules fire) on 127.0.0.1, writes the state file once it accepts requests, and
stops itself when, for the idle period, no labflows command held the lease, no connection was open
and no request arrived. Prefect's usage analytics are off.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import socket
import sys
import time
from typing import Any

from flows.cli.local_server import server_files


class ActivityClock:
    """ASGI wrapper that knows when the API was last used and how many connections are open."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.open = 0
        self.last_used = time.monotonic()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self.open += 1
        self.last_used = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last_used = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last request or connection ended (0 while one is open)."""
        return 0.0 if self.open else time.monotonic() - self.last_used


def _no_command_holds_the_lease(lease_path) -> Any:
    """The lease opened and locked exclusively when no labflows command holds it, else None.

    Kept until this process exits: a command arriving meanwhile waits and starts a new server.
    """
    handle = open(lease_path, "a+")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _write_state(path, state: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


async def serve(sock: socket.socket, idle_minutes: float) -> None:
    """Serve until SIGTERM/SIGINT or until idle for ``idle_minutes`` (0: never)."""
    import uvicorn
    from prefect.server.api.server import create_app

    files = server_files()
    clock = ActivityClock(create_app(final=True))
    server = uvicorn.Server(uvicorn.Config(clock, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.05)
    port = sock.getsockname()[1]
    _write_state(files.state, {"url": f"http://127.0.0.1:{port}/api", "pid": os.getpid(), "port": port,
                               "prefect_home": str(files.prefect_home), "idle_minutes": idle_minutes})
    idle_s = idle_minutes * 60
    check_every = min(30.0, max(0.5, idle_s / 5))
    lease = None
    told_in_use = False
    try:
        while not serving.done():
            await asyncio.wait({serving}, timeout=check_every)
            if not idle_s or lease is not None or clock.idle_for() < idle_s:
                told_in_use = False
                continue
            lease = _no_command_holds_the_lease(files.lease)
            if lease is not None:
                print(f"no request for {idle_minutes:g} min and no labflows command running: stopping", flush=True)
                files.state.unlink(missing_ok=True)
                server.should_exit = True
            elif not told_in_use:
                print(f"no request for {idle_minutes:g} min, but a labflows command is running: staying", flush=True)
                told_in_use = True
        await serving
    finally:
        state = _read_own_state(files.state)
        if state is not None:
            files.state.unlink(missing_ok=True)


def _read_own_state(path) -> dict | None:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if state.get("pid") == os.getpid() else None


def main(argv: list[str] | None = None) -> int:
    """Bind the port, then serve (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m flows.cli.server_daemon")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--idle-minutes", type=float, default=30.0)
    args = parser.parse_args(argv)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    asyncio.run(serve(sock, args.idle_minutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
