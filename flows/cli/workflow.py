"""``labflows workflow WORKFLOW.yaml --job JOB``: run a BayerCLAW workflow and print a summary."""

from __future__ import annotations

import argparse
import os
import sys

from flows.cli.terminal import add_verbosity
from tasks.runtime.executors import EXECUTORS


def register(subparsers) -> None:
    """Add the ``workflow`` command."""
    p = subparsers.add_parser("workflow", help="run a BayerCLAW workflow file",
                              description="Run a BayerCLAW workflow file as a Prefect flow.")
    p.add_argument("workflow", help="workflow YAML file")
    p.add_argument("--job", required=True, help="job data file (JSON or YAML)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="workflow parameter value (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--storage", metavar="DIR", help="local folder standing in for S3 (default ./.labflows/storage)")
    where.add_argument("--repository-block", metavar="NAME", help="saved repository block (e.g. an S3Repository)")
    p.add_argument("--executor", choices=list(EXECUTORS), help="where commands run (default: Options.executor or local)")
    p.add_argument("--task-runner", metavar="RUNNER",
                   help="where task runs execute: threads[=N] (default), dask (a local cluster of worker "
                        "processes) or dask=SCHEDULER_ADDRESS")
    p.add_argument("--step-runner", choices=["in-process", "work-pool"],
                   help="work-pool: command steps and scatter batches run as run-step flow runs on the work pool "
                        "their compute.queue_name names (default: Options.step_runner; docs/scale.md)")
    p.add_argument("--step-pool", action="append", default=[], metavar="POOLS",
                   help="work pools as QUEUE=POOL[,POOL] (the pools of a compute.queue_name) or POOL[,POOL] "
                        "(for steps naming no queue); repeatable")
    p.add_argument("--image-registry", metavar="HOST",
                   help="rewrite image names that name no registry to HOST/NAME (BayerCLAW's ECR rewrite, "
                        "e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com; default: Options.ecr_registry)")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="check the workflow and job, print the steps that would run with their inputs and "
                        "outputs, run nothing and write nothing")
    add_verbosity(p)
    p.set_defaults(func=run_command)


def format_summary(summary: dict, local_root: str | None = None) -> str:
    """The end-of-run table: step, status, duration, outputs (every step, ``not run`` included).

    With ``local_root`` (a local folder standing in for S3), outputs are shown as the paths a user
    can open; a scatter step also shows its branch counts.
    """
    show = _local_paths(local_root) if local_root else str
    rows = [("step", "status", "time", "outputs")]
    for rec in summary["steps"]:
        outputs = ", ".join(show(o) for o in rec["outputs"]) if rec["outputs"] else "-"
        note = rec.get("outputs_note") if rec["status"] == "failed" else rec.get("message")
        if note:
            outputs = f"{outputs} ({note})"
        time_text = "-" if rec["status"] == "not run" else f"{rec['duration_s']:.1f}s"
        rows.append((rec["name"], rec["status"], time_text, outputs))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"workflow {summary['workflow']} — repository {show(summary['repository'])}"]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    return "\n".join(lines)


def _local_paths(root: str):
    from blocks.local import LocalRepository

    repo = LocalRepository(root=root)

    def show(uri: str) -> str:  # a folder (a failed scatter's step folder) keeps its trailing slash
        if not uri.startswith("s3://"):
            return uri
        return os.path.relpath(repo.path_of(uri)) + ("/" if uri.endswith("/") else "")
    return show


