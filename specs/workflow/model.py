"""BayerCLAW workflow files: the validated model and the loader.

A workflow is a YAML file with ``Repository``, optional ``Parameters``, ``Options`` and
``Transform``, and ``Steps`` (top-level keys in any capitalisation). :func:`load_workflow`
reads one, substitutes parameters, validates every part and raises :class:`SpecError` with
every problem found, one ``FILE:LINE:COL: path: message`` line each.

The step models live in :mod:`specs.workflow.steps` and their parts in :mod:`specs.workflow.step_parts`;
everything is re-exported here, so engine code imports from ``specs.workflow.model`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from specs.source import Problem, SourceDoc, SpecError, load_yaml_file
from specs.suggest import did_you_mean
from specs.workflow.params import Parameters
from specs.workflow.parse import KIND_KEYS, StepParser, step_order
from specs.workflow.paths import field_problem
from specs.workflow.references import reference_problems
from specs.workflow.schema import WorkflowDocument
from specs.workflow.step_parts import (
    DEFAULT_IMAGE,
    Compute,
    Filesystem,
    Image,
    OutputSpec,
    QCCheck,
    Retrieve,
    Retry,
    Shell,
    Strict,
    Tags,
    parse_output_shorthand,
)
from specs.workflow.steps import (
    Branch,
    Choice,
    ChooserStep,
    CommandStep,
    NativeStep,
    ParallelStep,
    ScatterStep,
    Step,
    StepBase,
    SubpipeStep,
)
from specs.workflow.subpipes import subpipe_cycle_problems
from tasks.runtime.executors import ExecutorName

__all__ = [
    "DEFAULT_IMAGE", "Branch", "Choice", "ChooserStep", "CommandStep", "Compute", "Filesystem",
    "Image", "KIND_KEYS", "NativeStep", "Options", "OutputSpec", "ParallelStep", "QCCheck",
    "Retrieve", "Retry", "SCHEMA_MODEL", "ScatterStep", "Step", "StepBase", "SubpipeStep",
    "Workflow", "iter_steps", "load_workflow", "parse_output_shorthand", "step_order",
    "workflow_from_doc",
]

# The raw YAML document, described for editors (``labflows schema workflow``).
SCHEMA_MODEL = WorkflowDocument

TOP_LEVEL_KEYS = ("transform", "repository", "parameters", "options", "steps")


class Options(Strict):
    """Workflow-wide settings (``Options:``)."""

    shell: Shell = "sh"
    task_role: str | None = None
    s3_tags: Tags = {}
    job_tags: Tags = {}
    versioned: bool | None = None  # deprecated and ignored, as in BayerCLAW
    executor: ExecutorName | None = None  # labflows: how command steps run (tasks.runtime.executors)
    scatter_batch_size: int | None = Field(None, ge=1)  # labflows: scatter branches per task
    substitution: Literal["word", "raw"] = "word"  # labflows: values in commands: one word each, or pasted
    # labflows: command steps (and scatter batches) as run-step flow runs on work pools (tasks.bclaw.step_runner)
    step_runner: Literal["in-process", "work-pool"] = "in-process"
    step_pools: dict[str, str | list[str]] = {}  # compute.queue_name -> work pool(s)
    default_step_pool: str | None = None  # pool(s) of steps without a queue_name; none: in-process
    step_start_timeout: float = Field(300.0, gt=0)  # seconds a child may wait for a worker
    ecr_registry: str | None = None  # labflows: bare image names are rewritten to this registry
    # labflows: a deployed parent waiting for step runs or subpipe deployments suspends (frees its
    # worker slot) or polls in its process (tasks.runtime.suspension)
    parent_wait: Literal["suspend", "poll"] = "suspend"


# files named like this say nothing; the folder they are in names the workflow
_GENERIC_STEMS = {"workflow", "wf", "main", "pipeline"}


def workflow_name(path: str | Path) -> str:
    """A workflow's name: its file name without extension, or for a generic file name
    (``workflow.yaml``) the folder's name: ``examples/qc/workflow.yaml`` is ``qc``."""
    p = Path(str(path))
    if p.stem.lower() in _GENERIC_STEMS and p.parent.name not in ("", "."):
        return p.parent.name
    return p.stem


