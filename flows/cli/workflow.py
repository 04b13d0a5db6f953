"""``labflows workflow WORKFLOW.yaml --job JOB``: run a BayerCLAW workflow and print a summary."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    """Add the ``workflow`` command."""
    p = subparsers.add_parser("workflow", help="run a BayerCLAW workflow file",
                              description="Run a BayerCLAW workflow file as a Prefect flow.")
    p.add_argument("workflow", help="workflow YAML file")
    p.add_argument("--job", required=True, help="job data file (JSON or YAML)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="workflow parameter value")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--storage", metavar="DIR", help="local folder standing in for S3 (default ./.labflows/storage)")
    where.add_argument("--repository-block", metavar="NAME", help="saved repository block (e.g. an S3Repository)")
    p.add_argument("--executor", choices=["local", "docker"], help="where commands run (default: Options.executor or local)")
    p.add_argument("--task-runner", metavar="RUNNER",
                   help="where task runs execute: threads[=N] (default), dask (a local cluster of worker "
                        "processes) or dask=SCHEDULER_ADDRESS")
    p.set_defaults(func=run_command)


def format_summary(summary: dict) -> str:
    """The end-of-run table: step, status, duration, outputs."""
    rows = [("step", "status", "time", "outputs")]
    for rec in summary["steps"]:
        outputs = ", ".join(rec["outputs"]) if rec["outputs"] else "-"
        rows.append((rec["name"], rec["status"], f"{rec['duration_s']:.1f}s", outputs))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"workflow {summary['workflow']} — repository {summary['repository']}"]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> int:
    """Validate everything first (exit 2 on bad input), then run the flow (exit 1 if it fails)."""
    from flows.cli.errors import UsageError
    from specs.workflow.model import load_workflow
    from tasks.bclaw.containment import PathRefused, check_job_paths
    from tasks.bclaw.initialize import JobDataError, load_job_file, render_repository
    from tasks.bclaw.native import unsupported_native_steps

    from flows.cli.specs import ParamError, parse_param_pairs

    try:
        params = parse_param_pairs(args.param)
    except ParamError as exc:
        raise UsageError(str(exc)) from None
    wf = load_workflow(args.workflow, params)
    job = load_job_file(args.job)
    if not isinstance(job, dict):
        raise UsageError(f"{args.job}: job data must be a mapping (a JSON object)")
    problems = unsupported_native_steps(wf.steps)
    if problems:
        raise UsageError(f"{args.workflow}: " + "; ".join(problems))
    try:
        render_repository(wf.repository, job)
        check_job_paths(wf.steps, job)
    except (JobDataError, PathRefused) as exc:
        raise UsageError(f"{args.job}: {exc}") from None

    from tasks.runtime.task_runners import TaskRunnerSpecError, make_task_runner

    try:
        runner = make_task_runner(args.task_runner) if args.task_runner else None
    except TaskRunnerSpecError as exc:
        raise UsageError(str(exc)) from None

    from flows.workflow import WorkflowFailed, run_workflow

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    flow_fn = run_workflow.with_options(task_runner=runner) if runner else run_workflow
    # Heartbeats let a server notice crashed runs of deployments; a CLI run is watched by its
    # user, and a sync flow waits up to a second at its end for the heartbeat thread.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        state = flow_fn(workflow=args.workflow, job_file=args.job, params=params,
                        repository_block=args.repository_block, storage=args.storage,
                        executor=args.executor, return_state=True)
    if state.is_completed():
        print(format_summary(state.result()))
        return 0
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, WorkflowFailed):
        print(format_summary(exc.summary))
    print(f"workflow failed: {exc}", file=sys.stderr)
    return 1
