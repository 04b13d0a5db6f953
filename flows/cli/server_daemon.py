"""The detached process behind the local server: Prefect's API (and UI) in-process, stopping when idle.

Started by ``flows.cli.local_server.start_server`` as ``python -m flows.cli.server_daemon``. It
serves ``prefect.server.api.server.create_app`` (the app of ``prefect server start``, services on,
so deployment schedules fire) on 127.0.0.1, writes the state file once it accepts requests, and
stops itself when, for the idle period, no labflows command held the lease, no connection was open
and no request arrived. Prefect's usage analytics are off.

Between runs it hibernates: Prefect's services poll their in-memory queues and the database many
times a second (about 1.3 s of CPU a minute with nothing to do), so after ``hibernate_seconds``
without a request or open connection, and only when nothing waits for a service (no deployment
with an active schedule, no flow run scheduled, pending, running, paused or cancelling), the API
and its services are shut down while the listening socket stays open. The next connection wakes
it: the already-built app starts again (well under a second) and answers the waiting request;
nothing is refused meanwhile. Hibernating, the process uses no CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import time
from typing import Any

from flows.cli import server_setup
from flows.cli.local_server import server_files

HIBERNATE_ENV = "LABFLOWS_SERVER_HIBERNATE_SECONDS"
DEFAULT_HIBERNATE_S = 15.0
# flow run states a service still acts on (late runs, cancellation, pause expiry, the scheduler's runs)
WAITING_STATES = ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"]


def hibernate_seconds() -> float:
    """Seconds without use after which the API sleeps (``LABFLOWS_SERVER_HIBERNATE_SECONDS``; 0: never)."""
    try:
        return max(0.0, float(os.environ.get(HIBERNATE_ENV) or DEFAULT_HIBERNATE_S))
    except ValueError:
        return DEFAULT_HIBERNATE_S


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


async def services_have_work() -> bool:
    """True when a Prefect service has something to do: an active schedule or a run not yet final."""
    import sqlalchemy as sa
    from prefect.server import models, schemas
    from prefect.server.database import provide_database_interface

    db = provide_database_interface()
    async with db.session_context() as session:
        schedules = await session.scalar(
            sa.select(sa.func.count()).select_from(db.DeploymentSchedule)
            .join(db.Deployment, db.Deployment.id == db.DeploymentSchedule.deployment_id)
            .where(db.DeploymentSchedule.active.is_(True), db.Deployment.paused.is_(False)))
        if schedules:
            return True
        state_filter = schemas.filters.FlowRunFilter(state=schemas.filters.FlowRunFilterState(
            type=schemas.filters.FlowRunFilterStateType(any_=WAITING_STATES)))
        return await models.flow_runs.count_flow_runs(session=session, flow_run_filter=state_filter) > 0


async def _asleep(sock: socket.socket, timeout: float | None) -> str:
    """Wait, using no CPU, for a client to connect to ``sock`` ("wake"; it is not accepted here),
    SIGTERM/SIGINT ("exit") or ``timeout`` seconds ("timeout")."""
    loop = asyncio.get_running_loop()
    outcome = loop.create_future()

    def settle(value: str) -> None:
        if not outcome.done():
            outcome.set_result(value)

    loop.add_reader(sock.fileno(), settle, "wake")
    for signum in (signal.SIGTERM, signal.SIGINT):  # uvicorn's own handlers are gone while asleep
        loop.add_signal_handler(signum, settle, "exit")
    try:
        return await asyncio.wait_for(outcome, timeout)
    except asyncio.TimeoutError:
        return "timeout"
    finally:
        loop.remove_reader(sock.fileno())
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


class Daemon:
    """The API served in rounds: awake until idle, asleep until the next connection, stopped when unused."""

    def __init__(self, sock: socket.socket, idle_minutes: float, hibernate_s: float,
                 setup_skipped: bool = False) -> None:
        from prefect.server.api.server import create_app

        self.sock = sock
        self.idle_minutes = idle_minutes
        self.idle_s = idle_minutes * 60
        self.hibernate_s = hibernate_s
        self.files = server_files()
        self.setup_skipped = setup_skipped
        # the same app every round: built once (seconds), restarted on wake in a fraction of one
        self.clock = ActivityClock(create_app(final=True))
        self.lease = None

    def _try_stop(self) -> bool:
        """Idle long enough and no command holds the lease: take it and say so (True: stop)."""
        if not self.idle_s or self.clock.idle_for() < self.idle_s:
            return False
        self.lease = _no_command_holds_the_lease(self.files.lease)
        if self.lease is None:
            return False
        print(f"no request for {self.idle_minutes:g} min and no labflows command running: stopping", flush=True)
        self.files.state.unlink(missing_ok=True)
        return True

    async def _awake(self, first: bool) -> str:
        """Serve until stopped ("stop"), signalled ("exit") or idle enough to sleep ("sleep")."""
        import uvicorn
        from prefect.server.api import server as prefect_server

        # Prefect runs an app's lifespan (database checks, its docket, the services) once per app and
        # skips it afterwards; a wake-up needs it again
        prefect_server.LIFESPAN_RAN_FOR_APP.discard(self.clock.app)
        server = uvicorn.Server(uvicorn.Config(self.clock, log_level="warning", lifespan="on"))
        # uvicorn closes the sockets it is given when it shuts down: a duplicate keeps ours listening
        serving = asyncio.create_task(server.serve(sockets=[self.sock.dup()]))
        while not server.started:
            if serving.done():
                await serving
                return "exit"
            await asyncio.sleep(0.05)
        if first:
            if not self.setup_skipped:  # a full start: the next one may skip what this one did
                server_setup.record_setup(self.files.prefect_home)
            port = self.sock.getsockname()[1]
            _write_state(self.files.state, {
                "url": f"http://127.0.0.1:{port}/api", "pid": os.getpid(), "port": port,
                "prefect_home": str(self.files.prefect_home), "idle_minutes": self.idle_minutes})
        checks = [t for t in (self.idle_s / 5, self.hibernate_s / 5) if t]
        check_every = max(0.5, min([30.0, *checks]))
        outcome, told_in_use = "exit", False
        while not serving.done():
            await asyncio.wait({serving}, timeout=check_every)
            if serving.done():
                break
            if self._try_stop():
                outcome = "stop"
            elif (self.hibernate_s and self.clock.idle_for() >= self.hibernate_s
                  and not await services_have_work()):
                outcome = "sleep"
            else:
                if self.idle_s and self.clock.idle_for() >= self.idle_s and not told_in_use:
                    print(f"no request for {self.idle_minutes:g} min, but a labflows command is running: staying",
                          flush=True)
                    told_in_use = True
                continue
            server.should_exit = True
        await serving
        return outcome

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT or until unused for the idle period."""
        first = True
        try:
            while True:
                outcome = await self._awake(first)
                first = False
                if outcome != "sleep":
                    return
                print("idle: hibernating until the next request", flush=True)
                while True:
                    wait = self.idle_s - self.clock.idle_for() if self.idle_s else None
                    woke = await _asleep(self.sock, None if wait is None else max(wait, 1.0))
                    if woke == "wake":
                        break
                    if woke == "exit" or self._try_stop():
                        return
        finally:
            state = _read_own_state(self.files.state)
            if state is not None:
                self.files.state.unlink(missing_ok=True)


async def serve(sock: socket.socket, idle_minutes: float, hibernate_s: float | None = None,
                setup_skipped: bool = False) -> None:
    """Serve until SIGTERM/SIGINT or until idle for ``idle_minutes`` (0: never); see :class:`Daemon`."""
    await Daemon(sock, idle_minutes, hibernate_seconds() if hibernate_s is None else hibernate_s,
                 setup_skipped).run()


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
    sock.listen(2048)  # listening before the API starts, and while it hibernates
    # before Prefect's import, which reads the settings this may set
    skipped = server_setup.skip_repeated_setup(server_files().prefect_home)
    if skipped:
        print("database and block types as recorded at the last full start: skipping their set-up", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sock, args.idle_minutes, setup_skipped=skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
