"""The progress views, fed events the way the engine reports them (no run needed)."""

from __future__ import annotations

import io

from flows.cli.progress_view import LiveProgress, PlainProgress
from tasks.runtime.progress import ProgressEvent, listening, report


def test_plain_lines_come_every_tenth_of_a_scatter_not_every_branch():
    out = io.StringIO()
    view = PlainProgress(out)
    with listening(view):
        report(ProgressEvent("run", "wf:job", total=1, detail="http://ui/flow-run/1"))
        report(ProgressEvent("step", "each", state="running"))
        report(ProgressEvent("branches", "each", total=1000))
        for i in range(1000):
            report(ProgressEvent("branch", "each", state="failed" if i == 7 else "done", index=i))
        report(ProgressEvent("branches", "each", done=999, failed=1, total=1000))  # batches agree
        report(ProgressEvent("step", "each", state="failed", duration_s=2.0))
    report(ProgressEvent("branch", "each", state="done", index=5))  # after the block: not heard
    lines = out.getvalue().splitlines()
    assert lines[0] == "run wf:job: 1 step — http://ui/flow-run/1"
    assert lines[1] == "each: started"
    assert lines[-1] == "each: failed in 2.0s, 1000/1000 branches (1 failed)"
    counts = [line for line in lines if line.startswith("each: ") and "/1000 branches" in line]
    assert 10 <= len(counts) <= 13, lines
    assert any(line.startswith("each: 500/1000 branches (1 failed)") for line in counts)


def test_app_phases_count_chunks_and_end_when_every_chunk_settled():
    out = io.StringIO()
    view = PlainProgress(out)
    with listening(view):
        for phase in ("inputs", "process"):
            report(ProgressEvent("branches", phase, total=2, detail="chunks"))
        for chunk in ("c1", "c2"):
            report(ProgressEvent("branch", "inputs", state="done", detail=chunk))
        report(ProgressEvent("branch", "process", state="failed", detail="c1"))
    text = out.getvalue()
    assert "inputs: done, 2/2 chunks (0 failed)" in text
    assert "process: 1/2 chunks (1 failed)" in text
    assert view.model.rows["inputs"].state == "done" and view.model.rows["process"].state == "running"


def test_a_phase_after_a_failed_chunk_still_ends_counting_it_not_run():
    out = io.StringIO()
    with listening(PlainProgress(out)):
        report(ProgressEvent("branches", "collect", total=2, detail="chunks"))
        report(ProgressEvent("branch", "collect", state="done", detail="c2"))
        report(ProgressEvent("branch", "collect", state="not run", detail="c1"))  # c1 failed in process
    assert out.getvalue().splitlines()[-1] == "collect: done, 2/2 chunks (0 failed, 1 not run)"


def test_the_live_table_shows_state_and_counts():
    from rich.console import Console

    view = LiveProgress(io.StringIO())
    view(ProgressEvent("run", "wf:job", total=2))
    view(ProgressEvent("step", "make", state="running"))
    view(ProgressEvent("step", "make", state="done", duration_s=0.5))
    view(ProgressEvent("step", "each", state="running"))
    view(ProgressEvent("branches", "each", done=40, failed=2, total=300))
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(view)
    text = console.export_text()
    assert "wf:job" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.split()[:1] in (["make"], ["each"])}
    assert rows["make"].split()[1:3] == ["done", "0.5s"]
    assert rows["each"].split()[1] == "running" and "42/300 branches (2 failed)" in rows["each"]
    assert "ETA" in rows["each"]
