"""``labflows workflow … --dry-run``: the plan of a run, from the spec and the job alone.

Everything that can be known without running a command is shown: the repository, each step's
inputs and outputs with ``${job.…}`` filled in, the image a command step's container would run
(when commands run in containers or a registry rewrites names), scatter values given in the
workflow, and which
``skip_on_rerun`` steps a re-run would skip (their completion marker is there). Nothing is
written; the repository is only read (a saved block is loaded to do so).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from blocks.local import DEFAULT_STORAGE


def print_plan(wf, job: Any, args: argparse.Namespace) -> None:
    """Print the plan of running ``wf`` with ``job`` (the options in ``args``) and nothing else."""
    for line in plan_lines(wf, job, args):
        print(line)


def plan_lines(wf, job: Any, args: argparse.Namespace) -> list[str]:
    """The lines of :func:`print_plan`: a header, one block per step, the closing note."""
    from blocks.resolve import load_repository
    from tasks.bclaw.initialize import render_repository

    repo_uri = render_repository(wf.repository, job)
    repo = load_repository(args.repository_block, None if args.repository_block else
                           (args.storage or DEFAULT_STORAGE))
    where = repo_uri
    if not args.repository_block:
        where = os.path.relpath(repo.path_of(repo_uri))
    lines = [f"dry run: workflow {wf.name} — repository {where}"]
    data = {"job": job, "parent": {}, "scatter": {}}
    containers = (args.executor or wf.options.executor or "local") != "local"
    registry = wf.options.ecr_registry if containers or wf.options.ecr_registry else False
    for number, step in enumerate(wf.steps, start=1):
        lines += _step_lines(step, data, repo, repo_uri, f"{number}. ", "   ", first=number == 1,
                             registry=registry)
    lines.append(f"{len(wf.steps)} steps; nothing was run or written")
    return lines


def _step_lines(step, data: dict, repo, repo_uri: str, head: str, indent: str, *, first: bool,
                registry: str | None | bool) -> list[str]:
    """One step's lines; ``registry`` is the image registry (None: names as written), or False
    when images are not shown (commands on the host, no registry)."""
    from tasks.bclaw.context import CONTROL_DIR
    from tasks.bclaw.images import step_image
    from tasks.bclaw.substitution import job_data_resolver, substitute_all

    resolve = job_data_resolver(data)
    lines = [f"{head}{step.name} ({step.kind})"]
    if getattr(step, "skip_on_rerun", False):
        marker = f"{repo_uri}/{CONTROL_DIR}/{step.name}.complete"
        done = _exists(repo, marker)
        lines[0] += " — would be skipped (done before)" if done else " — runs (not done before)"
    inputs = getattr(step, "inputs", "absent")
    if inputs is None:
        lines.append(f"{indent}inputs: " + ("none" if first else "the previous step's outputs"))
    elif isinstance(inputs, dict) and inputs:
        lines.append(f"{indent}inputs: {_pairs(substitute_all(dict(inputs), resolve))}")
    references = getattr(step, "references", None)
    if references:
        lines.append(f"{indent}references: {_pairs(substitute_all(dict(references), resolve))}")
    if step.kind == "command" and registry is not False:
        lines.append(f"{indent}image: {step_image(step.image.name, registry, resolve)}")
    for command in getattr(step, "commands", None) or []:  # shown, never run
        lines.append(f"{indent}$ {substitute_all(command, resolve)}")
    scatter = getattr(step, "scatter", None)
    if scatter:
        values = substitute_all(dict(scatter), resolve)
        lines.append(f"{indent}scatter: {_pairs({k: _scatter_size(v) for k, v in values.items()})}")
    outputs = getattr(step, "outputs", None)
    if outputs:
        names = {k: (o.name if hasattr(o, "name") else o) for k, o in outputs.items()}
        lines.append(f"{indent}outputs: {_pairs(substitute_all(names, resolve))}")
    if getattr(step, "subpipe", None):
        lines.append(f"{indent}subpipe: {step.subpipe}")
    for number, inner in enumerate(getattr(step, "steps", None) or [], start=1):
        lines += _step_lines(inner, data, repo, repo_uri, f"{indent}{number}. ", indent + "   ",
                             first=number == 1, registry=registry)
    return lines


def _exists(repo, uri: str) -> bool:
    try:
        return repo.exists(uri)
    except Exception:  # a repository that cannot be read says nothing about a re-run
        return False


def _scatter_size(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} values"
    return f"from {value}" if str(value).startswith("@") else str(value)


def _pairs(mapping: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items())
