"""A BayerCLAW command (batch) step, run as bclaw_runner runs it, and its Prefect task.

Order: skip check, marker removal, job data, first substitution pass, workspace, references,
inputs, second (symbol) pass, job data file, commands, outputs (also after a failed command),
QC, completion marker.

Retries: which failures get another attempt is :func:`worth_retrying`'s rule (README: which failures are retried).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.repository import ObjectNotFound, PathOutsideRoot, RepositoryError, basename, has_glob
from tasks.bclaw.artifacts import is_cancellation, publish_step_report, start_report
from tasks.bclaw.commands import CommandRun, run_commands
from tasks.bclaw.containment import PathRefused, check_command_paths
from tasks.bclaw.context import RunContext, StepRecord
from tasks.bclaw.images import step_image
from tasks.bclaw.labels import step_tag
from tasks.bclaw.qc import QCFailure, run_qc_checks
from tasks.bclaw.registry_login import login_for_image
from tasks.bclaw.staging import (
    MissingInputError,
    download_inputs,
    fetch_references,
    merge_tags,
    upload_outputs,
)
from tasks.bclaw.substitution import (
    SubstitutionError,
    job_data_resolver,
    substitute,
    substitute_all,
    substitute_shell,
    symbol_resolver,
)
from tasks.bclaw.workspaces import keep_workspace, new_workspace
from tasks.runtime.executors import ExecutorUnavailable, get_executor
from tasks.runtime.failures import ExpectedFailure
from tasks.runtime.logs import console_verbosity, log_size, run_logger, tail_lines


class CommandFailed(ExpectedFailure, RuntimeError):
    """The step's commands exited non-zero (the message ends with their last output lines);
    ``in_engine``: the container engine failed, not the commands."""

    def __init__(self, step: str, code: int, tail: str = "", log_file: str = "", in_engine: bool = False):
        self.step, self.code, self.tail, self.log_file, self.in_engine = step, code, tail, log_file, in_engine
        what = "container engine failed" if in_engine else "command exited"
        ends = f"; output ends: {tail}" if tail else ""
        where = f" (log {log_file})" if log_file else ""
        super().__init__(f"step {step}: {what} with code {code}{ends}{where}")

    def __reduce__(self):
        return _rebuild_command_failed, ((self.step, self.code, self.tail, self.log_file, self.in_engine),
                                         self.__dict__)


def _rebuild_command_failed(args: tuple, state: dict) -> CommandFailed:
    exc = CommandFailed(*args)
    exc.__dict__.update(state)
    return exc


@dataclass
class StepResult:
    """What a command step hands on: its summary record and the auto-inputs for the next step."""

    record: StepRecord
    prev_outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class _Output:
    name: str
    dest: str | None
    s3_tags: dict[str, str]


def should_skip(step, ctx: RunContext) -> bool:
    """BayerCLAW's skip modes: ``skip_on_rerun`` (marker) or ``skip_if_output_exists`` (outputs)."""
    try:
        if step.skip_on_rerun:
            return ctx.repo.exists(ctx.marker_uri(step.name))
        if step.skip_if_output_exists:
            names = [o.name for o in step.outputs.values()]
            if any(has_glob(n) for n in names):
                return False
            return all(ctx.repo.exists(ctx.uri(basename(n))) for n in names)
    except Exception as exc:  # a failing check means "no previous run", as in bclaw_runner
        run_logger().warning("skip check failed (%s); running the step", exc)
    return False


def output_to_run_log(ctx: RunContext) -> bool:
    """Whether a step's command output goes to the run log (the Prefect UI) besides its log file.

    Not for scatter branches at the default verbosity: thousands of branches would make thousands
    of run log records (API calls, database rows); their log files keep every line, and a failed
    branch's error names its log file and ends with its last lines. ``-v`` sends them too.
    """
    return ctx.branch_idx == "main" or console_verbosity() >= 1


def auto_inputs(outputs: dict[str, _Output]) -> dict[str, str]:
    """What the next step gets as inputs when it lists none: each output's name, or dest+name."""
    return {sym: (o.dest + basename(o.name)) if o.dest else o.name for sym, o in outputs.items()}


