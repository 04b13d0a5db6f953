"""``labflows server start|stop|status``: the local Prefect server that labflows commands share."""

from __future__ import annotations

import argparse
import sys

from flows.cli import local_server


def register(subparsers) -> None:
    """Add the ``server`` command."""
    p = subparsers.add_parser(
        "server", help="the local Prefect server that labflows commands share",
        description="labflows commands that run flows start a local Prefect server on first use (same "
                    "Prefect home and database as `prefect` commands) and reuse it; it stops itself after "
                    f"{local_server.DEFAULT_IDLE_MINUTES:g} idle minutes ({local_server.IDLE_MINUTES_ENV}). "
                    "Runs also start a warm runner that keeps Prefect imported for the next run. "
                    "start: start it now (or say it already runs); stop: stop it and the warm runners; status: "
                    "which API commands use, whether it answers (exit 0) or not (exit 1), and the warm runners.")
    p.add_argument("action", choices=["start", "stop", "status"], help="start, stop or status")
    p.add_argument("--port", type=int, default=0, help="port for start (default: a free one)")
    p.add_argument("--idle-minutes", type=float, default=None,
                   help=f"for start: stop after this many idle minutes, 0 for never "
                        f"(default: {local_server.IDLE_MINUTES_ENV} or {local_server.DEFAULT_IDLE_MINUTES:g})")
    p.set_defaults(func=run_command)


def _describe(state: dict) -> str:
    idle = state.get("idle_minutes")
    stops = "never stops by itself" if not idle else f"stops after {idle:g} idle minutes"
    return f"{state['url']} (pid {state['pid']}, Prefect home {state.get('prefect_home', '?')}, {stops})"


def _describe_runner(state: dict) -> str:
    return (f"warm runner pid {state['pid']} ({state.get('runs', 0)} runs; checkout {state.get('source_root', '?')}, "
            f"Python {state.get('executable', '?')})")


def _print_runners(files: local_server.ServerFiles) -> None:
    for runner in local_server.warm_runners(files):
        print(_describe_runner(runner))


def _configured_note() -> tuple[str, bool] | None:
    """A line about a configured ``PREFECT_API_URL`` (which commands use instead), and whether it answers."""
    from flows.cli.api_choice import api_url_setting, configured_api_url

    url = configured_api_url()
    if not url:
        return None
    where, fix = api_url_setting()
    if local_server.is_healthy(url, timeout=2.0):
        return f"labflows commands use {where}: {url} (answers)", True
    return f"labflows commands use {where}: {url}, which does not answer (fix: {fix})", False


def run_command(args: argparse.Namespace) -> int:
    """Start, stop or report the local server."""
    files = local_server.server_files()
    if args.action == "stop":
        runners = local_server.stop_warm_runners(files)
        state = local_server.stop_server(files)
        print(f"stopped the server at {_describe(state)}" if state else f"no server recorded in {files.state}")
        for runner in runners:
            print(f"stopped the {_describe_runner(runner)}")
        return 0
    note = _configured_note()  # imports Prefect (its settings): only where it is printed
    if args.action == "start":
        if args.idle_minutes is not None and args.idle_minutes < 0:
            from flows.cli.errors import UsageError

            raise UsageError(f"--idle-minutes {args.idle_minutes:g}: expected a number >= 0")
        state = local_server.running_server(files)
        if state:
            print(f"already running at {_describe(state)}")
        else:
            try:
                state = local_server.ensure_server(args.idle_minutes, args.port, lease=False)
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"Prefect server running at {_describe(state)}")
        if note:
            print(f"note: {note[0]}, not this server")
        return 0
    if note:
        print(note[0])
        return 0 if note[1] else 1
    state = local_server.read_state(files)
    if state and local_server.is_healthy(state["url"], timeout=2.0):
        print(f"running at {_describe(state)}")
        _print_runners(files)
        return 0
    if state:
        print(f"not running: {files.state} names {state['url']} (pid {state.get('pid')}), which does not answer; "
              "the next labflows run starts a new server")
    else:
        print(f"not running (Prefect home {files.prefect_home}); the next labflows run starts one")
    _print_runners(files)
    return 1
