"""Subpipe steps: another workflow run in ``<repo>/<Step>``, then files copied back.

``subpipe: other.yaml`` (relative to the parent workflow file) runs as a Prefect subflow;
``subpipe: deployment:FLOW/DEPLOYMENT`` starts that deployment (the ``run-workflow`` flow) and
waits for it. Either way the child's repository is ``<repo>/<Step>`` (the child's own
``Repository`` is overridden) and its job data is the ``job_data`` file from the parent repository
or, without one, the parent's job data (``parent`` and ``scatter`` values are dropped).
``retrieve`` entries (``src -> dst``) copy ``<sub-repo>/<src>`` to ``<repo>/<dst>``; the deprecated
``submit`` entries copy ``<repo>/<src>`` to ``<sub-repo>/<dst>`` before the child starts.

How the child runs is the flow layer's business: it hands a :data:`ChildRunner` in.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from blocks.local import LocalRepository
from blocks.repository import Repository, join_uri
from specs.source import load_yaml_text
from specs.workflow.paths import Kind
from tasks.bclaw.containment import PathRefused, check_rendered
from tasks.bclaw.context import RunContext, StepRecord
from tasks.bclaw.scatter.expand import qualify
from tasks.bclaw.substitution import job_data_resolver, substitute
from tasks.bclaw.walk import StepOutcome
from tasks.runtime.logs import run_logger

DEPLOYMENT_PREFIX = "deployment:"


class SubpipeFailed(RuntimeError):
    """The child workflow failed or a retrieved file is missing; the message names the step."""


@dataclass(frozen=True)
class ChildRun:
    """What a child workflow run needs."""

    step_name: str
    workflow: str  # a workflow file path, or FLOW/DEPLOYMENT for deployments
    job: Any
    repository_uri: str
    repository_params: dict[str, str]  # repository_block or storage, as run_workflow takes them
    executor: str
    start_timeout: float = 300.0  # seconds a deployment's run may wait for a worker (Options.step_start_timeout)
    image_registry: str | None = None  # the parent's registry for bare image names (a file subpipe's)


class ChildRunner(Protocol):
    """Runs a child workflow to the end; raises when it fails."""

    def __call__(self, run: ChildRun, *, deployment: bool) -> None: ...


def repository_params(repo: Repository) -> dict[str, str]:
    """How another flow run finds ``repo``: ``{"repository_block": "slug/name"}`` for a saved block,
    ``{"storage": root}`` for a local folder."""
    name = getattr(repo, "_block_document_name", None)
    if name and not getattr(repo, "_is_anonymous", False):
        return {"repository_block": f"{repo.get_block_type_slug()}/{name}"}
    if isinstance(repo, LocalRepository):
        return {"storage": str(Path(repo.root).absolute())}
    raise SubpipeFailed("subpipes need a saved repository block or a local storage folder; "
                        f"this {type(repo).__name__} is neither (save it as a block)")


def child_job(step, ctx: RunContext, job_data: dict) -> Any:
    """The child's job data: the ``job_data`` file (JSON or YAML, in the parent repo) or the parent's job."""
    if not step.job_data:
        return job_data.get("job")
    value = _checked(f"step {step.name}: job_data", "read", step.job_data,
                     substitute(step.job_data, job_data_resolver(job_data)))
    uri = qualify(value, ctx.repo_uri)
    return load_yaml_text(ctx.repo.read_text(uri), uri).data  # within the loader's limits


def child_workflow(step, ctx: RunContext) -> tuple[str, bool]:
    """``(workflow file or FLOW/DEPLOYMENT, is_deployment)``; files are relative to the parent workflow."""
    target = step.subpipe.strip()
    if target.startswith(DEPLOYMENT_PREFIX):
        return target[len(DEPLOYMENT_PREFIX):].strip(), True
    path = Path(target)
    return str(path if path.is_absolute() else Path(ctx.workflow_dir) / path), False


def _checked(field: str, kind: Kind, template: str, value: str) -> str:
    """``value`` when job data kept it inside its root; else :class:`SubpipeFailed` naming the field."""
    try:
        return check_rendered(field, kind, template, value)
    except PathRefused as exc:
        raise SubpipeFailed(str(exc)) from None


def _copy_entries(step, field: str, entries: list, src_root: str, dst_uri: Callable[[str], str],
                  job_data: dict, ctx: RunContext) -> list[str]:
    """Copy ``src_root/<src>`` to ``dst_uri(<dst>)`` for each ``src -> dst`` entry; the URIs written."""
    resolve = job_data_resolver(job_data)
    dst_kind: Kind = "target" if field == "retrieve" else "workspace"
    written = []
    for i, entry in enumerate(entries):
        where = f"step {step.name}: {field}[{i}]"
        src = join_uri(src_root, _checked(f"{where}.src", "workspace", entry.src, substitute(entry.src, resolve)))
        dst = dst_uri(_checked(f"{where}.dst", dst_kind, entry.dst, substitute(entry.dst, resolve)))
        if not ctx.repo.exists(src):
            writer = "the subpipe" if field == "retrieve" else "the parent workflow"
            raise SubpipeFailed(f"step {step.name}: {field}: {writer} wrote no {src}")
        ctx.repo.copy(src, dst)
        written.append(dst)
    return written


def retrieve(step, ctx: RunContext, sub_uri: str, job_data: dict) -> list[str]:
    """Copy each ``retrieve`` entry from the sub-repository into the parent's; the URIs written."""
    return _copy_entries(step, "retrieve", step.retrieve, sub_uri, lambda dst: qualify(dst, ctx.repo_uri),
                         job_data, ctx)


def submit(step, ctx: RunContext, sub_uri: str, job_data: dict) -> list[str]:
    """Copy each (deprecated) ``submit`` entry from the parent repository into the sub-repository
    before the child runs, as BayerCLAW v1.2.8 still does; one notice line says it is deprecated."""
    if not step.submit:
        return []
    run_logger().warning("notice: step %s: submit is deprecated in BayerCLAW; the files are copied into %s",
                         step.name, sub_uri)
    return _copy_entries(step, "submit", step.submit, ctx.repo_uri, lambda dst: join_uri(sub_uri, dst),
                         job_data, ctx)


def run_subpipe_step(step, ctx: RunContext, prev: dict, *, run_child: ChildRunner) -> StepOutcome:
    """Run the child workflow in ``<repo>/<Step>``, copy ``retrieve`` files back; no auto-inputs follow."""
    started = time.monotonic()
    job_data = ctx.read_job_data()
    sub_uri = ctx.uri(step.name)
    workflow, deployment = child_workflow(step, ctx)
    run = ChildRun(step.name, workflow, child_job(step, ctx, job_data), sub_uri,
                   repository_params(ctx.repo), ctx.executor, ctx.options.step_start_timeout,
                   ctx.options.ecr_registry)
    submit(step, ctx, sub_uri, job_data)
    run_logger().info("%s: running %s in %s", step.name, step.subpipe, sub_uri)
    try:
        run_child(run, deployment=deployment)
    except SubpipeFailed:
        raise
    except Exception as exc:
        raise SubpipeFailed(f"step {step.name}: subpipe {step.subpipe} failed: {exc}") from exc
    written = retrieve(step, ctx, sub_uri, job_data)
    return StepOutcome([StepRecord(step.name, "done", time.monotonic() - started, written)], {})


def subpipe_handler(run_child: ChildRunner) -> Callable[[Any, RunContext, dict], StepOutcome]:
    """A walk handler for subpipe steps that runs children with ``run_child``."""
    return functools.partial(run_subpipe_step, run_child=run_child)