def run_command_step(step, ctx: RunContext, prev_outputs: dict[str, str] | None = None,
                     display_name: str | None = None) -> StepResult:
    """Run one command step in ``ctx``'s repository; raises on failure (no marker written)."""
    logger = run_logger()
    started = time.monotonic()
    name = display_name or step.name
    to_run_log = output_to_run_log(ctx)
    if should_skip(step, ctx):
        logger.log(logging.INFO if to_run_log else logging.DEBUG, "%s: skipped (already done)", name)
        outputs = {s: _Output(o.name, o.dest, dict(o.s3_tags)) for s, o in step.outputs.items()}
        return StepResult(StepRecord(name, "skipped", 0.0, []), auto_inputs(outputs))

    ctx.repo.delete(ctx.marker_uri(step.name))
    job_data = ctx.read_job_data()
    resolve = job_data_resolver(job_data)

    # first pass: job data into everything the step names
    mode = ctx.options.substitution
    script = substitute_shell("\n".join(step.commands), resolve, mode=mode)
    inputs = substitute_all(dict(prev_outputs or {}) if step.inputs is None else dict(step.inputs), resolve)
    references = substitute_all(dict(step.references), resolve)
    outputs = {s: _Output(substitute(o.name, resolve), o.dest and substitute(o.dest, resolve),
                          substitute_all(dict(o.s3_tags), resolve)) for s, o in step.outputs.items()}
    base_tags = substitute_all(merge_tags(ctx.options.s3_tags, step.s3_tags), resolve)
    image = step_image(step.image.name, ctx.options.ecr_registry, resolve)
    check_command_paths(step, inputs, references, outputs)  # job data moves no path out of its root

    workspace = new_workspace(ctx.scratch, step.name)
    # kept after the workspace is removed: <scratch>/logs/<execution>/<step>[branch].log
    branch = "" if ctx.branch_idx == "main" else f"[{ctx.branch_idx}]"  # branches share the step's name
    log_file = ctx.scratch / "logs" / (ctx.execution_id or "local") / f"{name}{branch}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    ok = False
    report = start_report(ctx, name, image, inputs, references, started)
    try:
        symbols = fetch_references(ctx.repo, references, ctx.scratch / "references", workspace)
        symbols.update(download_inputs(ctx.repo, inputs, ctx.repo_uri, workspace))
        symbols.update({s.rstrip("!"): o.name for s, o in outputs.items()})
        script = substitute_shell(script, symbol_resolver(symbols), env_prefix="BC_SYMBOL_", mode=mode,
                                  globs=True)
        report.command = script.text

        job_file = workspace / f"job_data_{workspace.name}.json"
        job_file.write_text(json.dumps(job_data))  # one line: json's C encoder (indent=2 is its Python one)
        env = {
            **script.env,
            "BC_WORKSPACE": str(workspace),
            "BC_JOB_DATA_FILE": str(job_file),
            "BC_STEP_NAME": step.name,
            "BC_WORKFLOW_NAME": ctx.workflow_name,
            "BC_BRANCH_IDX": ctx.branch_idx,
            "BC_EXECUTION_ID": ctx.execution_id,
            "BC_SCRATCH_PATH": str(ctx.scratch),
        }
        shell = step.compute.shell or ctx.options.shell
        run = CommandRun(script.text, workspace, shell, env, image, step.compute.cpus,
                         step.compute.memory, step.compute.gpu, log_file, step.timeout, to_run_log)
        if step.image.auth:  # +auth: registry login with a Prefect Secret block
            login_for_image(image, step.image.auth, ctx.executor)
        code, log_start = 1, log_size(log_file)  # a retry appends: its error shows its own lines
        try:
            code = report.exit_code = run_commands(run, ctx.executor)
        finally:
            # moved, not copied, when the workspace goes right after: the commands succeeded and
            # no QC check reads it (a failed step's workspace is kept with its files)
            uploaded = upload_outputs(ctx.repo, outputs, ctx.repo_uri, workspace, base_tags=base_tags,
                                      metadata={"execution_id": ctx.execution_id},
                                      move=code == 0 and not step.qc_check)
            report.set_outputs(uploaded)
        if code != 0:
            raise CommandFailed(name, code, tail_lines(log_file, since=log_start), str(log_file),
                                get_executor(ctx.executor).engine_failed(code))
        run_qc_checks(step.qc_check, workspace)
        ctx.repo.write_bytes(ctx.marker_uri(step.name), b"", tags={"bclaw.system": "true"})
        ok = True
    except BaseException as exc:
        report.error = str(exc) or type(exc).__name__
        report.cancelled = is_cancellation(exc)
        if isinstance(exc, ExpectedFailure) and report.outputs:  # the summary shows what it uploaded
            exc.outputs = [u for uris in report.outputs.values() for u in uris]
        raise
    finally:
        publish_step_report(report, ctx.repo)
        if ok:
            shutil.rmtree(workspace, ignore_errors=True)
        else:
            keep_workspace(workspace)
            logger.warning("%s: workspace kept for inspection: %s", name, workspace)
    uris = [u for out in uploaded for u in out.uris]
    record = StepRecord(name, "done", time.monotonic() - started, uris)
    return StepResult(record, auto_inputs(outputs))


