"""Prefect artifacts of an app run: a table of the registered B-Fabric entities, a report of a failure.

The app flows are async and do their work in a worker thread, where Prefect's artifact functions
would hand back coroutines: they are called with ``_sync=True`` (Prefect's own switch for this).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.runtime.summary import publish_summary, seconds, summary_markdown

__all__ = ["app_summary_markdown", "artifact_key", "failure_markdown", "publish_app_summary", "publish_failure",
           "publish_registered", "registered_rows"]


def artifact_key(workunit_id: int | None, what: str) -> str:
    """``workunit-12-registered`` (keys are lowercase letters, digits and dashes)."""
    return f"workunit-{workunit_id}-{what}" if workunit_id is not None else f"app-run-{what}"


def registered_rows(chunk_results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per registered entity: chunk, entity type, id, name, action."""
    return [{"chunk": result["chunk"], **record}
            for result in chunk_results for record in result.get("registered", [])]


def publish_registered(workunit_id: int | None, rows: list[dict[str, Any]]) -> None:
    """A table artifact of the entities registered in B-Fabric (nothing when there are none)."""
    if not rows:
        return
    create_table_artifact(table=rows, key=artifact_key(workunit_id, "registered"),
                          description=f"B-Fabric entities registered for workunit {workunit_id}", _sync=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def failure_markdown(workunit_id: int | None, error: BaseException) -> str:
    """The failure report: the error, and one line per failed chunk when chunks failed."""
    lines = [f"# Workunit {workunit_id} failed" if workunit_id is not None else "# App run failed", "",
             f"**Error:** {_cell(str(error))}", ""]
    failures = getattr(error, "failures", None)
    if failures:
        lines += ["| chunk | error |", "| --- | --- |"]
        lines += [f"| {_cell(chunk)} | {_cell(message)} |" for chunk, message in failures]
    return "\n".join(lines) + "\n"


def publish_failure(workunit_id: int | None, error: BaseException) -> None:
    """A markdown artifact describing why the run failed."""
    create_markdown_artifact(markdown=failure_markdown(workunit_id, error), key=artifact_key(workunit_id, "failure"),
                             description=f"Why the app run of workunit {workunit_id} failed", _sync=True)


SUMMARY_HEADERS = ("chunk", "state", "duration", "steps", "registered", "error")


def app_summary_markdown(workunit_id: int | None, state: str, duration_s: float | None,
                         chunk_results: Iterable[dict[str, Any]] = (),
                         failures: Iterable[tuple[str, str]] = ()) -> str:
    """The run's summary: one row per chunk (finished ones from ``chunk_results``, failed ones from
    ``failures``), with the registered entities by type."""
    failures = list(failures)
    rows = []
    for result in chunk_results:
        kinds = Counter(str(record.get("entity_type", "entity")) for record in result.get("registered", []))
        rows.append((result["chunk"], "done", seconds(result.get("duration_s")), ", ".join(result.get("steps", [])),
                     ", ".join(f"{n} {kind}" for kind, n in kinds.items()) or "-", ""))
    rows += [(chunk, "failed", "-", "-", "-", message) for chunk, message in failures]
    title = f"Workunit {workunit_id}: {state}" if workunit_id is not None else f"App run: {state}"
    facts = [("workunit", "-" if workunit_id is None else workunit_id), ("state", state),
             ("duration", seconds(duration_s)), ("chunks", f"{len(rows)} ({len(rows) - len(failures)} done)")]
    return summary_markdown(title, facts, SUMMARY_HEADERS, rows)


def publish_app_summary(workunit_id: int | None, state: str, duration_s: float | None,
                        chunk_results: Iterable[dict[str, Any]] = (),
                        error: BaseException | None = None) -> bool:
    """The ``workunit-<id>-summary`` artifact of the current flow run."""
    failures = list(getattr(error, "failures", None) or [])
    chunk_results = list(chunk_results) or list(getattr(error, "results", None) or [])
    return publish_summary(app_summary_markdown(workunit_id, state, duration_s, chunk_results, failures),
                           key=artifact_key(workunit_id, "summary"), description=f"workunit {workunit_id}: {state}")
