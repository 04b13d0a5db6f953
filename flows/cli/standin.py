"""``labflows bfabric-standin``: serve the local B-Fabric stand-in until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from standin.server import DEFAULT_LOGIN, DEFAULT_PASSWORD, StandinServer

DEFAULT_PORT = 8123


def register(subparsers) -> None:
    """Add the ``bfabric-standin`` command."""
    p = subparsers.add_parser(
        "bfabric-standin",
        help="serve a local stand-in B-Fabric web service (for the bfabric client and B-Fabric apps)",
        description="Serve a local stand-in of the B-Fabric web service on 127.0.0.1 until Ctrl-C, and "
                    "print the bfabricpy configuration that reaches it.",
    )
    p.add_argument("--port", type=int, default=None,
                   help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one when that is taken; 0 picks a free one)")
    p.add_argument("--seed", type=Path, action="append", default=[], help="YAML seed file (repeatable)")
    p.add_argument("--db", type=Path, help="SQLite file that keeps the data across restarts (default: in memory)")
    p.add_argument("--login", default=DEFAULT_LOGIN, help=f"web-service login to accept (default {DEFAULT_LOGIN})")
    p.add_argument("--password", default=DEFAULT_PASSWORD, help="web-service password to accept (32 characters)")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Start the stand-in, print how to reach it, and serve until interrupted."""
    from flows.cli.errors import UsageError

    if len(args.password) != 32:
        raise UsageError("--password must be exactly 32 characters (the bfabric client refuses other lengths)")
    for seed in args.seed:
        if not seed.is_file():
            raise UsageError(f"seed file not found: {seed}")
    server = _start(args.port, db_path=args.db, login=args.login, password=args.password)
    try:
        for seed in args.seed:
            try:
                server.seed(seed)
            except ValueError as exc:
                raise UsageError(f"{seed}: {exc}") from exc
        print(f"B-Fabric stand-in at {server.base_url}", flush=True)
        print("Point the bfabric client at it in another shell:")
        print(f"export BFABRICPY_CONFIG_OVERRIDE='{json.dumps(server.config_override())}'")
        print("or put this into ~/.bfabricpy.yml (select it with BFABRICPY_CONFIG_ENV=STANDIN):")
        print(server.config_snippet(), flush=True)
        print("Ctrl-C to stop.", flush=True)
        _stop_on_sigterm()
        server.serve_forever()
    finally:
        server.stop()
    return 0


def _start(port: int | None, **options: object) -> StandinServer:
    """A stand-in on ``port``; with no port given, on :data:`DEFAULT_PORT` or else a free one."""
    from flows.cli.errors import UsageError

    try:
        return StandinServer(port=DEFAULT_PORT if port is None else port, **options)
    except OSError as exc:
        if port is not None:
            raise UsageError(f"cannot listen on port {port}: {exc.strerror or exc} "
                             "(--port 0 picks a free port)") from None
    server = StandinServer(port=0, **options)
    print(f"port {DEFAULT_PORT} is taken; using {server.port}", flush=True)
    return server


def _stop_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so the database is closed cleanly either way."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
