"""``labflows launch PREFIX [--watch]``: run the launcher once, or watch the folder and launch new files."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any


def register(subparsers) -> None:
    """Add the ``launch`` command."""
    p = subparsers.add_parser(
        "launch", help="start a run-workflow flow run for each new job file in a launcher folder",
        description="Run the launcher once: each new job file under PREFIX/<workflow>/ starts one flow run "
                    "of the run-workflow deployment (needs a Prefect server with that deployment).")
    p.add_argument("prefix", help="launcher folder: s3://bucket/launch or a local folder")
    p.add_argument("--workflows-dir", default="workflows", help="folder of <name>.yaml workflow files (default: workflows)")
    p.add_argument("--workflow", action="append", default=[], metavar="NAME=FILE",
                   help="workflow file for a workflow name (repeatable; checked before --workflows-dir)")
    p.add_argument("--deployment", default="run-workflow/run-workflow", help="deployment that runs workflows (default: run-workflow/run-workflow)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--storage", metavar="DIR", help="local folder standing in for S3 (passed to each run)")
    where.add_argument("--repository-block", metavar="NAME", help="saved repository block (passed to each run)")
    p.add_argument("--launcher-block", metavar="NAME", help="saved repository block for the launcher folder")
    p.add_argument("--limit", type=int, default=100, help="at most this many new job files in this pass (default: 100)")
    p.add_argument("--watch", action="store_true",
                   help="keep running: list the folder every --interval seconds and start runs for new files "
                        "(a launcher flow run only when there are some); Ctrl-C or SIGTERM stops it")
    p.add_argument("--interval", type=_positive_seconds, default=10.0, metavar="SECONDS",
                   help="with --watch: seconds between passes (default: 10)")
    p.add_argument("--passes", type=int, metavar="N", help="with --watch: stop after N passes (default: never)")
    p.set_defaults(func=run_command)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.1 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text}: between 0.1 and 86400 seconds")
    return value


def _print_outcomes(summary: dict[str, Any]) -> None:
    for outcome in summary["outcomes"]:
        print(f"{outcome['status']:<20} {outcome['run_name'] or '-':<40} {outcome['job_file']}", flush=True)


def run_command(args: argparse.Namespace) -> int:
    """Run the launcher flow once and print what it did; exit 1 when a file could not be launched."""
    from flows.cli.errors import UsageError

    workflows = {}
    for pair in args.workflow:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--workflow {pair!r}: expected NAME=FILE")
        workflows[name] = path

    launcher_args = dict(workflows_dir=args.workflows_dir, workflows=workflows, deployment=args.deployment,
                         launcher_block=args.launcher_block, repository_block=args.repository_block,
                         storage=args.storage, limit=args.limit)
    if args.watch:
        return _watch(args, launcher_args)
    if args.passes is not None:
        raise UsageError("--passes: only with --watch")

    from flows.launcher import launcher

    state = launcher(prefix=args.prefix, **launcher_args, return_state=True)
    if state.is_completed():
        summary = state.result()
        _print_outcomes(summary)
        print(json.dumps({k: v for k, v in summary.items() if k != "outcomes"}))
        return 0
    print(f"launcher failed: {state.result(raise_on_failure=False)}", file=sys.stderr)
    return 1


def _watch(args: argparse.Namespace, launcher_args: dict[str, Any]) -> int:
    """Watch until SIGINT/SIGTERM (or ``--passes``); each pass with new files prints their outcomes."""
    from flows.launcher import watch_launcher

    def report(_new, state) -> None:
        if state.is_completed():
            _print_outcomes(state.result())
        else:  # the files stay unclaimed: the next pass tries them again
            print(f"launcher failed (next pass tries again): {state.message}", file=sys.stderr, flush=True)

    watcher = watch_launcher(args.prefix, interval_s=args.interval, on_pass=report, **launcher_args)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: watcher.stop())
    print(f"watching {args.prefix} every {args.interval:g} s (Ctrl-C stops)", flush=True)
    passes = watcher.run(args.passes)
    print(f"stopped after {passes} pass(es)", flush=True)
    return 0
