"""``labflows launch PREFIX``: run the launcher once (what the ``launcher`` deployment does every minute)."""

from __future__ import annotations

import argparse
import json
import sys


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
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the launcher flow once and print what it did; exit 1 when a file could not be launched."""
    from flows.cli.errors import UsageError

    workflows = {}
    for pair in args.workflow:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--workflow {pair!r}: expected NAME=FILE")
        workflows[name] = path

    from flows.launcher import launcher

    state = launcher(prefix=args.prefix, workflows_dir=args.workflows_dir, workflows=workflows,
                     deployment=args.deployment, launcher_block=args.launcher_block,
                     repository_block=args.repository_block, storage=args.storage, limit=args.limit,
                     return_state=True)
    if state.is_completed():
        summary = state.result()
        for outcome in summary["outcomes"]:
            print(f"{outcome['status']:<20} {outcome['run_name'] or '-':<40} {outcome['job_file']}")
        print(json.dumps({k: v for k, v in summary.items() if k != "outcomes"}))
        return 0
    print(f"launcher failed: {state.result(raise_on_failure=False)}", file=sys.stderr)
    return 1
