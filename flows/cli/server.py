"""``labflows server start|stop|status``: a background Prefect server that later commands use."""

from __future__ import annotations

import argparse

from flows.cli import local_server


def register(subparsers) -> None:
    """Add the ``server`` command."""
    p = subparsers.add_parser(
        "server", help="manage a background Prefect server for fast local runs",
        description="A background Prefect server that later labflows commands on this machine use, so "
                    "they don't each start a temporary one. start: start it (or say it already runs); "
                    "stop: stop it; status: print its address (exit 0) or 'not running' (exit 1).")
    p.add_argument("action", choices=["start", "stop", "status"], help="start, stop or status")
    p.add_argument("--port", type=int, help="port for start (default: a free one)")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Start, stop or report the background server."""
    if args.action == "start":
        state = local_server.running_server()
        if state:
            print(f"already running at {state['url']} (pid {state['pid']})")
            return 0
        state = local_server.start_server(args.port)
        print(f"Prefect server running at {state['url']} (pid {state['pid']}); labflows commands use it now")
        return 0
    if args.action == "stop":
        print("stopped" if local_server.stop_server() else "no server recorded")
        return 0
    state = local_server.running_server()
    print(f"running at {state['url']} (pid {state['pid']})" if state else "not running")
    return 0 if state else 1