def run_command(args: argparse.Namespace) -> int:
    """Validate everything first (exit 2 on bad input), then run the flow (exit 1 if it fails)."""
    from flows.cli.errors import UsageError
    from flows.cli.specs import ParamError, parse_param_pairs
    from specs.jobs import load_job
    from specs.workflow.model import load_workflow

    try:
        params = parse_param_pairs(args.param)
    except ParamError as exc:
        raise UsageError(str(exc)) from None
    wf = _with_image_registry(load_workflow(args.workflow, params), args.image_registry)
    job = load_job(args.job)  # before the engine (and Prefect) is imported: bad input fails fast

    from tasks.bclaw.containment import PathRefused, check_job_paths
    from tasks.bclaw.initialize import (
        JobDataError,
        check_job_references,
        render_repository,
    )
    from tasks.bclaw.native import unsupported_native_steps

    problems = unsupported_native_steps(wf.steps)
    if problems:
        raise UsageError(f"{args.workflow}: " + "; ".join(problems))
    try:
        render_repository(wf.repository, job)
        check_job_references(wf.steps, job)
        check_job_paths(wf.steps, job)
    except (JobDataError, PathRefused) as exc:
        raise UsageError(f"{args.job}: {exc}") from None

    from tasks.bclaw.step_runner import StepPoolSpecError, parse_step_pools

    try:
        parse_step_pools(args.step_pool)
    except StepPoolSpecError as exc:
        raise UsageError(str(exc)) from None

    from tasks.runtime.task_runners import TaskRunnerSpecError, make_task_runner

    try:
        runner = make_task_runner(args.task_runner) if args.task_runner else None
    except TaskRunnerSpecError as exc:
        raise UsageError(str(exc)) from None
    if args.repository_block:
        from blocks.resolve import RepositoryBlockNotFound, load_repository

        try:
            load_repository(args.repository_block)
        except RepositoryBlockNotFound as exc:
            raise UsageError(str(exc)) from None

    if args.dry_run:
        from flows.cli.dry_run import print_plan

        print_plan(wf, job, args)
        return 0

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from blocks.local import DEFAULT_STORAGE  # imports Prefect: not for parsing or --help
    from flows.cli.progress_view import progress_view
    from flows.cli.terminal import configure_terminal
    from flows.workflow import WorkflowFailed, run_workflow
    from tasks.runtime.progress import listening

    configure_terminal(args.verbose)
    flow_fn = run_workflow.with_options(task_runner=runner) if runner else run_workflow
    view = progress_view(sys.stderr)  # stdout keeps only the summary
    # Heartbeats let a server notice crashed runs of deployments; a CLI run is watched by its
    # user, and a sync flow waits up to a second at its end for the heartbeat thread.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), view, listening(view):
        state = flow_fn(workflow=args.workflow, job_file=args.job, params=params,
                        repository_block=args.repository_block, storage=args.storage,
                        executor=args.executor, step_runner=args.step_runner, step_pools=args.step_pool or None,
                        image_registry=args.image_registry, return_state=True)
    local_root = None if args.repository_block else (args.storage or DEFAULT_STORAGE)
    if state.is_completed():
        print(format_summary(state.result(), local_root))
        return 0
    exc = state.result(raise_on_failure=False)
    print(f"ERROR {failure_line(exc, args.verbose)}", file=sys.stderr, flush=True)
    if isinstance(exc, WorkflowFailed):
        print(format_summary(exc.summary, local_root))
    return 1


def _with_image_registry(wf, registry: str | None):
    """``wf`` with ``--image-registry`` as its ``Options.ecr_registry``; exit 2 on a bad value."""
    if registry is None:
        return wf
    from flows.cli.errors import UsageError
    from tasks.bclaw.images import RegistryNameError, check_registry, with_registry

    try:
        return with_registry(wf, check_registry(registry))
    except RegistryNameError as exc:
        raise UsageError(str(exc)) from None


def failure_line(exc: BaseException, verbosity: int = 0) -> str:
    """The one line a failed run ends with: the failed step and why (expected failures), or the
    error and how to see its traceback (anything else)."""
    from tasks.runtime.failures import is_expected

    steps = getattr(exc, "summary", {}).get("steps", [])
    failed = next((r for r in steps if r["status"] == "failed"), None)
    if failed and is_expected(exc):
        message = failed["message"] or str(exc)
        return message if message.startswith(f"step {failed['name']}") else f"step {failed['name']}: {message}"
    if is_expected(exc):  # before any step (the repository in use by another run)
        return f"workflow failed: {exc}"
    hint = "" if verbosity else " (run with -v for the traceback)"
    return f"workflow failed: {type(exc).__name__}: {exc}{hint}"