class Workflow(Strict):
    """A validated workflow file (``name``: see :func:`workflow_name`)."""

    name: str
    source: Path
    repository: str
    parameters: dict[str, dict[str, Any]] = {}
    parameter_values: dict[str, str] = {}  # the values substituted (command line, else Default)
    options: Options = Field(default_factory=Options)
    steps: list[Step]
    transform: str | None = None

    @field_validator("repository")
    @classmethod
    def _repository(cls, v: str) -> str:
        v = v.strip()
        if not v.rstrip("/"):
            raise ValueError("Repository must be a URI such as s3://bucket/path/${job.ID}")
        return v.rstrip("/")


def iter_steps(steps: list[Step]):
    """Every step of ``steps`` and of their nested step lists, depth first."""
    for step in steps:
        yield step
        if isinstance(step, ScatterStep):
            yield from iter_steps(step.steps)
        elif isinstance(step, (ParallelStep, NativeStep)):
            for branch in step.branches:
                yield from iter_steps(branch.steps)


def _top_level_keys(doc: SourceDoc, problems: list[Problem]) -> dict[str, Any]:
    """Canonical top-level key → the key as spelled in the file; unknown and repeated keys are problems."""
    keys: dict[str, Any] = {}
    for key in doc.data:
        canonical = str(key).lower()
        if canonical not in TOP_LEVEL_KEYS:
            expected = [k.capitalize() for k in TOP_LEVEL_KEYS]
            hint = did_you_mean(str(key), expected) or f" (expected one of {', '.join(expected)})"
            problems.append(doc.problem((key,), f"unknown key{hint}", key=True))
        elif canonical in keys:
            problems.append(doc.problem((key,), f"given twice ({keys[canonical]!r} and {key!r})", key=True))
        else:
            keys[canonical] = key
    return keys


def _options(doc: SourceDoc, data: dict, key: Any, problems: list[Problem]) -> Options:
    raw = data.get(key) if key is not None else None
    if raw is None:
        return Options()
    if not isinstance(raw, dict):
        problems.append(doc.problem((key,), "Options must be a map (shell, task_role, s3_tags, ...)"))
        return Options()
    try:
        return Options.model_validate(raw)
    except ValidationError as err:
        problems.extend(doc.problems_from(err, (key,), Options))
        return Options()


def _text(doc: SourceDoc, data: dict, key: Any, name: str, problems: list[Problem], *,
          required: bool) -> str | None:
    if key is None:
        if required:
            problems.append(doc.problem((name,), "required key is missing"))
        return None
    value = data[key]
    if not isinstance(value, str) or (required and not value.strip("/ ")):
        problems.append(doc.problem((key,), f"{name} must be a non-empty string"))
        return None
    return value


def workflow_from_doc(doc: SourceDoc, params: dict[str, str] | None = None) -> Workflow:
    """Validate a parsed workflow document; ``params`` override parameter Defaults.

    Raises :class:`SpecError` with every problem found.
    """
    if not isinstance(doc.data, dict):
        raise doc.error((), "a workflow must be a map with Repository and Steps")
    problems: list[Problem] = []
    keys = _top_level_keys(doc, problems)
    params_key = keys.get("parameters")
    parameters = Parameters.read(doc, (params_key,) if params_key is not None else None, params)
    data = parameters.substitute(doc, doc.data, skip=params_key)
    repository = _text(doc, data, keys.get("repository"), "Repository", problems, required=True)
    if repository is not None and (problem := field_problem("repository", repository.strip())):
        problems.append(doc.problem((keys["repository"],), f"{problem}: {repository.strip()!r}"))
    transform = _text(doc, data, keys.get("transform"), "Transform", problems, required=False)
    options = _options(doc, data, keys.get("options"), problems)
    parser = StepParser(doc)
    steps: list[Step] = []
    if keys.get("steps") is None:
        problems.append(doc.problem(("Steps",), "required key is missing"))
    else:
        steps, _ = parser.steps(data[keys["steps"]], (keys["steps"],))
    problems += reference_problems(doc, data) + subpipe_cycle_problems(doc, data)
    problems = _in_order(problems + parameters.problems + parser.problems)
    if problems:
        raise SpecError(problems)
    source = Path(doc.file).absolute()
    return Workflow(name=workflow_name(source), source=source, repository=repository or "",
                    parameters=parameters.declared, parameter_values=parameters.values,
                    options=options, steps=steps, transform=transform)


def _in_order(problems: list[Problem]) -> list[Problem]:
    """Problems without repeats, in file order."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line, p.col))


def load_workflow(path: str | Path, params: dict[str, str] | None = None) -> Workflow:
    """Load and validate a workflow file (see :func:`workflow_from_doc`)."""
    return workflow_from_doc(load_yaml_file(path), params)
