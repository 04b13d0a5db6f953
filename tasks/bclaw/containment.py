"""Job data never moves a path outside its root: path fields are checked after substitution.

``validate`` already refused path fields whose *written* text escapes (:mod:`specs.workflow.paths`).
Job data (``${job.x}``, ``${scatter.x}``) is checked here, once the values are known:

* :func:`check_job_paths` before a run writes anything: every path field of every step rendered
  with the job data (and, in scatter steps, with each scatter value that comes straight from the
  job data or a literal list);
* :func:`check_rendered` by the steps themselves, for values only known while running.

A refusal is one line naming the field, the value and what is wrong with it.
"""

from __future__ import annotations

from typing import Any, Iterator

from specs.paths import repository_target_problem
from specs.source import format_path
from specs.workflow.model import ScatterStep, iter_steps
from specs.workflow.paths import Kind, field_problem, path_fields
from tasks.bclaw.substitution import job_data_resolver, substitute

_REF = "${"


class PathRefused(ValueError):
    """A path field rendered with job data would leave its root; nothing was written for it."""


def rendered_problem(kind: Kind, template: str, value: str) -> str | None:
    """What is wrong with ``value``, the field ``template`` after substitution, or None.

    A file to read whose name comes from job data must be in the repository or an ``s3://`` URI:
    job data never picks a local file of the machine (``/etc/passwd``).
    """
    problem = field_problem(kind, value)
    if problem is None and kind == "read" and _REF in template and not value.startswith(_REF):
        problem = repository_target_problem(value)
    return problem


def check_rendered(field: str, kind: Kind, template: str, value: str) -> str:
    """``value`` when it is a safe rendering of ``template``; else :class:`PathRefused` naming ``field``."""
    problem = rendered_problem(kind, template, value)
    if problem:
        raise PathRefused(f"{field}: {problem}: {value!r} (from {template!r})")
    return value


def _scatter_rows(step: ScatterStep, job_data: dict) -> Iterator[dict[str, str]]:
    """One ``{key: value}`` per value a scatter key takes that is known before the run (a literal
    list or a ``${job.x}`` list), one key at a time: a bounded check, not the Cartesian product."""
    resolve = job_data_resolver(job_data)
    for key, value in step.scatter.items():
        if isinstance(value, str):
            value = _whole_reference(value, resolve)
        if isinstance(value, list):
            for item in value:
                yield {key: "" if item is None else str(item)}


def _whole_reference(text: str, resolve) -> Any:
    """The value of ``text`` when it is exactly one ``${…}`` reference, else None."""
    if text.startswith(_REF) and text.endswith("}") and text.count(_REF) == 1:
        return resolve(text[2:-1])
    return None


def _check_fields(steps: list, job_data: dict, where: str) -> None:
    resolve = job_data_resolver(job_data)
    for step in iter_steps(steps):
        for loc, kind, text in path_fields(step):
            # a scatter value that is a job-data list is scattered over: its items are values, not files
            if _REF in text and not isinstance(_whole_reference(text, resolve), list):
                check_rendered(f"{where}step {step.name}: {format_path(loc)}", kind, text,
                               substitute(text, resolve))


def check_job_paths(steps: list, job: Any) -> None:
    """Refuse (:class:`PathRefused`) job data that renders any path field of ``steps`` outside its root."""
    data = {"job": job, "parent": {}, "scatter": {}}
    _check_fields(steps, data, "")
    for step in iter_steps(steps):
        if isinstance(step, ScatterStep):
            for row in _scatter_rows(step, data):
                (key, value), = row.items()
                _check_fields(step.steps, {**data, "scatter": row}, f"scatter {step.name} {key}={value!r}: ")


def check_command_paths(step: Any, inputs: dict[str, str], references: dict[str, str], outputs: dict) -> None:
    """Refuse a command step's rendered inputs, references, output names and dests that leave their roots.

    ``outputs`` maps symbols to objects with ``name`` and ``dest``; auto-inputs (no ``inputs`` in
    the step) are the previous step's outputs and are judged as they are.
    """
    declared = step.inputs or {}
    for sym, value in inputs.items():
        check_rendered(f"step {step.name}: inputs.{sym}", "read", declared.get(sym, value), value)
    for sym, value in references.items():
        check_rendered(f"step {step.name}: references.{sym}", "read", step.references[sym], value)
    for sym, out in outputs.items():
        spec = step.outputs[sym]
        check_rendered(f"step {step.name}: outputs.{sym}.name", "workspace", spec.name, out.name)
        if out.dest is not None:
            check_rendered(f"step {step.name}: outputs.{sym}.dest", "dest", spec.dest, out.dest)
