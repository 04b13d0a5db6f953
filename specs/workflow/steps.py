"""The step kinds of a BayerCLAW workflow, as validated models.

Kinds: ``command`` (a batch step: ``commands`` run in a container), ``scatter`` (scatter-gather),
``subpipe`` (another workflow), ``native`` (a Step Functions state: Pass, Task, Wait, Succeed,
Fail, Parallel), ``chooser`` (simple chooser: go to the first ``choices`` entry whose condition
holds) and ``parallel`` (parallel chooser: run every branch whose condition holds).
The YAML has no ``kind`` key: :mod:`specs.workflow.parse` tells the kind from the keys present.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field

from specs.workflow.step_parts import (
    Compute,
    ExpressionText,
    Filesystem,
    Image,
    ImageField,
    ListOf,
    OutputField,
    QCCheck,
    RetrieveField,
    Retry,
    Strict,
    Tags,
    has_glob,
)
from specs.workflow.units import parse_timeout_s

NATIVE_TYPES = ("Pass", "Task", "Wait", "Succeed", "Fail", "Parallel")
_PERCENT = re.compile(r"^0*(\d{1,2}|100)%$")
_FULL_PATH = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://|/|\$\{)")


def symbol_map(value: Any) -> Any:
    """``inputs``/``outputs``/``references`` as a map; a list of single-key maps is merged."""
    if not isinstance(value, list):
        return value
    merged: dict[Any, Any] = {}
    for item in value:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError("a list here must hold single-key maps like '- name: file'")
        key, val = next(iter(item.items()))
        if key in merged:
            raise ValueError(f"duplicated keys: {key}")
        merged[key] = val
    return merged


def _commands(value: Any) -> Any:
    """One multiline string becomes its lines (trailing blank lines dropped)."""
    if isinstance(value, str):
        return value.rstrip("\n").splitlines() if value.strip() else []
    return value


def _command_line(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError("YAML read this command as a map: quote commands that contain ': '")
    return value


def _timeout(value: Any) -> Any:
    return None if value is None else parse_timeout_s(value)


def _reference(v: str) -> str:
    if not _FULL_PATH.match(v):
        raise ValueError(f"references must be full paths (s3://bucket/key or /absolute/path), not {v!r}")
    if has_glob(v):
        raise ValueError(f"globs are not allowed in references: {v!r}")
    return v


SymbolMap = BeforeValidator(symbol_map)


def step_name(value: Any) -> Any:
    """Step names may be written as numbers in YAML (``- 1: {...}``, ``next: 5``)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


StepName = Annotated[str, BeforeValidator(step_name)]


class StepBase(Strict):
    """What every step has: its name and where execution goes next."""

    name: StepName
    next: StepName | None = None
    end: bool = False


class CommandStep(StepBase):
    """A batch step: ``commands`` run in ``image`` with inputs downloaded and outputs uploaded."""

    kind: Literal["command"] = "command"
    image: ImageField = Field(default_factory=Image)
    task_role: str | None = None
    inputs: Annotated[dict[str, str] | None, SymbolMap] = None
    references: Annotated[dict[str, Annotated[str, AfterValidator(_reference)]], SymbolMap] = {}
    commands: Annotated[list[Annotated[str, BeforeValidator(_command_line)]], BeforeValidator(_commands),
                        Field(min_length=1)]
    outputs: Annotated[dict[str, OutputField], SymbolMap] = {}
    s3_tags: Tags = {}
    job_tags: Tags = {}
    skip_on_rerun: bool = False
    skip_if_output_exists: bool = False
    compute: Compute = Field(default_factory=Compute)
    filesystems: Annotated[list[Filesystem], ListOf] = []
    qc_check: Annotated[list[QCCheck], ListOf] = []
    retry: Retry = Field(default_factory=Retry)
    timeout: Annotated[int | None, BeforeValidator(_timeout)] = None

    def symbols(self) -> dict[str, list[str]]:
        """Symbol → the fields declaring it (``?`` of optional inputs stripped)."""
        found: dict[str, list[str]] = {}
        for field in ("inputs", "outputs", "references"):
            for sym in getattr(self, field) or {}:
                found.setdefault(sym.rstrip("?"), []).append(field)
        return found


