"""What a command step shows in the Prefect UI: a markdown report and links to its outputs.

:class:`StepReport` is filled in while a step runs; :func:`publish_step_report` turns it into
a markdown artifact (key ``<workflow>-<step>``: command, image, exit code, duration, inputs,
outputs with their URIs) and, for outputs on S3, one link artifact per output (key
``<workflow>-<step>-<output>``) pointing at the object in the S3 console. Publishing never
fails a step: outside a Prefect run it does nothing, and API errors only log a warning.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import quote

from prefect.artifacts import create_link_artifact, create_markdown_artifact

from tasks.bclaw.labels import artifact_key
from tasks.bclaw.staging import input_uri
from tasks.runtime.executors import EXECUTORS
from tasks.runtime.logs import in_a_run, run_logger

MAX_COMMAND_CHARS = 8000  # the UI shows the start of a longer script, with a note
MAX_FILES_LISTED = 50  # per output symbol (globs can match thousands of files)


@dataclass
class StepReport:
    """What the UI shows about one run of a command step."""

    workflow: str
    step: str
    image: str = ""
    executor: str = ""
    command: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    exit_code: int | None = None
    error: str = ""
    cancelled: bool = False  # stopped from outside (run cancelled, worker stopped), not failed
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def status(self) -> str:
        """``done``, ``failed`` or ``cancelled``."""
        if self.cancelled:
            return "cancelled"
        return "failed" if self.error or (self.exit_code not in (None, 0)) else "done"

    @property
    def image_shown(self) -> str:
        """The image, or that none was used: the ``local`` executor runs commands in the host shell."""
        executor = EXECUTORS.get(self.executor)
        if executor is not None and not executor.uses_image:
            return f"none: executor {self.executor} runs the commands in the host shell"
        return self.image or "-"

    @property
    def duration_s(self) -> float:
        """Seconds from start to finish (or to now, when unfinished)."""
        return (self.finished or time.monotonic()) - self.started

    def set_inputs(self, inputs: dict[str, str], references: dict[str, str], repo_uri: str) -> None:
        """Record a step's inputs and references as the URIs they are read from."""
        self.inputs = {sym: input_uri(value, repo_uri) for sym, value in inputs.items()}
        self.inputs.update({f"{sym} (reference)": uri for sym, uri in references.items()})

    def set_outputs(self, uploaded: Iterable[Any]) -> None:
        """Record uploaded outputs (objects with ``symbol`` and ``uris``)."""
        self.outputs = {o.symbol: list(o.uris) for o in uploaded}

    @property
    def key(self) -> str:
        """The markdown artifact's key: ``<workflow>-<step>``."""
        return artifact_key(self.workflow, self.step)


