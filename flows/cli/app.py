"""``labflows app``, ``labflows app-action`` and ``labflows outputs register``: B-Fabric apps from the command line.

* ``app APP.yml WORK_DIR WORKUNIT_REF`` runs the :func:`flows.app.run_app` flow (everything).
* ``app-action ACTION APP.yml WORK_DIR WORKUNIT_REF`` runs one phase (:func:`flows.app.app_action`).
* ``outputs register OUTPUTS.yml WORKUNIT_REF`` registers one outputs.yml, without a flow.

Arguments are checked before anything runs (exit 2, one line per problem); ``-n``/``--dry-run``
stops there and prints the plan (:mod:`flows.cli.app_dry_run`); a failed run prints
one ``ERROR …`` line (chunk, step, reason and the chunk folder to look in, as a workflow's failed
step does), then the summary of what the other chunks did, and exits 1. Failures whose message
says it all (a command's exit code, a registration problem) are logged without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from flows.cli.terminal import add_verbosity
from tasks.bfabric.app.phases import ACTIONS


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("app_yml", metavar="APP.yml", help="the app's app.yml")
    p.add_argument("work_dir", metavar="WORK_DIR", help="work directory of the workunit (created if missing)")
    p.add_argument("workunit_ref", metavar="WORKUNIT_REF", help="workunit id, or a workunit definition YAML file")
    _add_bfabric_arguments(p)
    p.add_argument("--max-parallel-chunks", type=int, default=2, metavar="N",
                   help="chunks running at the same time (default 2; 1 = one after the other)")
    p.add_argument("--force-app-version", metavar="V", help="run this app version instead of the workunit's")
    p.add_argument("--read-only", action="store_true",
                   help="only read from B-Fabric: no status changes, outputs not registered")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="check app.yml, chunks.yml and each chunk's inputs.yml/outputs.yml, print what would "
                        "run (dispatch, chunks, phases, status writes); contact no B-Fabric, write nothing")
    add_verbosity(p)


def _add_bfabric_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--credentials-block", metavar="NAME",
                   help="saved B-Fabric credentials block (default: ~/.bfabricpy.yml / BFABRICPY_CONFIG_ENV)")
    p.add_argument("--ssh-user", metavar="USER", help="user for ssh/scp/rsync to storage hosts")
    p.add_argument("--force-storage", metavar="YAML", help="storage fields (YAML) to copy outputs to instead")


def register(subparsers) -> None:
    """Add the ``app``, ``app-action`` and ``outputs`` commands."""
    app = subparsers.add_parser("app", help="run a B-Fabric app on a workunit (dispatch, chunks, registration)",
                                description="Run a B-Fabric app (app.yml) on one workunit as a Prefect flow.")
    _add_run_arguments(app)
    app.set_defaults(func=run_app_command)

    action = subparsers.add_parser("app-action", help="run one phase of a B-Fabric app on a workunit",
                                   description="Run one phase of a B-Fabric app, like bfabric-app-runner's "
                                               "`action` commands.")
    action.add_argument("action", choices=ACTIONS, help="the phase to run")
    _add_run_arguments(action)
    action.add_argument("--chunk", metavar="DIR", help="only this chunk directory (no status is written)")
    action.add_argument("--filter", metavar="NAME", help="inputs: only the input with exactly this file name")
    action.set_defaults(func=run_action_command)

    outputs = subparsers.add_parser("outputs", help="B-Fabric outputs (outputs.yml)",
                                    description="Work with the outputs an app chunk registers (outputs.yml).")
    outputs_commands = outputs.add_subparsers(dest="outputs_command", required=True, metavar="COMMAND")
    reg = outputs_commands.add_parser("register", help="register an outputs.yml for a workunit",
                                      description="Register the outputs listed in an outputs.yml in B-Fabric.")
    reg.add_argument("outputs_yml", metavar="OUTPUTS.yml")
    reg.add_argument("workunit_ref", metavar="WORKUNIT_REF", help="workunit id, or a workunit definition YAML file")
    _add_bfabric_arguments(reg)
    reg.set_defaults(func=run_register_command)


# --- checks before running (exit 2) ------------------------------------------------------------

def _check_workunit_ref(ref: str) -> int | None:
    """The workunit id the reference names (read from a definition file); raises on bad input."""
    from flows.cli.errors import UsageError
    from specs.bfabric.workunit import load_workunit_definition
    from tasks.bfabric.app.workunit import (
        WorkunitRefError,
        parse_workunit_ref,
        workunit_id_of,
    )

    try:
        parsed = parse_workunit_ref(ref)
    except WorkunitRefError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(parsed, int):
        return parsed
    if not parsed.is_file():
        raise UsageError(f"workunit definition file not found: {parsed}")
    return workunit_id_of(load_workunit_definition(parsed))  # SpecError -> exit 2


def _check_force_storage(path: str | None) -> None:
    from flows.cli.errors import UsageError
    from specs.source import Problem, SpecError, load_yaml_file

    if path is None:
        return
    doc = load_yaml_file(path)
    if not isinstance(doc.data, dict):
        message = "must be a mapping of storage fields (host, basepath, protocol)"
        raise SpecError([Problem(str(path), 1, 1, "", message)])
    if not doc.data.get("basepath"):
        raise UsageError(f"{path}: the forced storage needs a basepath")


def _check_run_arguments(args: argparse.Namespace) -> int | None:
    """Check everything that can be checked without running; the workunit id when known."""
    from flows.cli.errors import UsageError
    from specs.bfabric.app import app_from_doc
    from specs.source import load_yaml_file

    if args.max_parallel_chunks < 1:
        raise UsageError(f"--max-parallel-chunks must be at least 1, not {args.max_parallel_chunks}")
    app_from_doc(load_yaml_file(args.app_yml))
    work_dir = Path(args.work_dir)
    if work_dir.exists() and not work_dir.is_dir():
        raise UsageError(f"work dir is not a directory: {work_dir}")
    if (work_dir / "chunks.yml").is_file():  # a broken one is bad input: exit 2 before anything is written
        from specs.bfabric.chunks import load_chunks

        load_chunks(work_dir / "chunks.yml")
    _check_force_storage(args.force_storage)
    chunk = getattr(args, "chunk", None)
    if chunk is not None and not Path(chunk).is_dir() and not (work_dir / chunk).is_dir():
        raise UsageError(f"chunk directory not found: {chunk} (nor in {work_dir})")
    return _check_workunit_ref(args.workunit_ref)


# --- output --------------------------------------------------------------------------------------

class _NoTracebackFor(logging.Formatter):
    """Formats like ``inner``, but without the traceback of the ``expected`` exception types."""

    def __init__(self, inner: logging.Formatter, expected: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self._inner, self._expected = inner, expected

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, self._expected):
            return self._inner.format(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self._inner.format(record)
        finally:
            record.exc_info, record.exc_text = saved


_console_quieted = False


def _quiet_console() -> None:
    """Console logs without tracebacks of expected failures, and the bfabric client's INFO chatter off."""
    from loguru import logger as loguru_logger
    from prefect.logging.handlers import PrefectConsoleHandler

    from tasks.bfabric.app.run import EXPECTED_ERRORS

    global _console_quieted
    if not _console_quieted:
        loguru_logger.remove()
        # the sink looks sys.stderr up at each message (it may be replaced, e.g. by test capture)
        loguru_logger.add(lambda message: sys.stderr.write(message), level="WARNING")
        _console_quieted = True
    loggers = [logging.getLogger(name) for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs")]
    for handler in {h for lg in loggers for h in lg.handlers if isinstance(h, PrefectConsoleHandler)}:
        if not isinstance(handler.formatter, _NoTracebackFor):
            handler.setFormatter(_NoTracebackFor(handler.formatter or logging.Formatter(), EXPECTED_ERRORS))


def format_summary(summary: dict[str, Any]) -> str:
    """Two lines: the workunit, version, chunks and status; what was registered."""
    status = summary.get("status") or "unchanged"
    failed = summary.get("failed_chunks") or []
    chunks = f"{len(summary['chunks'])} chunk(s)" + (f" done, {len(failed)} failed ({', '.join(failed)})"
                                                     if failed else "")
    lines = [f"workunit {summary['workunit_id']}: app version {summary['app_version']}, "
             f"{chunks} in {summary['work_dir']}; status {status}"]
    lines.append(format_registered(summary["registered"]))
    return "\n".join(lines)


def format_registered(records: list[dict[str, Any]]) -> str:
    """``registered: 4 resource, 1 dataset (5 created, 0 updated, 0 unchanged)``."""
    if not records:
        return "registered: nothing"
    kinds = Counter(r["entity_type"] for r in records)
    actions = Counter(r["action"] for r in records)
    what = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    return (f"registered: {what} ({actions['created']} created, {actions['updated']} updated, "
            f"{actions['unchanged']} unchanged)")


def skip_last_collection_at_exit() -> None:
    """At exit, freeze the objects left (``gc.freeze``) before Python's finalization collects them.

    A process that imported Prefect holds millions of objects; the collector's last passes over
    them took 2-3 s between the printed summary and the exit on a loaded 2-core machine (0.1-0.5 s
    frozen). The memory goes back with the process anyway, and Prefect's own exit handlers still
    flush logs and events: freezing only keeps the collector from scanning what exists by then.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)


def _run_flow(flow: Any, workunit_id: int | None, verbosity: int = 0, **parameters: Any) -> int:
    """Run the (async) ``flow`` tagged with the workunit; print its summary (exit 0) or one error line (exit 1)."""
    import asyncio

    from prefect import tags

    from flows.cli.progress_view import progress_view
    from flows.cli.terminal import configure_terminal
    from tasks.runtime.progress import listening

    skip_last_collection_at_exit()
    _quiet_console()
    configure_terminal(verbosity)
    view = progress_view(sys.stderr)  # chunks per phase; stdout keeps only the summary
    with tags(*([f"workunit:{workunit_id}"] if workunit_id is not None else [])), view, listening(view):
        state = asyncio.run(flow(**parameters, return_state=True))
    if state.is_completed():
        print(format_summary(state.result()))
        return 0
    exc = state.result(raise_on_failure=False)
    print(f"ERROR {failure_line(exc, verbosity)}", file=sys.stderr, flush=True)
    summary = getattr(exc, "summary", None)
    if isinstance(summary, dict):
        print(format_summary(summary))
    return 1


def failure_line(exc: BaseException, verbosity: int = 0) -> str:
    """The one line a failed app run ends with: the chunk, the step and why (expected failures,
    with the chunk folders to look in), or the error and how to see its traceback (anything else)."""
    from tasks.bfabric.app.run import EXPECTED_ERRORS
    from tasks.runtime.failures import is_expected

    if not (isinstance(exc, EXPECTED_ERRORS) or is_expected(exc)):
        hint = "" if verbosity else " (run with -v for the traceback)"
        return f"app failed: {type(exc).__name__}: {exc}{hint}"
    work_dir = getattr(exc, "summary", {}).get("work_dir")
    failed = [name for name, _ in getattr(exc, "failures", [])]
    if not (work_dir and failed):
        return str(exc)
    folders = ", ".join(_shown_path(Path(work_dir) / name) for name in failed)
    return f"{exc} (look in {folders})"


def _shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it (shorter to read), else as is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _run_parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {"app_yml": str(Path(args.app_yml).absolute()), "work_dir": str(Path(args.work_dir).absolute()),
            "workunit_ref": args.workunit_ref, "credentials_block": args.credentials_block,
            "max_parallel_chunks": args.max_parallel_chunks, "ssh_user": args.ssh_user,
            "force_app_version": args.force_app_version,
            "force_storage": str(Path(args.force_storage).absolute()) if args.force_storage else None,
            "read_only": args.read_only}


def _absolute_ref(ref: str) -> str:
    return ref if ref.strip().isdigit() else str(Path(ref).absolute())


def _dry_run(args: argparse.Namespace, workunit_id: int | None) -> int:
    from flows.cli.app_dry_run import print_plan

    print_plan(args, workunit_id)
    return 0


def run_app_command(args: argparse.Namespace) -> int:
    """``labflows app``: check the arguments, then run the whole app as one flow."""
    workunit_id = _check_run_arguments(args)
    if args.dry_run:
        return _dry_run(args, workunit_id)
    from flows.app import run_app

    params = _run_parameters(args)
    params["workunit_ref"] = _absolute_ref(args.workunit_ref)
    return _run_flow(run_app, workunit_id, args.verbose, **params)


def run_action_command(args: argparse.Namespace) -> int:
    """``labflows app-action``: check the arguments, then run one phase as a flow."""
    workunit_id = _check_run_arguments(args)
    if args.dry_run:
        return _dry_run(args, workunit_id)
    from flows.app import app_action

    params = _run_parameters(args)
    params["workunit_ref"] = _absolute_ref(args.workunit_ref)
    chunk = args.chunk
    if chunk is not None:
        chunk = str(Path(chunk).absolute() if Path(chunk).is_dir() else Path(args.work_dir).absolute() / chunk)
    return _run_flow(app_action, workunit_id, args.verbose, action=args.action, chunk=chunk, filter=args.filter,
                     **params)


def run_register_command(args: argparse.Namespace) -> int:
    """``labflows outputs register``: register one outputs.yml (relative paths: the current directory)."""
    from flows.cli.errors import UsageError, print_failure
    from specs.bfabric.outputs import load_outputs

    outputs = load_outputs(args.outputs_yml)  # SpecError -> exit 2
    workunit_ref = args.workunit_ref
    _check_workunit_ref(workunit_ref)
    _check_force_storage(args.force_storage)

    from specs.bfabric.workunit import load_workunit_definition
    from tasks.bfabric.app.connection import BfabricConnection
    from tasks.bfabric.app.run import EXPECTED_ERRORS
    from tasks.bfabric.app.steps import anchor_local_paths
    from tasks.bfabric.app.workunit import definition_from_bfabric, parse_workunit_ref
    from tasks.bfabric.register.outputs import register_outputs
    from tasks.runtime.failures import is_expected

    _quiet_console()
    connection = BfabricConnection(args.credentials_block)
    ref = parse_workunit_ref(workunit_ref)
    try:
        client = connection.client()
        definition = (definition_from_bfabric(client, ref) if isinstance(ref, int)
                      else load_workunit_definition(ref))
        if definition.registration is None:
            raise UsageError(f"{workunit_ref}: the workunit definition has no registration section")
        records = register_outputs(client, anchor_local_paths(outputs, Path.cwd()), definition,
                                   ssh_user=args.ssh_user, force_storage=args.force_storage)
    except UsageError:
        raise
    except Exception as exc:  # a failed registration: one line, no traceback
        expected = isinstance(exc, EXPECTED_ERRORS) or is_expected(exc)
        return print_failure(str(exc) if expected else f"outputs register failed: {type(exc).__name__}: {exc}")
    for record in records:
        print(f"{record['action']:9} {record['entity_type']} {record['id']}: {record['name']}")
    print(format_registered(records))
    return 0