def _scatter_value(value: Any) -> Any:
    if not isinstance(value, (str, list)):
        raise ValueError(f"expected a list or a string (${{job.x}}, @file.json:$[*], a glob or a file name), "
                         f"not {value!r}")
    return value


def _error_tolerance(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("error_tolerance must be a whole number >= 0 or a percentage like \"10%\"")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and _PERCENT.match(value.strip()):
        return value.strip()
    raise ValueError(f"error_tolerance must be a whole number >= 0 or a percentage like \"10%\", not {value!r}")


class ScatterStep(StepBase):
    """Scatter-gather: run ``steps`` once per combination of the ``scatter`` values."""

    kind: Literal["scatter"] = "scatter"
    scatter: Annotated[dict[str, Annotated[str | list, BeforeValidator(_scatter_value)]], Field(min_length=1)]
    inputs: Annotated[dict[str, str] | None, SymbolMap] = None
    steps: Annotated[list[Step], Field(min_length=1)]
    outputs: Annotated[dict[str, str], SymbolMap] = {}
    max_concurrency: int = Field(0, ge=0)
    error_tolerance: Annotated[int | str, BeforeValidator(_error_tolerance)] = 0
    batch_size: int | None = Field(None, ge=1)

    def tolerated_failures(self, total: int) -> int:
        """How many of ``total`` branches may fail before the step fails."""
        if isinstance(self.error_tolerance, int):
            return self.error_tolerance
        return total * int(self.error_tolerance.rstrip("%").lstrip("0") or 0) // 100


class SubpipeStep(StepBase):
    """Run another workflow in a sub-repository and copy files back."""

    kind: Literal["subpipe"] = "subpipe"
    subpipe: str
    job_data: str | None = None
    retrieve: Annotated[list[RetrieveField], ListOf] = []
    submit: Annotated[list[RetrieveField] | None, ListOf] = None  # deprecated upstream, still performed


def _native_type(value: Any) -> Any:
    if value in ("Choice", "Map"):
        raise ValueError(f"native {value} steps are not supported: use a chooser step instead of "
                         f"Choice and a scatter step instead of Map")
    if value not in NATIVE_TYPES:
        raise ValueError(f"Type must be one of {', '.join(NATIVE_TYPES)}, not {value!r}")
    return value


class NativeStep(StepBase):
    """A Step Functions state; ``spec`` holds its raw keys other than Type/Next/End."""

    kind: Literal["native"] = "native"
    type: Annotated[Literal["Pass", "Task", "Wait", "Succeed", "Fail", "Parallel"],
                    BeforeValidator(_native_type)]
    spec: dict[str, Any] = {}
    branches: list[Branch] = []  # a Parallel's Branches, parsed (``spec`` keeps them raw)


class Choice(Strict):
    """One entry of a simple chooser: go to ``next`` when ``if`` holds."""

    condition: ExpressionText = Field(alias="if")
    next: StepName


class ChooserStep(StepBase):
    """Simple chooser: the first choice whose condition holds picks the next step."""

    kind: Literal["chooser"] = "chooser"
    inputs: Annotated[dict[str, str], SymbolMap] = {}
    choices: Annotated[list[Choice], ListOf, Field(min_length=1)]


class Branch(Strict):
    """A branch of a parallel chooser (or native Parallel): steps, run when ``if`` holds."""

    condition: ExpressionText | None = Field(None, alias="if")
    steps: Annotated[list[Step], Field(min_length=1)]


class ParallelStep(StepBase):
    """Parallel chooser: every branch whose condition holds (or has none) runs."""

    kind: Literal["parallel"] = "parallel"
    inputs: Annotated[dict[str, str], SymbolMap] = {}
    branches: Annotated[list[Branch], ListOf, Field(min_length=1)]


Step = Annotated[
    Union[CommandStep, ScatterStep, SubpipeStep, NativeStep, ChooserStep, ParallelStep],
    Field(discriminator="kind"),
]

for _model in (ScatterStep, NativeStep, Branch, ParallelStep):
    _model.model_rebuild()