def start_report(ctx: Any, step: str, image: str, inputs: dict[str, str], references: dict[str, str],
                 started: float) -> StepReport:
    """The report of a step starting in run context ``ctx`` (a :class:`~tasks.bclaw.context.RunContext`);
    the workflow is named as in run names (``examples/qc/workflow.yaml`` is ``qc``)."""
    report = StepReport(ctx.workflow_name, step, image=image, executor=ctx.executor, started=started)
    report.set_inputs(inputs, references, ctx.repo_uri)
    return report


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` stops a step from outside (Ctrl-C, SIGTERM from a cancelling worker, a
    cancelled run) rather than the step failing."""
    from prefect.exceptions import CancelledRun, TerminationSignal

    return isinstance(exc, (KeyboardInterrupt, TerminationSignal, CancelledRun, asyncio.CancelledError))


def _cell(text: Any) -> str:
    """A value safe inside a markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    """A fenced code block that survives backticks inside ``text``."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}sh\n{text}\n{ticks}"


def render_markdown(report: StepReport) -> str:
    """The step report as markdown."""
    exit_code = "-" if report.exit_code is None else str(report.exit_code)
    lines = [
        f"### Step `{report.step}`: {report.status}",
        "",
        "| | |",
        "|---|---|",
        f"| workflow | {_cell(report.workflow)} |",
        f"| image | {_cell(report.image_shown)} |",
        f"| exit code | {exit_code} |",
        f"| duration | {report.duration_s:.2f} s |",
    ]
    if report.error:
        lines.append(f"| error | {_cell(report.error)} |")
    command = report.command
    if len(command) > MAX_COMMAND_CHARS:
        command = command[:MAX_COMMAND_CHARS] + f"\n# … {len(report.command) - MAX_COMMAND_CHARS} more characters"
    lines += ["", "**Command**", "", _fence(command or "(not reached)"), ""]
    lines += ["**Inputs**", ""]
    if report.inputs:
        lines += ["| name | URI |", "|---|---|"]
        lines += [f"| {_cell(sym)} | {_cell(uri)} |" for sym, uri in report.inputs.items()]
    else:
        lines.append("none")
    lines += ["", "**Outputs**", ""]
    if report.outputs:
        lines += ["| name | URI |", "|---|---|"]
        for sym, uris in report.outputs.items():
            shown = uris[:MAX_FILES_LISTED] or ["(no file matched)"]
            lines += [f"| {_cell(sym)} | {_cell(uri)} |" for uri in shown]
            if len(uris) > MAX_FILES_LISTED:
                lines.append(f"| {_cell(sym)} | … {len(uris) - MAX_FILES_LISTED} more |")
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"


def s3_console_url(uri: str, region: str | None = None, endpoint_url: str | None = None,
                   folder: bool = False) -> str:
    """Where a person looks at ``s3://bucket/key``: the AWS S3 console, or for a custom endpoint
    (MinIO and the like) the object's path-style URL on that endpoint."""
    bucket, _, key = uri[len("s3://"):].partition("/")
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{quote(bucket)}/{quote(key)}"
    kind = "buckets" if folder else "object"
    region_part = f"region={quote(region)}&" if region else ""
    return f"https://s3.console.aws.amazon.com/s3/{kind}/{quote(bucket)}?{region_part}prefix={quote(key)}"


def _s3_location(repo: Any) -> tuple[str | None, str | None] | None:
    """``(region, endpoint_url)`` of an S3-backed repository; None for local folders."""
    credentials = getattr(repo, "credentials", None)
    if credentials is None:
        return None
    params = getattr(credentials, "aws_client_parameters", None)
    endpoint = getattr(params, "endpoint_url", None) if params is not None else None
    return getattr(credentials, "region_name", None), endpoint


def output_links(report: StepReport, repo: Any) -> list[tuple[str, str, str]]:
    """``(key, url, text)`` of the link artifacts for a report's S3 outputs: one per output,
    to the object, or to the folder when the output matched several files."""
    where = _s3_location(repo)
    if where is None:
        return []
    region, endpoint = where
    links = []
    for sym, uris in report.outputs.items():
        uris = [u for u in uris if u.startswith("s3://")]
        if not uris:
            continue
        key = artifact_key(report.workflow, report.step, sym)
        if len(uris) == 1:
            links.append((key, s3_console_url(uris[0], region, endpoint), uris[0]))
        else:
            folder = uris[0].rsplit("/", 1)[0] + "/"
            links.append((key, s3_console_url(folder, region, endpoint, folder=True),
                          f"{len(uris)} files in {folder}"))
    return links


_reports_off: ContextVar[bool] = ContextVar("labflows_step_reports_off", default=False)


@contextmanager
def step_reports_off() -> Iterator[None]:
    """No step artifacts inside (a batch of scatter branches would publish one per branch)."""
    token = _reports_off.set(True)
    try:
        yield
    finally:
        _reports_off.reset(token)


def publish_step_report(report: StepReport, repo: Any = None) -> bool:
    """Create the step's artifacts in the current Prefect run; False when none were created."""
    if report.finished is None:
        report.finished = time.monotonic()
    if _reports_off.get() or not in_a_run():
        return False
    try:
        create_markdown_artifact(
            markdown=render_markdown(report), key=report.key,
            description=f"{report.workflow} step {report.step}: {report.status}")
        for key, url, text in output_links(report, repo):
            create_link_artifact(link=url, link_text=text, key=key,
                                 description=f"output of {report.workflow} step {report.step}")
    except Exception as exc:  # noqa: BLE001 - the UI report must never fail the step
        run_logger().warning("could not create the artifacts of step %s: %s", report.step, exc)
        return False
    return True