#: Failures that no second attempt cures: the step fails at once, whatever its ``retry`` says.
NEVER_RETRIED: tuple[type[BaseException], ...] = (
    QCFailure, PathRefused, PathOutsideRoot, MissingInputError, ObjectNotFound, ExecutorUnavailable,
    SubstitutionError,
)
#: What another attempt may cure without anyone asking: the container engine, storage still failing
#: after the repository block's own retries, the operating system (network, disk, processes).
INFRASTRUCTURE: tuple[type[BaseException], ...] = (RepositoryError, OSError)


def retry_written(step) -> bool:
    """Whether the workflow file gives the step a ``retry`` of its own (not the default)."""
    return "retry" in step.model_fields_set


def worth_retrying(exc: BaseException, written: bool) -> bool:
    """Whether a command step that failed with ``exc`` gets another attempt (while attempts remain).

    Args:
        exc: The failure.
        written: The step has a ``retry`` in the workflow file (:func:`retry_written`).

    The commands' own failure (non-zero exit, timeout) is retried only when the step asks for it
    with ``retry``: run here, the same commands on the same inputs fail the same way. Engine and
    infrastructure failures are retried with the step's retry settings (default or written);
    :data:`NEVER_RETRIED` failures and anything else (a bug, a bad value) never are.
    """
    if isinstance(exc, NEVER_RETRIED):
        return False
    if isinstance(exc, CommandFailed):
        return written or exc.in_engine
    if isinstance(exc, TimeoutError):  # CommandTimeout, or Prefect's task timeout (the step's timeout)
        return written
    return isinstance(exc, INFRASTRUCTURE)


def retry_condition(written: bool):
    """Prefect's ``retry_condition_fn`` for a step: :func:`worth_retrying` on the failed state.

    A plain function on purpose: Prefect calls only functions (``inspect.isfunction``) and reads
    any other callable as "do not retry".
    """

    def condition(task, task_run, state) -> bool:
        try:
            state.result()
        except Exception as exc:  # noqa: BLE001 - the failure being judged
            return worth_retrying(exc, written)
        return True

    condition.__qualname__ = f"retry_condition(written={written})"
    return condition


@task(cache_policy=NO_CACHE, retry_condition_fn=retry_condition(written=False))
def command_step(step, ctx: RunContext, prev_outputs: dict[str, str] | None = None,
                 display_name: str | None = None) -> StepResult:
    """Prefect task running one command step (see :func:`run_command_step`)."""
    return run_command_step(step, ctx, prev_outputs, display_name)


def command_step_task(step, display_name: str | None = None):
    """The :func:`command_step` task with the step's name, retries and timeout applied."""
    delays = [step.retry.interval * step.retry.backoff_rate ** i for i in range(step.retry.attempts)]
    return command_step.with_options(
        name=step.name,
        task_run_name=display_name or step.name,
        tags={step_tag(step.name)},
        retries=step.retry.attempts,
        retry_delay_seconds=delays or 0,
        retry_condition_fn=retry_condition(retry_written(step)),
        timeout_seconds=step.timeout,
    )
