"""Which fields of a workflow become paths or object keys, and whether their text stays inside its root.

Used twice: by the loader on the text as written (``validate`` refuses ``../../x`` step names,
absolute or ``s3://b/../..`` destinations, …) and by the engine on the same fields after job data
was substituted (:func:`path_fields` lists them, :func:`field_problem` judges one value).

Kinds of path field:

* ``folder``: a step name, which becomes a folder (``<repo>/<Step>/``) or a marker name;
* ``read``: an input, reference, scatter file or job-data file: a repository-relative name or a
  full URI, never with ``..``;
* ``workspace``: a file name inside the step's workspace (output names, QC result files);
* ``dest``: where outputs are uploaded: an ``s3://bucket/folder/`` URI;
* ``target``: where a subpipe's file is copied: repository-relative, or an ``s3://`` URI;
* ``repository``: the workflow's ``Repository``: an ``s3://bucket/...`` URI.
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

from specs.paths import (
    escape_problem,
    folder_name_problem,
    readable_problem,
    relative_problem,
    repository_target_problem,
    s3_target_problem,
)
from specs.workflow.steps import (
    ChooserStep,
    CommandStep,
    ParallelStep,
    ScatterStep,
    SubpipeStep,
)

Kind = Literal["folder", "read", "workspace", "dest", "target", "repository"]
Loc = tuple[str | int, ...]

_RULES = {
    "folder": folder_name_problem,
    "read": readable_problem,
    "workspace": relative_problem,
    "dest": s3_target_problem,
    "target": repository_target_problem,
    "repository": s3_target_problem,
}


def field_problem(kind: Kind, text: str) -> str | None:
    """The problem with ``text`` as a path field of ``kind``, or None.

    Text that starts with a ``${…}`` reference is judged after substitution; before it, only
    ``..`` segments are refused (the reference may well supply a scheme and bucket).
    """
    if text.startswith("${") and kind not in ("folder", "workspace"):
        return escape_problem(text)
    return _RULES[kind](text)


def _scatter_path(value: str) -> str:
    """The file part of a scatter value: ``@path:$selector`` → ``path`` (a JSONPath selector may
    well contain ``..``); other values as they are."""
    if value.startswith("@"):
        return value[1:].split(":$", 1)[0]
    return value


def path_fields(step: Any) -> Iterator[tuple[Loc, Kind, str]]:
    """``(location below the step, kind, text)`` of every path-bearing field of ``step`` (not nested steps)."""
    yield (), "folder", step.name
    for sym, value in (getattr(step, "inputs", None) or {}).items():
        if isinstance(step, (CommandStep, ScatterStep, ChooserStep, ParallelStep)):
            yield ("inputs", sym), "read", value
    if isinstance(step, CommandStep):
        for sym, value in step.references.items():
            yield ("references", sym), "read", value
        for sym, out in step.outputs.items():
            yield ("outputs", sym, "name"), "workspace", out.name
            if out.dest is not None:
                yield ("outputs", sym, "dest"), "dest", out.dest
        for i, qc in enumerate(step.qc_check):
            yield ("qc_check", i, "qc_result_file"), "workspace", qc.qc_result_file
    elif isinstance(step, ScatterStep):
        for key, value in step.scatter.items():
            if isinstance(value, str):
                yield ("scatter", key), "read", _scatter_path(value)
        for sym, value in step.outputs.items():
            yield ("outputs", sym), "workspace", value
    elif isinstance(step, SubpipeStep):
        if step.job_data:
            yield ("job_data",), "read", step.job_data
        for i, entry in enumerate(step.retrieve):
            yield ("retrieve", i, "src"), "workspace", entry.src
            yield ("retrieve", i, "dst"), "target", entry.dst
        for i, entry in enumerate(step.submit or []):
            yield ("submit", i, "src"), "workspace", entry.src
            yield ("submit", i, "dst"), "workspace", entry.dst


def step_path_problems(step: Any) -> Iterator[tuple[Loc, Kind, str]]:
    """``(location below the step, kind, message)`` for each path field of ``step`` that would escape."""
    for loc, kind, text in path_fields(step):
        problem = field_problem(kind, text)
        if problem:
            yield loc, kind, f"{problem}: {text!r}"
