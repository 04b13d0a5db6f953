"""The workflow YAML format as users write it, for editors (``labflows schema workflow``).

These models describe the raw document (shorthand strings, ``"4 Gb"``, ``"3s"``, one-or-a-list
fields) with a description on every key; they are used for the JSON Schema only. Validation
goes through :mod:`specs.workflow.model`, whose models hold the parsed values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from tasks.runtime.executors import ExecutorName

ShellName = Literal["sh", "bash", "sh-pipefail"]
Duration = Annotated[Union[int, str], Field(description='Seconds, or a time string like "3s", "20 m", "12h", "1w".')]
SymbolMapSpec = Union[dict[str, str], list[dict[str, str]]]
TagsSpec = dict[str, Union[str, int, float, bool]]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Flow(_Raw):
    next: str | None = Field(None, description="Name of the step to run after this one (same list of steps).")
    Next: str | None = Field(None, description="Same as next.")
    end: bool | None = Field(None, description="End this list of steps (successfully) after this step.")
    End: bool | None = Field(None, description="Same as end.")


class ImageSpec(_Raw):
    name: str = Field(description="Image name, e.g. docker.io/library/ubuntu:22.04.")
    auth: str | None = Field(None, description="Name of a secret holding {username, password} for the registry.")


class OutputSpecMap(_Raw):
    name: str = Field(description="Local file name or glob (** recurses) in the working directory.")
    dest: str | None = Field(None, description="Destination folder (must end in /); default: the repository.")
    s3_tags: TagsSpec = Field({}, description="Tags for the uploaded files.")


class QCCheckSpec(_Raw):
    qc_result_file: str = Field(description="JSON file (in the working directory) whose keys are the variables.")
    stop_early_if: Union[str, list[str]] = Field(
        description="Python expression(s); the workflow stops when any is true, e.g. 'n_contigs < 100'.")


class RetrySpec(_Raw):
    attempts: int = Field(3, description="Retries after the first run (0: none).")
    interval: Duration = Field("3s", description='Wait before the first retry: "3s", "1m", ...')
    backoff_rate: float = Field(1.5, ge=1.0, description="Multiplier of the wait for each further retry (>= 1.0).")


class ComputeSpec(_Raw):
    cpus: int = Field(1, ge=1, description="vCPUs to reserve.")
    memory: Union[int, float, str] = Field("1 Gb", description='Memory: a number of MiB or a size like "4 Gb" (min 4 MiB).')
    spot: bool = Field(True, description="Run on spot instances (ignored with queue_name).")
    gpu: Union[int, Literal["all"]] = Field(0, description='Number of GPUs, or "all".')
    queue_name: str | None = Field(None, description="Custom job queue (overrides spot).")
    shell: ShellName | None = Field(None, description="Shell for this step's commands (overrides Options.shell).")
    consumes: dict[str, int] = Field({}, description="Consumable resources: {resource: amount}.")


class FilesystemSpec(_Raw):
    efs_id: str = Field(description="EFS file system id, like fs-1234abcd (no ${} substitution).")
    host_path: str = Field(description="Absolute path where it is mounted in the container.")
    root_dir: str = Field("/", description="Directory of the file system to mount.")


class CommandStepSpec(_Flow):
    """A batch step: commands run in a container."""

    image: Union[str, ImageSpec] = Field("public.ecr.aws/ubuntu/ubuntu:latest",
                                         description='Image, or "name +auth: secret", or {name, auth}.')
    task_role: str | None = Field(None, description="Role for this step (overrides Options.task_role).")
    inputs: SymbolMapSpec | None = Field(None, description="{symbol: file}; a trailing ? makes an input optional. "
                                                           "Omitted: the previous step's outputs; {}: none.")
    references: SymbolMapSpec = Field({}, description="{symbol: full path} of large static files (no globs).")
    commands: Union[list[str], str] = Field(description="Shell commands: a list or one multiline string.")
    outputs: Union[dict[str, Union[str, OutputSpecMap]], list[dict[str, Union[str, OutputSpecMap]]]] = Field(
        {}, description='{symbol: "file"}, {symbol: "file -> s3://bucket/folder/ +tag: value"} or {symbol: {name, dest, s3_tags}}.')
    s3_tags: TagsSpec = Field({}, description="Tags for every output file of this step.")
    job_tags: TagsSpec = Field({}, description="Tags for the step's jobs.")
    skip_on_rerun: bool = Field(False, description="Skip the step when a previous run of it completed.")
    skip_if_output_exists: bool = Field(False, description="Deprecated: skip when all outputs exist.")
    compute: ComputeSpec = Field(default_factory=ComputeSpec, description="Resources.")
    filesystems: Union[list[FilesystemSpec], FilesystemSpec] = Field([], description="EFS mounts.")
    qc_check: Union[list[QCCheckSpec], QCCheckSpec] = Field([], description="QC checks run after the commands.")
    retry: RetrySpec = Field(default_factory=RetrySpec, description="Retries of failed runs.")
    timeout: Duration | None = Field(None, description="Time limit per attempt (at least 60 s).")


class ScatterStepSpec(_Flow):
    """Scatter-gather: run steps once per item (Cartesian product of the scatter values)."""

    scatter: dict[str, Union[str, list]] = Field(
        description='{name: values}: a list, "${job.list}", "@file.json:$[*]" (JSONPath), a glob or a file.')
    inputs: SymbolMapSpec | None = Field(None, description="Files made available to branches as ${parent.symbol}.")
    steps: list[StepItem] = Field(description="Steps run in every branch.")
    outputs: SymbolMapSpec = Field({}, description="{symbol: file name} gathered into <step>_manifest.json.")
    max_concurrency: int = Field(0, ge=0, description="Branches running at once (0: unlimited).")
    error_tolerance: Union[int, str] = Field(0, description='Failed branches tolerated: a number or "N%".')
    batch_size: int | None = Field(None, ge=1, description="labflows: branches run per task.")


class SubpipeStepSpec(_Flow):
    """Run another workflow in a sub-folder of this repository."""

    subpipe: str = Field(description="Workflow name (or file) to run.")
    job_data: str | None = Field(None, description="Job data file for the subpipe; default: this job's data.")
    retrieve: Union[list[str], str] = Field([], description='Files copied back: "name" or "src -> dst" (no globs).')
    submit: Union[list[str], str, None] = Field(
        None, description='Deprecated: files copied into the subpipe\'s repository first: "name" or "src -> dst".')


class NativeStepSpec(_Raw):
    """A Step Functions state (Pass, Task, Wait, Succeed, Fail or Parallel); other keys as in ASL."""

    model_config = ConfigDict(extra="allow")
    Type: Literal["Pass", "Task", "Wait", "Succeed", "Fail", "Parallel"] = Field(description="State type.")
    Next: str | None = Field(None, description="Name of the next step.")
    End: bool | None = Field(None, description="End this list of steps after this one.")
    Branches: list[NativeBranchSpec] | None = Field(None, description="Parallel only: branches, each {steps: [...]}.")


class NativeBranchSpec(_Raw):
    steps: list[StepItem] = Field(description="Steps of the branch.")


class ChoiceSpec(_Raw):
    condition: str = Field(alias="if", description="Python expression over the inputs' JSON and job.*.")
    next: str = Field(description="Step to go to when the condition holds.")


class ChooserStepSpec(_Raw):
    """Simple chooser: go to the first choice whose condition holds, else the following step."""

    inputs: SymbolMapSpec = Field({}, description="JSON files whose values conditions use.")
    choices: Union[list[ChoiceSpec], ChoiceSpec] = Field(description="[{if, next}], tried in order.")
    next: str | None = Field(None, description="Step to go to when no condition holds.")
    Next: str | None = Field(None, description="Same as next.")


class BranchSpec(_Raw):
    condition: str | None = Field(None, alias="if", description="Run the branch only when this holds.")
    steps: list[StepItem] = Field(description="Steps of the branch.")


class ParallelStepSpec(_Flow):
    """Parallel chooser: run every branch whose condition holds (or that has none)."""

    inputs: SymbolMapSpec = Field({}, description="JSON files whose values conditions use.")
    branches: Union[list[BranchSpec], BranchSpec] = Field(description="[{if?, steps}].")


StepSpec = Union[CommandStepSpec, ScatterStepSpec, SubpipeStepSpec, NativeStepSpec, ChooserStepSpec,
                 ParallelStepSpec]
StepItem = Annotated[dict[str, StepSpec], Field(min_length=1, max_length=1,
                                                 description="One step: {StepName: spec}.")]


class ParameterSpec(_Raw):
    model_config = ConfigDict(extra="allow")
    Type: str = Field(description="CloudFormation type, usually String or Number.")
    Default: Any = Field(None, description="Value used when none is given (--param NAME=VALUE).")


class OptionsSpec(_Raw):
    shell: ShellName = Field("sh", description="Shell for commands: sh (-veu), bash or sh-pipefail.")
    task_role: str | None = Field(None, description="Role for every step.")
    s3_tags: TagsSpec = Field({}, description="Tags for every output file.")
    job_tags: TagsSpec = Field({}, description="Tags for every job.")
    versioned: bool | str | None = Field(None, description="Deprecated, ignored.")
    executor: ExecutorName | None = Field(
        None, description="labflows: where commands run (the host, or a container engine).")
    scatter_batch_size: int | None = Field(None, ge=1, description="labflows: scatter branches per task.")
    substitution: Literal["word", "raw"] = Field(
        "word", description="labflows: how ${job.x}, ${scatter.x}, ${parent.x} and parameter values go into "
                            "commands: word (each value is exactly one shell word) or raw (pasted as text, as "
                            "BayerCLAW does, so a value can be several arguments or a glob).")
    step_runner: Literal["in-process", "work-pool"] = Field(
        "in-process", description="labflows: run command steps in the flow's process, or as run-step flow runs "
                                  "on the work pool their compute.queue_name names (docs/scale.md).")
    step_pools: dict[str, str | list[str]] = Field(
        {}, description="labflows: work pool(s) for each compute.queue_name (default: the pool of that name); "
                        "several pools share the queue's runs in turn.")
    default_step_pool: str | None = Field(
        None, description="labflows: work pool(s) for command steps without a queue_name (none: in-process).")
    step_start_timeout: float = Field(
        300.0, gt=0, description="labflows: seconds a step's flow run may wait for a worker before it fails.")
    ecr_registry: str | None = Field(
        None, description="labflows: registry host (e.g. 123456789012.dkr.ecr.eu-central-1.amazonaws.com) that "
                          "bare image names are rewritten to, as BayerCLAW does with the account's ECR.")
    parent_wait: Literal["suspend", "poll"] = Field(
        "suspend", description="labflows: a parent flow run of a deployment that waits for its steps' flow runs "
                               "(work pools) or subpipe deployments suspends, freeing its worker slot, until they "
                               "end (suspend), or waits in its process (poll); docs/scale.md.")


def _any_case_top_level(schema: dict[str, Any]) -> None:
    """Top-level keys may be written in lower case too (``steps:``), as BayerCLAW allows."""
    props = schema["properties"]
    for key in list(props):
        props[key.lower()] = props[key]
    required = schema.pop("required", [])
    schema["allOf"] = [{"anyOf": [{"required": [k]}, {"required": [k.lower()]}]} for k in required]


class WorkflowDocument(_Raw):
    """A BayerCLAW workflow file (top-level keys may also be written in lower case)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_any_case_top_level)

    Transform: str | None = Field(None, description="BC2_Compiler (kept for BayerCLAW compatibility).")
    Repository: str = Field(description="Where job files go, e.g. s3://bucket/path/${job.SAMPLE_ID}.")
    Parameters: dict[str, ParameterSpec] = Field({}, description="Values substituted as ${Name} at load time.")
    Options: OptionsSpec = Field(default_factory=OptionsSpec, description="Workflow-wide settings.")
    Steps: list[StepItem] = Field(min_length=1, description="Steps, run in order unless next/end say otherwise.")


for _model in (ScatterStepSpec, NativeStepSpec, NativeBranchSpec, BranchSpec, WorkflowDocument):
    _model.model_rebuild()
