"""The flow-level summary artifact: one markdown table on a run's Artifacts tab saying what happened.

Both wings publish one at the end of a run, whether it completed or failed: a workflow run one row
per step (state, duration, outputs, branch counts), an app run one row per chunk. Publishing never
fails the run: outside a Prefect run it does nothing, and API errors only log a warning.
"""

from __future__ import annotations

from typing import Any, Sequence

from tasks.runtime.logs import in_a_run, run_logger

MAX_CELL_CHARS = 300  # a long error or output list is cut in the table (the run log has it whole)


def cell(value: Any) -> str:
    """``value`` as text that stays inside one markdown table cell (cut after ``MAX_CELL_CHARS``)."""
    text = " ".join(str(value).split()).replace("\\", "\\\\").replace("|", "\\|")
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def summary_markdown(title: str, facts: Sequence[tuple[str, Any]], headers: Sequence[str],
                     rows: Sequence[Sequence[Any]]) -> str:
    """A heading, a two-column table of facts, then the table of ``rows`` under ``headers``."""
    lines = [f"# {cell(title)}", "", "| | |", "| --- | --- |"]
    lines += [f"| {cell(name)} | {cell(value)} |" for name, value in facts]
    lines += ["", "| " + " | ".join(cell(h) for h in headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def publish_summary(markdown: str, key: str, description: str) -> bool:
    """Create the summary artifact in the current flow run; False when none was created.

    Works from the worker thread of an async flow as well (Prefect's ``_sync`` switch).
    """
    if not in_a_run():
        return False
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(markdown=markdown, key=key, description=description, _sync=True)
    except Exception as exc:  # noqa: BLE001 - the summary must never fail the run
        run_logger().warning("could not create the summary artifact %s: %s", key, exc)
        return False
    return True


def seconds(value: float | None) -> str:
    """``12.3 s``, or ``-`` when unknown."""
    return "-" if value is None else f"{value:.1f} s"
