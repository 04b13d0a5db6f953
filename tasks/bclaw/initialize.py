"""Starting a workflow run: the job file, the rendered repository and ``_JOB_DATA_``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from blocks.repository import Repository, basename
from specs.source import format_path, load_yaml_file
from specs.workflow.references import jmespath_problem, job_references
from tasks.bclaw.containment import PathRefused, check_rendered
from tasks.bclaw.substitution import job_data_resolver, to_text

_JOB_REF = re.compile(r"\$\{!?job\.(.+?)\}")


class JobDataError(ValueError):
    """The job data cannot render the repository, or the job file is not usable."""


def load_job_file(path: str | Path) -> Any:
    """A JSON or YAML job file's content (errors carry file, line and column)."""
    return load_yaml_file(path).data


def render_repository(template: str, job: Any) -> str:
    """``s3://bucket/path/${job.ID}`` with job values in; a missing key is an error, and so is a
    rendering outside an ``s3://`` bucket (``${job.x}`` = ``../../tmp/x``): one line naming the value.

    ``x`` in ``${job.x}`` is JMESPath (``${job.path4[0]}``), evaluated exactly as in commands.
    """
    resolve = job_data_resolver({"job": job})

    def repl(m: re.Match) -> str:
        value = resolve(f"job.{m.group(1)}")
        if value is None:
            raise JobDataError(f"Repository {template}: job data has no key {m.group(1)!r}")
        return to_text(value)

    uri = _JOB_REF.sub(repl, template).rstrip("/")
    try:
        return check_rendered("Repository", "repository", template, uri)
    except PathRefused as exc:
        raise JobDataError(str(exc)) from None


def check_job_references(steps: list, job: Any) -> None:
    """Refuse job data that lacks a key some ``${job.…}`` of ``steps`` names, before any step runs.

    Raises:
        JobDataError: one line naming the step, the field and the missing key.
    """
    resolve = job_data_resolver({"job": job})
    for step in steps:
        fields = step.model_dump(exclude={"name", "kind"})
        for loc, path in job_references(fields, (step.name,)):
            if jmespath_problem(path):
                continue  # validate reports expressions JMESPath cannot parse
            if resolve(f"job.{path}") is None:
                where = format_path(loc)
                raise JobDataError(f"step {where}: job data has no {path!r} (${{job.{path}}})")


def initialize_repository(repo: Repository, repo_uri: str, job: Any, job_file: str | None) -> None:
    """Copy the job file into the repository and write ``_JOB_DATA_`` (fresh parent and scatter)."""
    if job_file:
        repo.write_bytes(f"{repo_uri}/{basename(job_file)}", Path(job_file).read_bytes())
    data = {"job": job, "parent": {}, "scatter": {}}
    repo.write_text(f"{repo_uri}/_JOB_DATA_", json.dumps(data, indent=2))
