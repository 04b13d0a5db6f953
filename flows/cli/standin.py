"""``labflows bfabric-standin``: serve the local B-Fabric stand-in until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from standin.server import DEFAULT_LOGIN, DEFAULT_PASSWORD, StandinServer


def register(subparsers) -> None:
    """Add the ``bfabric-standin`` command."""
    p = subparsers.add_parser(
        "bfabric-standin",
        help="serve a local stand-in B-Fabric web service (for the bfabric client and B-Fabric apps)",
        description="Serve a local stand-in of the B-Fabric web service on 127.0.0.1 until Ctrl-C, and "
                    "print the bfabricpy configuration that reaches it.",
    )
    p.add_argument("--port", type=int, default=8123, help="port on 127.0.0.1 (default 8123; 0 picks a free one)")
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
    try:
        server = StandinServer(port=args.port, db_path=args.db, login=args.login, password=args.password)
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc}") from exc
    try:
        for seed in args.seed:
            try:
                server.seed(seed)
            except ValueError as exc:
                raise UsageError(f"{seed}: {exc}") from exc
        print(f"B-Fabric stand-in at {server.base_url}", flush=True)
        print("bfabricpy configuration (~/.bfabricpy.yml, or select it with BFABRICPY_CONFIG_ENV=STANDIN):")
        print(server.config_snippet(), flush=True)
        print("Ctrl-C to stop.", flush=True)
        _stop_on_sigterm()
        server.serve_forever()
    finally:
        server.stop()
    return 0


def _stop_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so the database is closed cleanly either way."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
