"""Telling people and automations that the launcher rejected job files.

A rejected file is moved aside for good (see :func:`tasks.launcher.router.reject_job_file`), so the
launcher run must say so where people look: one Prefect event per file (``labflows.job.rejected``,
which an automation can act on), a markdown artifact listing them, and a one-line state message.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event

from tasks.launcher.router import LaunchOutcome

REJECTED_EVENT = "labflows.job.rejected"
ARTIFACT_KEY = "launcher-rejected"


def emit_rejected_event(outcome: LaunchOutcome) -> None:
    """One ``labflows.job.rejected`` event: the job file as resource, file, reason and new place in the payload."""
    emit_event(
        event=REJECTED_EVENT,
        resource={"prefect.resource.id": f"labflows.job-file.{outcome.job_file}",
                  "prefect.resource.name": outcome.job_file},
        payload={"file": outcome.job_file, "reason": outcome.message, "moved_to": outcome.moved_to,
                 "note": outcome.moved_to + ".error.txt" if outcome.moved_to else ""},
    )


def _cell(text: str) -> str:
    """Text that stays inside one markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def rejected_markdown(prefix: str, rejected: list[LaunchOutcome]) -> str:
    """A markdown table of rejected job files: file, reason, where it was moved."""
    lines = [f"# Job files rejected in {prefix}", "",
             "They were moved aside and will not be retried; fix the file (or add the workflow) and drop it again.",
             "", "| job file | reason | moved to |", "| --- | --- | --- |"]
    lines += [f"| {_cell(o.job_file)} | {_cell(o.message)} | {_cell(o.moved_to)} |" for o in rejected]
    return "\n".join(lines) + "\n"


def rejected_message(rejected: list[LaunchOutcome]) -> str:
    """The launcher run's state message: how many files were rejected and the first reason."""
    first = " ".join(rejected[0].message.split())
    more = f" (and {len(rejected) - 1} more, see the {ARTIFACT_KEY} artifact)" if len(rejected) > 1 else ""
    return f"{len(rejected)} job file(s) rejected and moved to _launcher_/rejected/: {first}{more}"


def announce_rejections(prefix: str, outcomes: list[LaunchOutcome]) -> str | None:
    """Events and an artifact for the rejected outcomes; the state message, or ``None`` without any."""
    rejected = [o for o in outcomes if o.status == "rejected"]
    if not rejected:
        return None
    for outcome in rejected:
        emit_rejected_event(outcome)
    create_markdown_artifact(markdown=rejected_markdown(prefix, rejected), key=ARTIFACT_KEY,
                             description=f"{len(rejected)} job file(s) rejected")
    return rejected_message(rejected)
