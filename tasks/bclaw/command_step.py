"""A BayerCLAW command (batch) step, run as bclaw_runner runs it, and its Prefect task.

Order: skip check, marker removal, job data, first substitution pass, workspace, references,
inputs, second (symbol) pass, job data file, commands, outputs (also after a failed command),
QC, completion marker.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.repository import basename, has_glob
from tasks.bclaw.artifacts import publish_step_report, start_report
from tasks.bclaw.commands import CommandRun, run_commands
from tasks.bclaw.containment import PathRefused, check_command_paths
from tasks.bclaw.context import RunContext, StepRecord
from tasks.bclaw.images import registry_image
from tasks.bclaw.labels import step_tag
from tasks.bclaw.qc import QCFailure, run_qc_checks
from tasks.bclaw.registry_login import login_for_image
from tasks.bclaw.staging import (
    download_inputs,
    fetch_references,
    merge_tags,
    upload_outputs,
)
from tasks.bclaw.substitution import (
    job_data_resolver,
    substitute,
    substitute_all,
    substitute_image_tag,
    substitute_shell,
    symbol_resolver,
)
from tasks.bclaw.workspaces import keep_workspace, new_workspace
from tasks.runtime.logs import run_logger


class CommandFailed(RuntimeError):
    """The step's commands exited non-zero."""

    def __init__(self, step: str, code: int):
        self.step, self.code = step, code
        super().__init__(f"step {step}: command exited with code {code}")


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


def auto_inputs(outputs: dict[str, _Output]) -> dict[str, str]:
    """What the next step gets as inputs when it lists none: each output's name, or dest+name."""
    return {sym: (o.dest + basename(o.name)) if o.dest else o.name for sym, o in outputs.items()}


def run_command_step(step, ctx: RunContext, prev_outputs: dict[str, str] | None = None,
                     display_name: str | None = None) -> StepResult:
    """Run one command step in ``ctx``'s repository; raises on failure (no marker written)."""
    logger = run_logger()
    started = time.monotonic()
    name = display_name or step.name
    if should_skip(step, ctx):
        logger.info("%s: skipped (already done)", name)
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
    # the registry rule looks at the name as written, before job data fills in its tag
    image = substitute_image_tag(registry_image(step.image.name, ctx.options.ecr_registry), resolve)
    check_command_paths(step, inputs, references, outputs)  # job data moves no path out of its root

    ctx.scratch.mkdir(parents=True, exist_ok=True)
    workspace = new_workspace(ctx.scratch, step.name)
    # kept after the workspace is removed: <scratch>/logs/<execution>/<step>[branch].log
    log_file = ctx.scratch / "logs" / (ctx.execution_id or "local") / f"{name}.log"
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
        job_file.write_text(json.dumps(job_data, indent=2))
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
                         step.compute.memory, step.compute.gpu, log_file, step.timeout)
        if step.image.auth:  # +auth: registry login with a Prefect Secret block
            login_for_image(image, step.image.auth, ctx.executor)
        code = 1
        try:
            code = report.exit_code = run_commands(run, ctx.executor)
        finally:
            uploaded = upload_outputs(ctx.repo, outputs, ctx.repo_uri, workspace, base_tags=base_tags,
                                      metadata={"execution_id": ctx.execution_id})
            report.set_outputs(uploaded)
        if code != 0:
            raise CommandFailed(name, code)
        run_qc_checks(step.qc_check, workspace)
        ctx.repo.write_bytes(ctx.marker_uri(step.name), b"", tags={"bclaw.system": "true"})
        ok = True
    except BaseException as exc:
        report.error = str(exc) or type(exc).__name__
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


def _retry_unless_qc(task, task_run, state) -> bool:
    """QC failures and refused paths stop the workflow: they are never retried."""
    try:
        state.result()
    except (QCFailure, PathRefused):  # neither changes on a second attempt
        return False
    except Exception:
        return True
    return True


@task(cache_policy=NO_CACHE, retry_condition_fn=_retry_unless_qc)
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
        timeout_seconds=step.timeout,
    )
