"""A workflow run's summary artifact (key ``<workflow>-summary``): one row per step.

Columns: step, state, duration, outputs (how many, and the first few URIs) and notes (a scatter's
branch counts, a chooser's choice, a failed step's error); above the table the workflow, the
repository, the run's end state and the step counts. Published when the run completes and when it
fails (:mod:`tasks.runtime.summary`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tasks.bclaw.labels import artifact_key
from tasks.runtime.summary import publish_summary, seconds, summary_markdown

OUTPUTS_SHOWN = 3  # URIs named per step; the step's own artifact lists them all

HEADERS = ("step", "state", "duration", "outputs", "notes")


def _outputs(uris: list[str]) -> str:
    if not uris:
        return "-"
    shown = ", ".join(uris[:OUTPUTS_SHOWN])
    return f"{len(uris)}: {shown}" + (", …" if len(uris) > OUTPUTS_SHOWN else "")


def workflow_summary_markdown(summary: dict[str, Any], state: str, duration_s: float | None) -> str:
    """The summary of a run: ``summary`` as ``run_loaded_workflow`` returns it (steps as dicts)."""
    steps = summary.get("steps", [])
    counts = Counter(s["status"] for s in steps)
    facts = [("workflow", summary.get("workflow", "-")), ("repository", summary.get("repository", "-")),
             ("state", state), ("duration", seconds(duration_s)),
             ("steps", ", ".join(f"{n} {status}" for status, n in counts.items()) or "none")]
    rows = [(s["name"], s["status"], seconds(s["duration_s"]) if s["status"] != "not run" else "-",
             _outputs(s.get("outputs") or []), s.get("message") or "") for s in steps]
    return summary_markdown(f"Workflow {summary.get('workflow', '')}: {state}", facts, HEADERS, rows)


def publish_workflow_summary(summary: dict[str, Any], state: str, duration_s: float | None) -> bool:
    """The ``<workflow>-summary`` artifact of the current flow run."""
    workflow = summary.get("workflow", "workflow")
    return publish_summary(workflow_summary_markdown(summary, state, duration_s),
                           key=artifact_key(workflow, "summary"), description=f"{workflow}: {state}")
